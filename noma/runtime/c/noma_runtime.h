/*
 * noma_runtime.h - the C run-time support of compiled NOMA programs.
 *
 * This is the ONE implementation of printing, diagnostics, the gradient
 * tape and the random-number generator.  The in-process JIT loads it as a
 * shared library (so MCJIT resolves the `noma_*` symbols by name) and
 * standalone executables link the same source file, so both modes print
 * byte-for-byte identical output and draw identical random numbers.
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
#include <stdio.h>

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

/* Flushes stdout; if any write to it failed since the last check (a full
 * disk, a closed descriptor, a broken pipe), prints
 *   runtime error: cannot write to standard output: <strerror>
 * on stderr, forgets the failure and returns 1; otherwise returns 0.  The
 * executable driver and `noma run` call it last and then exit with 1. */
int noma_rt_check_stdout(void);

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

/* The shortest decimal that reads back to x (finite, > 0), the nearest to
 * x among those (ties to even), as Python's repr chooses it: writes its
 * significant digits (at most 17, no trailing zero) to `digits`, the decimal
 * exponent of the first one to *exp10, and returns how many there are
 * (noma_shortest.c: Ryu's method, no libc call). */
int noma_rt_shortest_digits(double x, char *digits, int64_t *exp10);

/* ---- where the runtime prints (noma_output.c) -------------------------- */

/* The streams every function of the runtime prints to: what the program
 * prints goes to noma_rt_stdout(), warnings and run-time errors to
 * noma_rt_stderr().  They are stdout and stderr (the file descriptors, as
 * executables and `noma run` want) unless noma_rt_set_output redirected
 * them.  A failed write is remembered for noma_rt_check_stdout only when it
 * was a write to stdout itself. */
FILE *noma_rt_stdout(void);
FILE *noma_rt_stderr(void);

/* Receives `size` bytes written to stream 1 (the program's output) or 2
 * (its warnings and errors); returns 0, or -1 when they could not be
 * written (the write then fails as a write to a full disk would). */
typedef int (*noma_output_fn)(int stream, const char *data, int64_t size);

/* From now on the runtime prints through `write` (the Python API sends it
 * to Python's sys.stdout and sys.stderr): both streams become line-buffered
 * streams whose writes call it, so a write reaches it at every newline and
 * at every flush (the runtime flushes its output before writing a
 * diagnostic, and both streams before a run ends).  NULL flushes them and
 * goes back to stdout and stderr.  Returns 0, or -1 when the C library
 * cannot make such streams (glibc and musl use fopencookie, the BSDs and
 * macOS funopen); then nothing changed. */
int noma_rt_set_output(noma_output_fn write);

/* ---- progress of optimize loops (noma_progress.c) ----------------------- */

/* Around an optimize loop and after each of its steps (`objective` is the
 * value minimized): once the loop has run for a second, a line on
 * noma_rt_stderr() shows its iteration count, objective and iterations per
 * second, redrawn at most ten times a second and ended when the loop ends.  Loops
 * nested in calls from a loop's body are counted as part of it. */
void noma_progress_begin(void);
void noma_progress_step(double objective);
void noma_progress_end(void);

/* Whether loops show progress: 1 always, 0 never, -1 (the default) when
 * stderr is a terminal and not redirected by noma_rt_set_output.  Called
 * before each run: it also forgets a loop that a run-time error left. */
void noma_rt_set_progress(int mode);

/* Called before anything is printed: a progress line on the screen is
 * cleared (a terminal) or ended with a newline, and drawn again later. */
void noma_rt_progress_interrupt(void);

/* ---- diagnostics ------------------------------------------------------- */

/* In the texts below, "{{" stands for a literal "{": the compiler writes the
 * location prefix ("p{0}.noma:3:5: ") with its braces doubled, so that only
 * the message after it has placeholders. */

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

/* Like noma_runtime_error, with "{0}" and "{1}" replaced by two shapes, each
 * an expanded memref<?xi64> of dimensions, written as "[2, 16]" (a rank-0
 * shape as "[]").  Never returns. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void noma_shape_error(char *alloc, char *aligned, int64_t offset,
                      int64_t size, int64_t stride, int64_t *a_alloc,
                      int64_t *a_aligned, int64_t a_offset, int64_t a_size,
                      int64_t a_stride, int64_t *b_alloc, int64_t *b_aligned,
                      int64_t b_offset, int64_t b_size, int64_t b_stride);

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

/* ---- random numbers ---------------------------------------------------- */

/*
 * One process-wide, seeded pseudo-random generator.  JIT-compiled code and
 * standalone executables call these same functions, so a given seed yields
 * the same numbers in both modes (and from the Python side through ctypes).
 * Not thread-safe: one NOMA program runs at a time.
 *
 * The algorithm, precisely enough to reimplement it (all integer arithmetic
 * is on unsigned 64-bit words, i.e. modulo 2^64; rotl(x, k) is the left
 * rotation (x << k) | (x >> (64 - k)); ">>" is a logical shift):
 *
 * 1. Generator: xoshiro256** 1.0 (D. Blackman and S. Vigna, "Scrambled
 *    linear pseudorandom number generators", ACM TOMS 2021; reference code
 *    https://prng.di.unimi.it/xoshiro256starstar.c).  The state is four
 *    words s[0..3]; one step returns a 64-bit output and advances it:
 *
 *        result = rotl(s[1] * 5, 7) * 9
 *        t      = s[1] << 17
 *        s[2] ^= s[0];  s[3] ^= s[1];  s[1] ^= s[2];  s[0] ^= s[3]
 *        s[2] ^= t;     s[3] = rotl(s[3], 45)
 *        return result
 *
 *    (From s = {1, 2, 3, 4} the first outputs are 11520, 0, 1509978240,
 *    1215971899390074240, ...)
 *
 * 2. Seeding (the reference seeding the xoshiro authors recommend): the
 *    64-bit seed (an int64, taken as its two's-complement bit pattern) is
 *    the state x of splitmix64 (https://prng.di.unimi.it/splitmix64.c), and
 *    s[0], s[1], s[2], s[3] are its first four outputs, in that order:
 *
 *        x += 0x9E3779B97F4A7C15
 *        z  = x
 *        z  = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *        z  = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *        output z ^ (z >> 31)
 *
 *    (Seed 0 gives s = {0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4,
 *    0x06C45D188009454F, 0xF88BB8A8724C81EC}.)  The output function is a
 *    bijection, so four consecutive outputs are never all zero and every
 *    seed gives a valid state.  A program that never seeds gets
 *    NOMA_DEFAULT_SEED, applied lazily at the first draw.
 *
 * 3. Uniform double in [0, 1): the top 53 bits of one output, scaled:
 *    u = (double)(next() >> 11) * 2^-53 (exact; a multiple of 2^-53).
 *
 * 4. uniform_range(lo, hi) = lo + (hi - lo) * u, one draw, evaluated as
 *    written in double precision (a subtraction, a multiplication and an
 *    addition, each rounded; no fused multiply-add).  With lo < hi the
 *    result lies in [lo, hi] (hi itself only through rounding).
 *
 * 5. normal(mean, std) = mean + std * z (rounded as written, no FMA), where
 *    z is a standard normal from the Box-Muller transform on exactly TWO
 *    fresh uniforms per call (the second Box-Muller value is discarded, never
 *    cached, so the stream position is 2 draws per normal):
 *
 *        u1 = uniform();  u2 = uniform();          (in that order)
 *        z  = sqrt(-2.0 * log(1.0 - u1)) * cos(TWO_PI * u2)
 *
 *    with TWO_PI the double nearest 2*pi (6.283185307179586, Python's
 *    math.tau) and log, cos, sqrt the C library's (sqrt is correctly
 *    rounded; log and cos are the platform libm's, which Python's math.log
 *    and math.cos also call).  1.0 - u1 is exact and in (0, 1], so log
 *    never sees 0.  std is used as given (no check of its sign).
 */

/* The seed used when the program never calls noma_rng_seed ("NOMA"). */
#define NOMA_DEFAULT_SEED 0x4E4F4D41

/* Reseeds the process-wide generator (step 2 above). */
void noma_rng_seed(int64_t seed);

/* The next raw 64-bit xoshiro256** output, as its two's-complement int64
 * bit pattern (advances the generator by one step).  For tests. */
int64_t noma_rng_next_raw(void);

/* Uniform in [0, 1), one draw (step 3). */
double noma_rng_uniform(void);

/* lo + (hi - lo) * uniform(), one draw (step 4). */
double noma_rng_uniform_range(double lo, double hi);

/* mean + std * z, z standard normal by Box-Muller, two draws (step 5). */
double noma_rng_normal(double mean, double std);

/* ---- tape: a growable LIFO stack of doubles (scalars and tensors) ------ */

/* Returns an opaque non-zero handle. */
int64_t noma_tape_new(void);
void noma_tape_push(int64_t tape, double x);
/* Popping an empty tape is a runtime error
 * ("runtime error: internal: tape underflow"). */
double noma_tape_pop(int64_t tape);
/* Pushes the `size` elements of a tensor seen as a flat memref<?xf64>
 * (they are copied: the tape keeps them whatever happens to the buffer). */
void noma_tape_push_array(int64_t tape, double *alloc, double *aligned,
                          int64_t offset, int64_t size, int64_t stride);
/* Pops `size` elements pushed by noma_tape_push_array into a flat
 * memref<?xf64>, in the order they were pushed. Popping more than the tape
 * holds is a runtime error ("runtime error: internal: tape underflow"). */
void noma_tape_pop_array(int64_t tape, double *alloc, double *aligned,
                         int64_t offset, int64_t size, int64_t stride);
/* Releases the tape; a zero handle is ignored. */
void noma_tape_free(int64_t tape);

/* ---- allocation checks (noma_memory.c) --------------------------------- */

/* The largest buffer compiled code allocates: 2^48 bytes (256 TiB, 2^45
 * doubles), and no more than the machine's physical memory: NOMA writes
 * every element of a buffer when it allocates it.  Within it the byte count
 * of a buffer never overflows 64 bits. */
#define NOMA_MAX_BUFFER_BYTES ((int64_t)1 << 48)

/* Checks the f64 dimensions of a buffer that compiled code is about to
 * allocate (an expanded memref<?xf64> of `rank` values): each at least 1
 * (NaN is not) and finite, and the buffer's 8-byte elements within
 * NOMA_MAX_BUFFER_BYTES and physical memory.  Otherwise a runtime error
 * that begins with `where` (an expanded memref<?xi8> such as
 * "prog.noma:3:5: ", written as it is) and names the requested shape:
 *   "prog.noma:3:5: runtime error: a dimension must be at least 1, got 0.5"
 *   "prog.noma:3:5: runtime error: cannot allocate a [inf] buffer: a
 *    dimension must be finite"
 *   "prog.noma:3:5: runtime error: cannot allocate a [100000000000, 10]
 *    buffer: it needs 8000000000000 bytes, more than the memory of this
 *    machine (N bytes)"  (or "more than the limit of 281474976710656 bytes
 *    (2^48)")
 * After a successful check every dimension truncates to an int64 in
 * [1, 2^45].  The place and shape are remembered (per thread) so that, when
 * the malloc of exactly that many bytes fails next, noma_alloc_failed
 * reports them. */
void noma_check_dims(char *where_alloc, char *where_aligned,
                     int64_t where_offset, int64_t where_size,
                     int64_t where_stride, double *dims_alloc,
                     double *dims_aligned, int64_t dims_offset,
                     int64_t rank, int64_t dims_stride);

/* Compiled code's malloc of `bytes` returned NULL (bytes < 0: the byte
 * count overflowed 64 bits) at `where` (where_len bytes, not NUL-terminated,
 * such as "prog.noma:3:5: ", empty when unknown).  A runtime error that
 * names the shape when the last noma_check_dims of this thread was at the
 * same place and asked for exactly that many bytes ("prog.noma:3:5: runtime
 * error: cannot allocate a [1000000, 100000] buffer: out of memory
 * (800000000000 bytes)"), else "prog.noma:3:5: runtime error: out of
 * memory: cannot allocate N bytes".  Never returns. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void noma_alloc_failed(int64_t bytes, const char *where, int64_t where_len);

/* ---- file I/O: CSV and safetensors (noma_io.c) ------------------------ */

#include "noma_io.h"

#ifdef __cplusplus
}
#endif

#endif /* NOMA_RUNTIME_H */
