/*
 * noma_io.h - run-time file I/O of compiled NOMA programs: CSV and
 * safetensors, read and written.
 *
 * Included by noma_runtime.h (the JIT's shared library and standalone
 * executables compile the same noma_io.c, so both modes read and write files
 * identically).  Needs POSIX (mkstemp, fsync, rename, fchmod, uselocale).
 *
 * Argument conventions (the MLIR calling convention, as in noma_runtime.h):
 *
 *   STR   a memref<?xi8> string, expanded into five parameters
 *         (char *alloc, char *aligned, int64_t offset, int64_t size,
 *         int64_t stride): byte i is aligned[offset + i * stride], i < size.
 *         NOT NUL-terminated.  A path is used byte for byte (relative paths
 *         are relative to the current directory); a path containing a NUL
 *         byte cannot name a file and is reported as unreadable/unwritable.
 *   F64V  a memref<?xf64> (double *alloc, double *aligned, int64_t offset,
 *         int64_t size, int64_t stride), a tensor flattened in row-major
 *         order.
 *   I64V  a memref<?xi64> (int64_t *alloc, int64_t *aligned, ...), a shape:
 *         its size is the rank, its elements the dimensions.
 *
 * Errors: every function that can fail because of the outside world takes
 * `where` (STR), the location prefix of the NOMA statement
 * ("prog.noma:3:5: "), and reports
 *
 *     <where>runtime error: <message>
 *
 * on stderr (after flushing stdout), then aborts the run: control returns to
 * the innermost active noma_rt_invoke (which returns 1) or, outside one (an
 * executable), the process exits with status 1.  The messages are quoted
 * below after "runtime error: ".  Errors that only a compiler bug can cause
 * (bad handle, a shape that does not match its data) are reported as
 * "runtime error: internal: ..." without a location.  Running out of memory
 * is "runtime error: out of memory".  Nothing ever prints partial data or
 * leaves a half-written file.
 *
 * Loading is two-phase, so that compiled code can allocate the result buffer
 * at the loaded shape: a load_* call reads and checks the whole file and
 * returns a handle (an int64 > 0) to the tensor held by the runtime;
 * noma_loaded_dim gives its shape, noma_loaded_take copies it out and
 * releases the handle.  Handles index a growable table; a freed slot may be
 * reused by a later load.
 *
 * Not thread-safe (one NOMA program runs at a time); the handle table, the
 * --arg table and the error message buffer are process-wide.
 */
#ifndef NOMA_IO_H
#define NOMA_IO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NOMA_IO_NORETURN __attribute__((noreturn))
#else
#define NOMA_IO_NORETURN
#endif

/* ---- reading ------------------------------------------------------------ */

/*
 * Reads the numeric CSV file `path` and returns a handle to it as a rank-2
 * tensor [rows, cols] (a one-column file is [n, 1], a one-row file [1, n]).
 *
 * Format: one row per line ("\n" or "\r\n"), cells separated by ',', spaces
 * and tabs around a cell ignored, '#' starts a comment that runs to the end
 * of the line; blank and comment-only lines are skipped; a UTF-8 byte-order
 * mark at the start of the file is skipped.  Each cell is read by strtod in
 * the "C" locale (whatever the process locale) and must be consumed
 * entirely: "1.5", "-2e-3", "0x1p4", "nan", "inf", "-Infinity" are numbers;
 * out-of-range values become +-inf or a (sub)normal/zero, as strtod gives
 * them.  Line numbers in messages count every physical line from 1.
 *
 * Errors:
 *   cannot read 'x.csv': No such file or directory     (any strerror)
 *   x.csv:3: 'abc' is not a number       (a long cell is cut at 40 bytes
 *                                          with "..."; control bytes as \xNN)
 *   x.csv:3: '' is not a number          (an empty cell: "1,,2", "1,2,")
 *   x.csv:4: 2 values, where the rows before have 3
 *   x.csv: no data                       (no row at all)
 */
int64_t noma_load_csv(char *where_alloc, char *where, int64_t where_offset,
                      int64_t where_size, int64_t where_stride,
                      char *path_alloc, char *path, int64_t path_offset,
                      int64_t path_size, int64_t path_stride);

/*
 * Reads tensor `name` of the safetensors file `path` and returns a handle to
 * it, or the file's only tensor when it has none of that name.  An empty
 * name (size 0) means the only tensor in the file.  `rank` is
 * the rank the program expects (>= 0).
 *
 * The file: an 8-byte little-endian header length N, N bytes of JSON
 * header {"W": {"dtype": "F64", "shape": [2, 3], "data_offsets": [b, e]},
 * ..., "__metadata__": {"k": "v"}} (padded with white space), then the data;
 * tensor W's bytes are [8 + N + b, 8 + N + e) of the file.  dtypes F64 and
 * F32 (widened exactly to double) are read, little-endian.  Unknown members
 * of a tensor entry are ignored, like the safetensors package does.
 *
 * Errors:
 *   cannot read 'w.safetensors': <strerror>
 *   w.safetensors holds 3 tensors (W1, W2, b); name the one to load
 *   w.safetensors holds no tensors
 *   w.safetensors has no tensor 'W3' (it has: W1, W2)
 *   w.safetensors: tensor 'W' has dtype I32; NOMA reads F64 and F32
 *   w.safetensors: tensor 'b' has shape [16], where the program expects a
 *       2-D tensor                   ("a scalar" for rank 0, "a 1-D tensor")
 *   w.safetensors: malformed header: <why>
 * Names are listed in byte order (at most 20, then "and N more").  The
 * header is malformed when: the file is shorter than 8 bytes; N goes past
 * the end of the file or exceeds 100000000 (the safetensors limit); the
 * JSON is invalid (the message gives the byte of the header where); it is
 * not an object; an entry is not an object with a string "dtype", a
 * "shape" list of non-negative integers and a "data_offsets" pair of
 * integers; "__metadata__" is not an object of strings; a name is repeated;
 * some tensor's data_offsets run backwards or past the end of the file; or
 * the loaded tensor's data_offsets do not span exactly
 * (elements * dtype size) bytes.
 */
int64_t noma_load_safetensors(char *where_alloc, char *where,
                              int64_t where_offset, int64_t where_size,
                              int64_t where_stride, char *path_alloc,
                              char *path, int64_t path_offset,
                              int64_t path_size, int64_t path_stride,
                              char *name_alloc, char *name,
                              int64_t name_offset, int64_t name_size,
                              int64_t name_stride, int64_t rank);

/*
 * Checkpoints (save_checkpoint / load_checkpoint, docs/language.md 13.5): a
 * safetensors file with the tensor NOMA_CHECKPOINT_MARKER = [version] and,
 * for each parameter W, the tensors "W" and "W.<slot>" of its optimizer
 * state.
 *
 * noma_check_checkpoint stops the program unless `path` is such a file of
 * this version:
 *   c.safetensors is not a NOMA checkpoint: c.safetensors has no tensor
 *       '__noma_checkpoint__' (it has: W)
 *   c.safetensors is a NOMA checkpoint of format version 2; this NOMA reads
 *       version 1
 * noma_load_checkpoint_entry is noma_load_safetensors without its fallback
 * to the file's only tensor: a missing name is an error.
 */
#define NOMA_CHECKPOINT_MARKER "__noma_checkpoint__"
#define NOMA_CHECKPOINT_VERSION 1

void noma_check_checkpoint(char *where_alloc, char *where,
                           int64_t where_offset, int64_t where_size,
                           int64_t where_stride, char *path_alloc,
                           char *path, int64_t path_offset, int64_t path_size,
                           int64_t path_stride);
int64_t noma_load_checkpoint_entry(char *where_alloc, char *where,
                                   int64_t where_offset, int64_t where_size,
                                   int64_t where_stride, char *path_alloc,
                                   char *path, int64_t path_offset,
                                   int64_t path_size, int64_t path_stride,
                                   char *name_alloc, char *name,
                                   int64_t name_offset, int64_t name_size,
                                   int64_t name_stride, int64_t rank);

/*
 * Loads the file given for main's parameter `name` (see noma_set_arg) as a
 * tensor of rank `rank`, or the tensor given by noma_set_arg_array; returns
 * a handle.
 *   "w.safetensors"     the only tensor of that file;
 *   "w.safetensors:W1"  tensor W1 (split at the LAST ':', and only when what
 *                       precedes it ends in ".safetensors");
 *   anything else       a CSV file, loaded as by noma_load_csv.
 * Errors: those of the loaders, and
 *   no file for main's parameter 'X' (pass --arg X=FILE)
 *   x.csv holds a 2-D table, where the program expects a 1-D tensor
 *       (a CSV is 2-D: rank must be 2)
 */
int64_t noma_load_arg(char *where_alloc, char *where, int64_t where_offset,
                      int64_t where_size, int64_t where_stride,
                      char *name_alloc, char *name, int64_t name_offset,
                      int64_t name_size, int64_t name_stride, int64_t rank);

/* Dimension `axis` (0 <= axis < rank) of a loaded tensor; the handle stays
 * valid.  A bad handle or axis is an internal error. */
int64_t noma_loaded_dim(int64_t handle, int64_t axis);

/* Copies the loaded tensor's elements, row-major, into dest (F64V; element k
 * goes to dest_aligned[dest_offset + k * dest_stride]) and releases the
 * handle.  dest_size must equal the element count (internal error
 * otherwise, after releasing the handle). */
void noma_loaded_take(int64_t handle, double *dest_alloc, double *dest_aligned,
                      int64_t dest_offset, int64_t dest_size,
                      int64_t dest_stride);

/* ---- writing ------------------------------------------------------------ */

/*
 * Every write is atomic: the bytes go to a new temporary file
 * ".<name>.XXXXXX" in the target's directory, which is flushed, fsync'ed,
 * given the permission bits of the target it replaces (or 0666 & ~umask for
 * a new file; only the 0777 bits, never set-id bits; the owner is not
 * carried over) and renamed over the target.  On any failure (the temporary
 * file cannot be created, a write is short: ENOSPC, EFBIG, EIO..., fsync,
 * close or rename fails) the temporary file is removed, the previous target
 * is left untouched, and the error is
 *   cannot write 'out.csv': <strerror>
 */

/*
 * Writes a tensor (data: F64V, flattened row-major; dims: I64V, its shape)
 * as CSV: rank 0, one line with the value; rank 1, one value per line (like
 * numpy.savetxt); rank 2, one line per row, values separated by ",".  Values
 * are printed as noma_format_f64 prints them (shortest round-trip: reading
 * the file back with noma_load_csv gives the same doubles, bit for bit,
 * except that every NaN reads back as the default NaN).  Lines end in "\n".
 * Errors: the write errors above, and
 *   save_csv writes 1-D and 2-D tensors, not a [2, 3, 4] one
 * (before anything is written).  dims with a negative dimension or whose
 * product is not data_size is an internal error.
 */
void noma_save_csv(char *where_alloc, char *where, int64_t where_offset,
                   int64_t where_size, int64_t where_stride,
                   char *path_alloc, char *path, int64_t path_offset,
                   int64_t path_size, int64_t path_stride, double *data_alloc,
                   double *data, int64_t data_offset, int64_t data_size,
                   int64_t data_stride, int64_t *dims_alloc, int64_t *dims,
                   int64_t dims_offset, int64_t dims_size,
                   int64_t dims_stride);

/*
 * A safetensors file is written in three steps: _new returns a writer
 * handle; _add copies one named tensor into it (the caller's buffers may be
 * freed afterwards); _save writes the file and releases the writer (also
 * when it fails).
 *
 * The file is what safetensors.numpy.save_file writes: every tensor F64
 * little-endian; the compact JSON header lists the tensors sorted by name
 * (byte order) as {"W":{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]}},
 * the data is laid out contiguously in that order, and the header is padded
 * with spaces to a multiple of 8 bytes.  No "__metadata__" is written.
 * Errors of _save: the write errors above, and (before anything is written)
 *   save_safetensors: two tensors are named 'W'
 *   save_safetensors: '__metadata__' cannot name a tensor
 * A bad handle, or dims that do not match data_size in _add, is an internal
 * error.
 */
int64_t noma_safetensors_writer_new(void);
void noma_safetensors_writer_add(int64_t writer, char *name_alloc, char *name,
                                 int64_t name_offset, int64_t name_size,
                                 int64_t name_stride, double *data_alloc,
                                 double *data, int64_t data_offset,
                                 int64_t data_size, int64_t data_stride,
                                 int64_t *dims_alloc, int64_t *dims,
                                 int64_t dims_offset, int64_t dims_size,
                                 int64_t dims_stride);
void noma_safetensors_writer_save(int64_t writer, char *where_alloc,
                                  char *where, int64_t where_offset,
                                  int64_t where_size, int64_t where_stride,
                                  char *path_alloc, char *path,
                                  int64_t path_offset, int64_t path_size,
                                  int64_t path_stride);

/* ---- main's parameters (--arg NAME=FILE) --------------------------------- */

/* Records the file for main's parameter `name` (both NUL-terminated, copied;
 * a later call for the same name replaces the path; a NULL path forgets the
 * name).  Out of memory is a runtime error. */
void noma_set_arg(const char *name, const char *path);

/* Records an in-memory tensor for main's parameter `name` (the Python
 * API's arrays): `rank` dimensions at `dims` (copied) and the elements,
 * row-major, at `data`, which is NOT copied: it must stay valid and
 * unchanged until noma_clear_args or another noma_set_arg* for that name.
 * Replaces a file or tensor recorded before for that name; noma_load_arg
 * then reads the tensor instead of a file, and a rank other than the
 * program's is the error
 *   the array given for main's parameter 'X' is a 1-D tensor, where the
 *       program expects a 2-D tensor
 * A NULL data or negative rank is an internal error; out of memory a
 * runtime error. */
void noma_set_arg_array(const char *name, const double *data, int64_t rank,
                        const int64_t *dims);

/* Forgets every recorded parameter file and tensor. */
void noma_clear_args(void);

/* How a missing parameter is said to be given, in the error
 *   no file for main's parameter 'X' (pass --arg X=FILE)
 * 0: the command line's `--arg X=FILE` (the default); 1: the Python API's
 * `args={'X': ...}` of Program.run. */
void noma_set_arg_syntax(int python);

/* ---- the learnt parameters, for the Python API -------------------------- */

/* A path no file can have (it begins with a NUL byte).  A safetensors
 * writer saved there is not written to a file: the runtime keeps it
 * (replacing the one kept before) for noma_exported_parameter.  The JIT's
 * main saves its learnt parameters there just before it returns
 * (noma/runtime/export_parameters.py); executables never do. */
#define NOMA_PARAMETERS_SINK "\0noma:parameters"

/* Tensor `index` (0, 1, ... in name order) of the writer kept last: its
 * NUL-terminated name, rank, dimensions and row-major elements; returns 1,
 * or 0 when there is no such tensor.  The pointers stay valid until
 * noma_exported_clear or the next writer is kept. */
int noma_exported_parameter(int64_t index, const char **name, int64_t *rank,
                            const int64_t **dims, const double **data);

/* Releases the kept writer. */
void noma_exported_clear(void);

/* ---- guarded calls, for the Python side --------------------------------- */

/*
 * Packed entry points (void f(void **args)) for noma_rt_invoke, so that
 * Python (ctypes) can call the functions above and get status 1 back from a
 * runtime error instead of losing the interpreter to exit(1).  args[i]
 * points to the i-th parameter's value, in the order of the parameter lists
 * above (a STR or F64V is five consecutive entries); for a function with a
 * result, the last entry points to where it is stored.
 */
void noma_io_packed_load_csv(void **args);          /* 10 + result */
void noma_io_packed_load_safetensors(void **args);  /* 16 + result */
void noma_io_packed_load_arg(void **args);          /* 11 + result */
void noma_io_packed_loaded_dim(void **args);        /* 2 + result */
void noma_io_packed_loaded_take(void **args);       /* 6 */
void noma_io_packed_save_csv(void **args);          /* 20 */
void noma_io_packed_writer_add(void **args);        /* 16 */
void noma_io_packed_writer_save(void **args);       /* 11 */

/* ---- internal ------------------------------------------------------------ */

/* Defined in noma_runtime.c: ends the run with the given complete message
 * ("prog.noma:3:5: runtime error: ..."): flushes stdout, writes the message
 * and "\n" to stderr, then longjmps to the innermost noma_rt_invoke (which
 * returns 1) or, outside one, exit(1).  Never returns. */
NOMA_IO_NORETURN void noma_rt_fail(const char *message);

#ifdef __cplusplus
}
#endif

#endif /* NOMA_IO_H */
