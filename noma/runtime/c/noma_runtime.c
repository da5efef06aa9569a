/*
 * noma_runtime.c - the C run-time support of compiled NOMA programs.
 *
 * One implementation shared by the JIT (loaded as a shared library) and by
 * standalone executables (linked in), so that both modes behave identically.
 * See noma_runtime.h for the contract of each function.
 *
 * Portable C11; needs only the standard library, including libm for the
 * random normal sampler (log, cos, sqrt: link with -lm), and no POSIX.
 */
#include "noma_runtime.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Float formatting: Python's repr(float)                                    */
/* ======================================================================== */

/* Shortest round-trip decimal digits of a finite x > 0 (noma_shortest.c):
 * digits[0..*ndigits) without trailing zeros, *exp10 the decimal exponent of
 * the first digit, so that x reads back from d0.d1d2... * 10^exp10. */
static void shortest_digits(double x, char digits[24], int *ndigits, int *exp10)
{
    int64_t e = 0;
    *ndigits = noma_rt_shortest_digits(x, digits, &e);
    *exp10 = (int)e;
}

/* Appends n copies of c to out at *pos. */
static void put_repeat(char *out, int *pos, char c, int n)
{
    for (int i = 0; i < n; ++i)
        out[(*pos)++] = c;
}

/* Writes repr(x) NUL-terminated into out (at least NOMA_F64_REPR_BUFSIZE
 * bytes); returns its length. */
static int format_f64_full(double x, char *out)
{
    int pos = 0;

    if (isnan(x)) {
        /* Python prints every NaN as "nan", whatever its sign bit. */
        memcpy(out, "nan", 4);
        return 3;
    }
    if (signbit(x)) {
        out[pos++] = '-';
        x = -x;
    }
    if (isinf(x)) {
        memcpy(out + pos, "inf", 4);
        return pos + 3;
    }
    if (x == 0.0) {
        memcpy(out + pos, "0.0", 4);
        return pos + 3;
    }

    char digits[24];
    int nd = 0;
    int e = 0;
    shortest_digits(x, digits, &nd, &e);

    if (e >= -4 && e < 16) {
        /* Fixed notation. */
        if (e >= 0) {
            int int_digits = e + 1;
            if (nd <= int_digits) {
                memcpy(out + pos, digits, (size_t)nd);
                pos += nd;
                put_repeat(out, &pos, '0', int_digits - nd);
                memcpy(out + pos, ".0", 2);
                pos += 2;
            } else {
                memcpy(out + pos, digits, (size_t)int_digits);
                pos += int_digits;
                out[pos++] = '.';
                memcpy(out + pos, digits + int_digits,
                       (size_t)(nd - int_digits));
                pos += nd - int_digits;
            }
        } else {
            out[pos++] = '0';
            out[pos++] = '.';
            put_repeat(out, &pos, '0', -e - 1);
            memcpy(out + pos, digits, (size_t)nd);
            pos += nd;
        }
    } else {
        /* Scientific: d[.ddd]e[+-]XX with at least two exponent digits. */
        out[pos++] = digits[0];
        if (nd > 1) {
            out[pos++] = '.';
            memcpy(out + pos, digits + 1, (size_t)(nd - 1));
            pos += nd - 1;
        }
        out[pos++] = 'e';
        out[pos++] = (e < 0) ? '-' : '+';
        int ae = (e < 0) ? -e : e;
        if (ae < 10)
            out[pos++] = '0';
        pos += snprintf(out + pos, 8, "%d", ae);
    }
    out[pos] = '\0';
    return pos;
}

int noma_format_f64(double x, char *buf, int64_t size)
{
    char full[NOMA_F64_REPR_BUFSIZE];
    int len = format_f64_full(x, full);
    if (buf != NULL && size > 0) {
        /* Truncate like snprintf: at most size - 1 characters and a NUL. */
        int64_t n = (len < size) ? len : size - 1;
        memcpy(buf, full, (size_t)n);
        buf[n] = '\0';
    }
    return len;
}

/* ======================================================================== */
/* Printing                                                                 */
/* ======================================================================== */

/* Records the first failed write to stdout (defined at the end). */
static void note_stdout_state(void);

/* Flushes the program's output stream, noting a failed write to stdout
 * with its errno. */
static void flush_stdout(void)
{
    errno = 0;
    if (fflush(noma_rt_stdout()) != 0)
        note_stdout_state();
}

/* Writes the memref<?xi8> text to f (no newline). */
static void write_memref_text(FILE *f, const char *aligned, int64_t offset,
                              int64_t size, int64_t stride)
{
    if (aligned == NULL || size <= 0)
        return;
    const char *base = aligned + offset;
    if (stride == 1) {
        fwrite(base, 1, (size_t)size, f);
    } else {
        for (int64_t i = 0; i < size; ++i)
            fputc(base[i * stride], f);
    }
}

void noma_print_f64(double x)
{
    char buf[NOMA_F64_REPR_BUFSIZE];
    int len = format_f64_full(x, buf);
    buf[len++] = '\n';
    fwrite(buf, 1, (size_t)len, noma_rt_stdout());
    note_stdout_state();
}

void noma_print_str(char *alloc, char *aligned, int64_t offset, int64_t size,
                    int64_t stride)
{
    (void)alloc; /* Only the aligned pointer addresses the data. */
    write_memref_text(noma_rt_stdout(), aligned, offset, size, stride);
    fputc('\n', noma_rt_stdout());
    note_stdout_state();
}

void noma_rt_flush(void)
{
    flush_stdout();
    fflush(noma_rt_stderr());
}

/* ======================================================================== */
/* Diagnostics                                                              */
/* ======================================================================== */

/* Writes placeholder {k} (0 <= k < nvalues) of a message; ctx holds the values. */
typedef void (*noma_value_writer)(FILE *f, int k, const void *ctx);

/* Writes the message (an expanded memref<?xi8>) with each "{k}" replaced by
 * write_value(k) and each "{{" by "{"; other text, and placeholders out of
 * range, verbatim. */
static void write_substituted(FILE *f, const char *aligned, int64_t offset,
                              int64_t size, int64_t stride,
                              noma_value_writer write_value, const void *ctx,
                              int nvalues)
{
    if (aligned == NULL || size <= 0)
        return;
    const char *base = aligned + offset;
    int64_t i = 0;
    while (i < size) {
        char c = base[i * stride];
        if (c == '{' && i + 1 < size && base[(i + 1) * stride] == '{') {
            /* "{{" is a literal "{": how the compiler quotes the location
             * (a file may be named "p{0}.noma"), so that only the message
             * has placeholders. */
            fputc('{', f);
            i += 2;
            continue;
        }
        if (c == '{' && i + 2 < size && base[(i + 2) * stride] == '}') {
            char d = base[(i + 1) * stride];
            int k = d - '0';
            if (k >= 0 && k < nvalues) {
                write_value(f, k, ctx);
                i += 3;
                continue;
            }
        }
        fputc(c, f);
        ++i;
    }
}

/* A number as in diagnostics: shortest round-trip form, integral values
 * without ".0". */
static void write_f64_value(FILE *f, int k, const void *ctx)
{
    const double *values = ctx;
    char num[NOMA_F64_REPR_BUFSIZE];
    int len = format_f64_full(values[k], num);
    if (len > 2 && num[len - 2] == '.' && num[len - 1] == '0')
        len -= 2;
    fwrite(num, 1, (size_t)len, f);
}

/* Shapes given as expanded memref<?xi64> descriptors. */
typedef struct {
    const int64_t *aligned;
    int64_t offset, size, stride;
} noma_shape_arg;

/* A shape as "[2, 16]". */
static void write_shape_value(FILE *f, int k, const void *ctx)
{
    const noma_shape_arg *shape = (const noma_shape_arg *)ctx + k;
    fputc('[', f);
    for (int64_t i = 0; i < shape->size; ++i) {
        if (i > 0)
            fputs(", ", f);
        fprintf(f, "%lld",
                (long long)shape->aligned[shape->offset + i * shape->stride]);
    }
    fputc(']', f);
}

void noma_warning(char *alloc, char *aligned, int64_t offset, int64_t size,
                  int64_t stride, double v0)
{
    (void)alloc;
    /* Flush stdout first so that, when both streams go to the same place,
     * the warning appears after what the program printed before it. */
    flush_stdout();
    double values[1] = {v0};
    write_substituted(noma_rt_stderr(), aligned, offset, size, stride, write_f64_value,
                      values, 1);
    fputc('\n', noma_rt_stderr());
    fflush(noma_rt_stderr());
}

/* One active noma_rt_invoke; they form a per-thread stack through prev. */
typedef struct noma_invoke_frame {
    jmp_buf env;
    struct noma_invoke_frame *prev;
} noma_invoke_frame;

static _Thread_local noma_invoke_frame *noma_current_frame = NULL;

/* Ends the current run: flush what was printed and return to the innermost
 * noma_rt_invoke, or exit(1) when running outside one (executables). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
static void noma_abort_run(void)
{
    flush_stdout();
    fflush(noma_rt_stderr());
    noma_invoke_frame *frame = noma_current_frame;
    if (frame != NULL)
        longjmp(frame->env, 1);
    exit(1);
}

/* A runtime error raised by the runtime itself, with a C string message. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
static void noma_fail(const char *message)
{
    flush_stdout();
    fputs(message, noma_rt_stderr());
    fputc('\n', noma_rt_stderr());
    noma_abort_run();
}

/* The same error path for the other runtime files (declared in noma_io.h). */
void noma_rt_fail(const char *message)
{
    noma_fail(message);
}

void noma_runtime_error(char *alloc, char *aligned, int64_t offset,
                        int64_t size, int64_t stride, double v0, double v1)
{
    (void)alloc;
    /* stdout first, so that the error follows the program's output. */
    flush_stdout();
    double values[2] = {v0, v1};
    write_substituted(noma_rt_stderr(), aligned, offset, size, stride, write_f64_value,
                      values, 2);
    fputc('\n', noma_rt_stderr());
    noma_abort_run();
}

void noma_shape_error(char *alloc, char *aligned, int64_t offset,
                      int64_t size, int64_t stride, int64_t *a_alloc,
                      int64_t *a_aligned, int64_t a_offset, int64_t a_size,
                      int64_t a_stride, int64_t *b_alloc, int64_t *b_aligned,
                      int64_t b_offset, int64_t b_size, int64_t b_stride)
{
    (void)alloc;
    (void)a_alloc;
    (void)b_alloc;
    flush_stdout();
    noma_shape_arg shapes[2] = {{a_aligned, a_offset, a_size, a_stride},
                                {b_aligned, b_offset, b_size, b_stride}};
    write_substituted(noma_rt_stderr(), aligned, offset, size, stride, write_shape_value,
                      shapes, 2);
    fputc('\n', noma_rt_stderr());
    noma_abort_run();
}

/* ======================================================================== */
/* Tensors                                                                  */
/* ======================================================================== */

/* Dimension i of a shape passed as an expanded memref<?xi64>. */
static int64_t shape_dim(const int64_t *dims, int64_t dims_offset,
                         int64_t dims_stride, int64_t i)
{
    return dims[dims_offset + i * dims_stride];
}

/* Number of elements of a shape; -1 if the rank or a dimension is negative
 * or the product overflows int64 (no buffer could have that many elements,
 * so it can never match the data's size).  A zero dimension makes the
 * product 0 however large the others are. */
static int64_t shape_elements(const int64_t *dims, int64_t dims_offset,
                              int64_t dims_stride, int64_t rank)
{
    if (rank < 0)
        return -1;
    int64_t total = 1;
    int zero = 0, overflow = 0;
    for (int64_t i = 0; i < rank; ++i) {
        int64_t d = shape_dim(dims, dims_offset, dims_stride, i);
        if (d < 0)
            return -1;
        if (d == 0)
            zero = 1;
        else if (total > INT64_MAX / d)
            overflow = 1;
        else
            total *= d;
    }
    if (zero)
        return 0;
    return overflow ? -1 : total;
}

/* The shape and the data disagree: an internal compiler bug, reported as a
 * runtime error naming both (the message's length depends on the rank, so
 * it is written piecewise rather than through noma_fail). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
static void fail_tensor_shape(int64_t size, const int64_t *dims,
                              int64_t dims_offset, int64_t dims_stride,
                              int64_t rank)
{
    flush_stdout();
    FILE *err = noma_rt_stderr();
    fprintf(err, "runtime error: internal: tensor of %lld elements printed with ",
            (long long)size);
    if (rank < 0) {
        fprintf(err, "rank %lld", (long long)rank);
    } else {
        fputs("shape [", err);
        for (int64_t i = 0; i < rank; ++i)
            fprintf(err, i ? ", %lld" : "%lld",
                    (long long)shape_dim(dims, dims_offset, dims_stride, i));
        fputc(']', err);
    }
    fputc('\n', err);
    noma_abort_run();
}

/* What printing one tensor needs; `next` is the flat row-major index of the
 * next element, since nested brackets visit elements in row-major order. */
typedef struct tensor_printer {
    FILE *out;
    const double *aligned;
    int64_t offset, stride;
    const int64_t *dims;
    int64_t dims_offset, dims_stride, rank;
    int64_t next;
} tensor_printer;

static void write_f64(FILE *f, double x)
{
    char buf[NOMA_F64_REPR_BUFSIZE];
    int len = format_f64_full(x, buf);
    fwrite(buf, 1, (size_t)len, f);
}

/* Writes the sub-tensor at `level` (a number at level == rank, else a
 * bracketed list of dims[level] sub-tensors).  Recursion depth is the rank,
 * which the compiler fixes and keeps small. */
static void write_tensor_level(tensor_printer *p, int64_t level)
{
    if (level == p->rank) {
        write_f64(p->out, p->aligned[p->offset + p->next * p->stride]);
        ++p->next;
        return;
    }
    int64_t n = shape_dim(p->dims, p->dims_offset, p->dims_stride, level);
    fputc('[', p->out);
    for (int64_t i = 0; i < n; ++i) {
        if (i > 0)
            fwrite(", ", 1, 2, p->out);
        write_tensor_level(p, level + 1);
    }
    fputc(']', p->out);
}

void noma_print_tensor(double *alloc, double *aligned, int64_t offset,
                       int64_t size, int64_t stride, int64_t *dims_alloc,
                       int64_t *dims_aligned, int64_t dims_offset,
                       int64_t rank, int64_t dims_stride)
{
    (void)alloc; /* Only the aligned pointers address the data. */
    (void)dims_alloc;
    /* Checked before printing anything, so a mismatch never leaves half a
     * tensor on stdout (and never reads past the buffer). */
    if (shape_elements(dims_aligned, dims_offset, dims_stride, rank) != size)
        fail_tensor_shape(size, dims_aligned, dims_offset, dims_stride, rank);
    tensor_printer p = {noma_rt_stdout(), aligned, offset, stride,
                        dims_aligned, dims_offset, dims_stride, rank, 0};
    write_tensor_level(&p, 0);
    fputc('\n', noma_rt_stdout());
    note_stdout_state();
}

/* ======================================================================== */
/* Buffers                                                                  */
/* ======================================================================== */

void noma_free_buffer(void *p)
{
    free(p);
}

/* ======================================================================== */
/* Entry trampoline                                                         */
/* ======================================================================== */

/*
 * Compiled code holds no resources that need unwinding (no C++ objects, no
 * locks), so a longjmp across its frames is safe; heap buffers it allocated
 * before the error are leaked, which is acceptable for an aborted run.
 */
int noma_rt_invoke(void (*packed)(void **), void **args)
{
    noma_invoke_frame frame;
    int status;

    frame.prev = noma_current_frame;
    noma_current_frame = &frame;
    /* Nothing local is modified between setjmp and longjmp, so no
     * volatile is needed. */
    if (setjmp(frame.env) == 0) {
        packed(args);
        status = 0;
    } else {
        status = 1;
    }
    noma_current_frame = frame.prev;
    flush_stdout();
    return status;
}

/* ======================================================================== */
/* Random numbers: xoshiro256** seeded by splitmix64                        */
/* ======================================================================== */

/*
 * The algorithm is specified in noma_runtime.h (steps 1-5); this is a
 * transcription of the reference C code of xoshiro256** and splitmix64.
 *
 * Reproducibility: the doubles must be rounded exactly as the formulas are
 * written, so fused multiply-add contraction (which GCC does by default in
 * GNU modes on targets with FMA, and clang within expressions) is turned
 * off for this section, whatever flags an executable is built with.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

/* The double nearest 2*pi (M_PI is POSIX, not C11). */
#define NOMA_TWO_PI 6.283185307179586

/* The whole generator state, in one place. */
static struct {
    uint64_t s[4];
    int seeded; /* 0 until the first noma_rng_seed or draw */
} noma_rng = {{0, 0, 0, 0}, 0};

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* One splitmix64 step on *x: advance the state, return the mixed output. */
static uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void noma_rng_seed(int64_t seed)
{
    /* int64 -> uint64 is defined (modulo 2^64): the two's-complement bits. */
    uint64_t x = (uint64_t)seed;
    for (int i = 0; i < 4; ++i)
        noma_rng.s[i] = splitmix64_next(&x);
    noma_rng.seeded = 1;
}

/* One xoshiro256** step, seeding with NOMA_DEFAULT_SEED on first use. */
static uint64_t rng_next(void)
{
    if (!noma_rng.seeded)
        noma_rng_seed(NOMA_DEFAULT_SEED);
    uint64_t *s = noma_rng.s;
    const uint64_t result = rotl64(s[1] * 5u, 7) * 9u;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

int64_t noma_rng_next_raw(void)
{
    uint64_t bits = rng_next();
    int64_t out;
    /* Reinterpret the bits (a cast to int64 would be implementation-defined
     * above INT64_MAX). */
    memcpy(&out, &bits, sizeof out);
    return out;
}

double noma_rng_uniform(void)
{
    /* 53 random bits times 2^-53: exact, in [0, 1). */
    return (double)(rng_next() >> 11) * 0x1.0p-53;
}

double noma_rng_uniform_range(double lo, double hi)
{
    double u = noma_rng_uniform();
    return lo + (hi - lo) * u;
}

double noma_rng_normal(double mean, double std)
{
    /* Two draws, in this order, on separate statements. */
    double u1 = noma_rng_uniform();
    double u2 = noma_rng_uniform();
    double z = sqrt(-2.0 * log(1.0 - u1)) * cos(NOMA_TWO_PI * u2);
    return mean + std * z;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ======================================================================== */
/* Tape                                                                     */
/* ======================================================================== */

typedef struct noma_tape {
    double *data;
    size_t len;
    size_t cap;
} noma_tape;

static noma_tape *tape_from_handle(int64_t handle)
{
    return (noma_tape *)(intptr_t)handle;
}

int64_t noma_tape_new(void)
{
    noma_tape *t = calloc(1, sizeof *t);
    if (t == NULL)
        noma_fail("runtime error: out of memory (tape)");
    return (int64_t)(intptr_t)t;
}

/* Room for `extra` more values. */
static void tape_reserve(noma_tape *t, size_t extra)
{
    if (extra <= t->cap - t->len)
        return;
    if (extra > SIZE_MAX / sizeof *t->data - t->len)
        noma_fail("runtime error: out of memory (tape)");
    size_t need = t->len + extra;
    size_t cap = t->cap ? t->cap : 64;
    /* Geometric growth keeps push amortised O(1). */
    while (cap < need)
        cap = cap > SIZE_MAX / 2 / sizeof *t->data ? need : cap * 2;
    double *data = realloc(t->data, cap * sizeof *data);
    if (data == NULL)
        noma_fail("runtime error: out of memory (tape)");
    t->data = data;
    t->cap = cap;
}

void noma_tape_push(int64_t tape, double x)
{
    noma_tape *t = tape_from_handle(tape);
    tape_reserve(t, 1);
    t->data[t->len++] = x;
}

double noma_tape_pop(int64_t tape)
{
    noma_tape *t = tape_from_handle(tape);
    if (t->len == 0)
        noma_fail("runtime error: internal: tape underflow");
    return t->data[--t->len];
}

void noma_tape_push_array(int64_t tape, double *alloc, double *aligned,
                          int64_t offset, int64_t size, int64_t stride)
{
    (void)alloc;
    noma_tape *t = tape_from_handle(tape);
    if (size <= 0)
        return;
    tape_reserve(t, (size_t)size);
    const double *src = aligned + offset;
    double *dest = t->data + t->len;
    if (stride == 1) {
        memcpy(dest, src, (size_t)size * sizeof *dest);
    } else {
        for (int64_t i = 0; i < size; ++i)
            dest[i] = src[i * stride];
    }
    t->len += (size_t)size;
}

void noma_tape_pop_array(int64_t tape, double *alloc, double *aligned,
                         int64_t offset, int64_t size, int64_t stride)
{
    (void)alloc;
    noma_tape *t = tape_from_handle(tape);
    if (size <= 0)
        return;
    if ((uint64_t)size > t->len)
        noma_fail("runtime error: internal: tape underflow");
    t->len -= (size_t)size;
    const double *src = t->data + t->len;
    double *dest = aligned + offset;
    if (stride == 1) {
        memcpy(dest, src, (size_t)size * sizeof *dest);
    } else {
        for (int64_t i = 0; i < size; ++i)
            dest[i * stride] = src[i];
    }
}

void noma_tape_free(int64_t tape)
{
    noma_tape *t = tape_from_handle(tape);
    if (t == NULL)
        return;
    free(t->data);
    free(t);
}

/* ======================================================================== */
/* Standard output that cannot be written                                   */
/* ======================================================================== */

/* errno of the first failed write to stdout (0: none).  A full disk, a
 * closed descriptor or a broken pipe must not pass silently: the driver
 * (executables) and the CLI (JIT) check it once the output is flushed. */
static int stdout_errno = 0;

static void note_stdout_state(void)
{
    if (stdout_errno == 0 && ferror(stdout))
        stdout_errno = errno != 0 ? errno : EIO;
}

int noma_rt_check_stdout(void)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout))
        note_stdout_state();
    int e = stdout_errno;
    if (e == 0)
        return 0;
    stdout_errno = 0;
    clearerr(stdout);
    fprintf(stderr, "runtime error: cannot write to standard output: %s\n",
            strerror(e));
    fflush(stderr);
    return 1;
}
