/*
 * noma_runtime.h - the C run-time support of compiled NOMA programs.
 *
 * This is the ONE implementation of printing, diagnostics and the gradient
 * tape.  The in-process JIT loads it as a shared library (so MCJIT resolves
 * the `noma_*` symbols by name) and standalone executables link the same
 * source file, so both modes print byte-for-byte identical output.
 *
 * Strings arrive from compiled code as an expanded MLIR `memref<?xi8>`
 * descriptor: (allocated ptr, aligned ptr, offset, size, stride).  The text is
 * the `size` bytes starting at `aligned + offset` (element i at
 * `aligned + offset + i * stride`); it is NOT NUL-terminated.
 *
 * Floats are printed exactly like Python's repr(float): the shortest digit
 * string that reads back to the same double, fixed notation for decimal
 * exponents in [-4, 16), scientific otherwise ("1e+16", "1.5e-07"), a
 * trailing ".0" on integral fixed values, and "inf", "-inf", "nan".
 */
#ifndef NOMA_RUNTIME_H
#define NOMA_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest possible repr(float) length plus the terminating NUL, with room to
 * spare ("-1.2345678901234567e-308" is 24 characters). */
#define NOMA_F64_REPR_BUFSIZE 32

/* ---- printing ---------------------------------------------------------- */

/* stdout: repr(x) then "\n". */
void noma_print_f64(double x);

/* stdout: the text then "\n". */
void noma_print_str(char *alloc, char *aligned, int64_t offset, int64_t size,
                    int64_t stride);

/* Writes repr(x) NUL-terminated into buf (at most size bytes including the
 * NUL, like snprintf) and returns the full length of repr(x). */
int noma_format_f64(double x, char *buf, int64_t size);

/* fflush(stdout) and fflush(stderr). */
void noma_rt_flush(void);

/* stdout: an f64 tensor as nested brackets, then "\n" ("[[1.0, 2.0], [3.0,
 * 4.0]]"; rank 0 is just the number; a dimension of size 0 prints "[]" at
 * its level, so shape [2, 0] is "[[], []]").  Elements print as
 * noma_print_f64 does, separated by ", ".
 *
 * The data is an expanded memref<?xf64> of the tensor flattened in row-major
 * order: element k is aligned[offset + k * stride], k < size.  The shape is
 * an expanded memref<?xi64> of `rank` dimensions: dimension i is
 * dims_aligned[dims_offset + i * dims_stride].  A negative rank or dimension,
 * or size != the product of the dimensions, is a runtime error
 * ("runtime error: internal: tensor of N elements printed with shape
 * [d0, d1]") raised before anything is printed. */
void noma_print_tensor(double *alloc, double *aligned, int64_t offset,
                       int64_t size, int64_t stride, int64_t *dims_alloc,
                       int64_t *dims_aligned, int64_t dims_offset,
                       int64_t rank, int64_t dims_stride);

/* ---- diagnostics ------------------------------------------------------- */

/* stderr: the text with every "{0}" replaced by repr(v0), then "\n". */
void noma_warning(char *alloc, char *aligned, int64_t offset, int64_t size,
                  int64_t stride, double v0);

/* stderr: the text with every "{0}" / "{1}" replaced by repr(v0) / repr(v1),
 * then "\n"; stdout is flushed, then control returns to the innermost active
 * noma_rt_invoke (which returns 1).  With no active invoke: exit(1).
 * Never returns. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void noma_runtime_error(char *alloc, char *aligned, int64_t offset,
                        int64_t size, int64_t stride, double v0, double v1);

/* ---- buffers ----------------------------------------------------------- */

/* free(p): releases a buffer that compiled code allocated with malloc (the
 * ALLOCATED pointer of its descriptor, not the aligned one), so the Python
 * side can drop tensors returned by compiled code.  NULL is ignored. */
void noma_free_buffer(void *p);

/* ---- entry trampoline -------------------------------------------------- */

/* Calls packed(args) under a setjmp guard.  Returns 0 on normal completion,
 * 1 after a runtime error.  Flushes stdout before returning.  Nests: an
 * error returns to the innermost active call (per thread). */
int noma_rt_invoke(void (*packed)(void **), void **args);

/* ---- tape: a growable LIFO stack of doubles ---------------------------- */

/* Returns an opaque non-zero handle. */
int64_t noma_tape_new(void);
void noma_tape_push(int64_t tape, double x);
/* Popping an empty tape is a runtime error
 * ("runtime error: internal: tape underflow"). */
double noma_tape_pop(int64_t tape);
/* Releases the tape; a zero handle is ignored. */
void noma_tape_free(int64_t tape);

#ifdef __cplusplus
}
#endif

#endif /* NOMA_RUNTIME_H */
