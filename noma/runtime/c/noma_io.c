/*
 * noma_io.c - run-time file I/O of compiled NOMA programs: CSV and
 * safetensors, read and (atomically) written.  See noma_io.h for the
 * contract of each function.
 *
 * One implementation for the JIT (part of the runtime shared library) and
 * for standalone executables (linked in), like noma_runtime.c.
 *
 * Error handling: a runtime error ends in noma_rt_fail, which longjmps out
 * (or exits) and so skips any cleanup after it.  The helpers below therefore
 * never fail themselves: they return 0 / NULL and leave the message in a
 * strbuf, and each public function first releases what it holds (open
 * files, buffers, temporary files), then reports.  The only memory a failure
 * keeps is the text of the last message (see fail_with_message).
 *
 * Needs POSIX.1-2008 on top of C11: mkstemp, fsync, fchmod, umask, rename
 * semantics, fseeko, and newlocale/uselocale to parse numbers in the "C"
 * locale.
 */
#define _POSIX_C_SOURCE 200809L

#include "noma_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <xlocale.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

/* ======================================================================== */
/* Growable strings (messages, the safetensors header)                      */
/* ======================================================================== */

/* A growable byte string.  After any append, buf is NUL-terminated.  Running
 * out of memory sets oom and turns later appends into no-ops, so that
 * message building needs no error checks; whoever reports checks oom. */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} strbuf;

#define STRBUF_INIT {NULL, 0, 0, 0}

/* Makes room for `extra` more bytes plus the NUL; 0 when out of memory. */
static int sb_reserve(strbuf *sb, size_t extra)
{
    if (sb->oom)
        return 0;
    if (extra > SIZE_MAX - sb->len - 1) {
        sb->oom = 1;
        return 0;
    }
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return 1;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap = (cap > SIZE_MAX / 2) ? need : cap * 2;
    char *p = realloc(sb->buf, cap);
    if (p == NULL) {
        sb->oom = 1;
        return 0;
    }
    sb->buf = p;
    sb->cap = cap;
    return 1;
}

static void sb_putn(strbuf *sb, const char *s, size_t n)
{
    if (!sb_reserve(sb, n))
        return;
    if (n > 0)
        memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void sb_puts(strbuf *sb, const char *s)
{
    sb_putn(sb, s, strlen(s));
}

static void sb_putc(strbuf *sb, char c)
{
    sb_putn(sb, &c, 1);
}

static void sb_vprintf(strbuf *sb, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    char small[128];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= 0 && (size_t)n < sizeof small) {
        sb_putn(sb, small, (size_t)n);
    } else if (n >= 0 && sb_reserve(sb, (size_t)n)) {
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, again);
        sb->len += (size_t)n;
    }
    va_end(again);
}

PRINTF_LIKE(2, 3)
static void sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

static void sb_free(strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
}

/* Appends text from a file or a path for a message: control bytes and DEL
 * as \xNN (a binary file must not garble the terminal), and at most `limit`
 * bytes (0: no limit) followed by "..." when cut; the cut backs off to the
 * start of a UTF-8 character so that no half character is printed. */
static void sb_put_text(strbuf *sb, const char *s, size_t n, size_t limit)
{
    int cut = 0;
    if (limit > 0 && n > limit) {
        n = limit;
        while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u)
            --n;
        cut = 1;
    }
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20u || c == 0x7Fu)
            sb_printf(sb, "\\x%02x", (unsigned)c);
        else
            sb_putc(sb, (char)c);
    }
    if (cut)
        sb_puts(sb, "...");
}

/* 'text', escaped and cut as by sb_put_text. */
static void sb_put_quoted(strbuf *sb, const char *s, size_t n, size_t limit)
{
    sb_putc(sb, '\'');
    sb_put_text(sb, s, n, limit);
    sb_putc(sb, '\'');
}

/* A shape as "[2, 3]" ("[]" for rank 0). */
static void sb_put_shape(strbuf *sb, const int64_t *dims, size_t rank)
{
    sb_putc(sb, '[');
    for (size_t i = 0; i < rank; ++i)
        sb_printf(sb, i ? ", %lld" : "%lld", (long long)dims[i]);
    sb_putc(sb, ']');
}

/* "a scalar", "a 1-D tensor", "an 8-D tensor". */
static void sb_put_rank_phrase(strbuf *sb, int64_t rank)
{
    if (rank == 0) {
        sb_puts(sb, "a scalar");
        return;
    }
    /* "an" before the numbers read with a leading vowel: 8, 11, 18, 8x. */
    int an = rank == 8 || rank == 11 || rank == 18 || (rank >= 80 && rank < 90);
    sb_printf(sb, "%s %lld-D tensor", an ? "an" : "a", (long long)rank);
}

/* ======================================================================== */
/* Memref arguments                                                         */
/* ======================================================================== */

/* An expanded memref<?xi8> string (the allocated pointer is never needed). */
typedef struct {
    const char *aligned;
    int64_t offset, size, stride;
} str_view;

static str_view str_arg(const char *aligned, int64_t offset, int64_t size,
                        int64_t stride)
{
    str_view v = {aligned, offset, size, stride};
    return v;
}

static size_t view_len(str_view v)
{
    return (v.aligned == NULL || v.size <= 0) ? 0 : (size_t)v.size;
}

static char view_at(str_view v, size_t i)
{
    return v.aligned[v.offset + (int64_t)i * v.stride];
}

/* Appends the string's bytes verbatim (the location prefix). */
static void sb_put_view(strbuf *sb, str_view v)
{
    size_t n = view_len(v);
    if (n > 0 && v.stride == 1) {
        sb_putn(sb, v.aligned + v.offset, n);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        sb_putc(sb, view_at(v, i));
}

/* A NUL-terminated copy; *len (if given) gets the byte count, which can be
 * more than strlen when the string holds NUL bytes.  NULL when out of
 * memory. */
static char *view_dup(str_view v, size_t *len)
{
    size_t n = view_len(v);
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; ++i)
        s[i] = view_at(v, i);
    s[n] = '\0';
    if (len != NULL)
        *len = n;
    return s;
}

/* An expanded memref<?xf64> or memref<?xi64>. */
typedef struct {
    const double *aligned;
    int64_t offset, size, stride;
} f64_view;

typedef struct {
    const int64_t *aligned;
    int64_t offset, size, stride;
} i64_view;

static double f64_at(f64_view v, size_t i)
{
    return v.aligned[v.offset + (int64_t)i * v.stride];
}

static int64_t i64_at(i64_view v, size_t i)
{
    return v.aligned[v.offset + (int64_t)i * v.stride];
}

/* ======================================================================== */
/* Reporting errors                                                         */
/* ======================================================================== */

/* The text of the last failure.  noma_rt_fail never returns, so the message
 * cannot be freed after it; keeping only the latest bounds the leak to one
 * message however many runs fail in one process (the JIT). */
static char *last_failure = NULL;

/* Ends the run with full->buf as the message (takes it over). */
NOMA_IO_NORETURN static void fail_with_message(strbuf *full)
{
    if (full->oom || full->buf == NULL) {
        sb_free(full);
        noma_rt_fail("runtime error: out of memory");
    }
    free(last_failure);
    last_failure = full->buf;
    noma_rt_fail(last_failure);
}

/* "<where>runtime error: <msg>"; frees msg. */
NOMA_IO_NORETURN static void fail_at(str_view where, strbuf *msg)
{
    strbuf full = STRBUF_INIT;
    sb_put_view(&full, where);
    sb_puts(&full, "runtime error: ");
    if (msg->oom || msg->buf == NULL)
        sb_puts(&full, "out of memory");
    else
        sb_putn(&full, msg->buf, msg->len);
    sb_free(msg);
    fail_with_message(&full);
}

NOMA_IO_NORETURN static void fail_out_of_memory(void)
{
    noma_rt_fail("runtime error: out of memory");
}

/* "runtime error: internal: ..." for what only a compiler bug can cause. */
NOMA_IO_NORETURN PRINTF_LIKE(1, 2)
static void fail_internal(const char *fmt, ...)
{
    strbuf full = STRBUF_INIT;
    sb_puts(&full, "runtime error: internal: ");
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&full, fmt, ap);
    va_end(ap);
    fail_with_message(&full);
}

/* "cannot read 'path': <strerror>" / "cannot write ...". */
static void cannot(strbuf *err, const char *verb, const char *path,
                   size_t path_len, int errnum)
{
    sb_printf(err, "cannot %s ", verb);
    sb_put_quoted(err, path, path_len, 0);
    sb_puts(err, ": ");
    sb_puts(err, strerror(errnum));
}

/* The path as a C string, or NULL with the message in err: out of memory,
 * or a NUL byte in it (no file can have that name; open would silently use
 * the part before it). */
static char *path_dup(str_view v, const char *verb, strbuf *err)
{
    size_t len = 0;
    char *path = view_dup(v, &len);
    if (path == NULL) {
        err->oom = 1;
        return NULL;
    }
    if (strlen(path) != len) {
        sb_printf(err, "cannot %s ", verb);
        sb_put_quoted(err, path, len, 0);
        sb_puts(err, ": the file name contains a NUL byte");
        free(path);
        return NULL;
    }
    return path;
}

/* ======================================================================== */
/* Handles                                                                  */
/* ======================================================================== */

/* A tensor read from a file, waiting for compiled code to take it. */
typedef struct {
    int64_t *dims;
    size_t rank;
    double *data;
    size_t count; /* product of dims */
} loaded_tensor;

static void loaded_free(loaded_tensor *t)
{
    if (t == NULL)
        return;
    free(t->dims);
    free(t->data);
    free(t);
}

/* A tensor queued in a safetensors writer (a private copy). */
typedef struct {
    char *name;
    size_t name_len;
    int64_t *dims;
    size_t rank;
    double *data;
    size_t count;
} writer_entry;

typedef struct {
    writer_entry *items;
    size_t len, cap;
} st_writer;

static void writer_free(st_writer *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->len; ++i) {
        free(w->items[i].name);
        free(w->items[i].dims);
        free(w->items[i].data);
    }
    free(w->items);
    free(w);
}

/* One table for both kinds, each slot tagged, so that passing a writer
 * where a loaded tensor is expected (or a stale handle) is caught. */
enum { SLOT_FREE = 0, SLOT_TENSOR = 1, SLOT_WRITER = 2 };

typedef struct {
    int kind;
    void *ptr;
} io_slot;

static struct {
    io_slot *slots;
    size_t len, cap;
} handles = {NULL, 0, 0};

/* A new handle (slot index + 1) for ptr; 0 when out of memory.  The lowest
 * free slot is reused, so the table stays as small as the number of
 * handles alive at once. */
static int64_t handle_new(int kind, void *ptr)
{
    size_t i = 0;
    while (i < handles.len && handles.slots[i].kind != SLOT_FREE)
        ++i;
    if (i == handles.len) {
        if (handles.len == handles.cap) {
            size_t cap = handles.cap ? handles.cap * 2 : 16;
            io_slot *slots = realloc(handles.slots, cap * sizeof *slots);
            if (slots == NULL)
                return 0;
            handles.slots = slots;
            handles.cap = cap;
        }
        ++handles.len;
    }
    handles.slots[i].kind = kind;
    handles.slots[i].ptr = ptr;
    return (int64_t)i + 1;
}

/* The object behind a handle of the given kind; NULL when the handle is
 * not one. */
static void *handle_get(int64_t handle, int kind)
{
    if (handle < 1 || (uint64_t)handle > handles.len)
        return NULL;
    io_slot *slot = &handles.slots[handle - 1];
    return slot->kind == kind ? slot->ptr : NULL;
}

static void handle_release(int64_t handle)
{
    io_slot *slot = &handles.slots[handle - 1];
    slot->kind = SLOT_FREE;
    slot->ptr = NULL;
}

static loaded_tensor *tensor_of(int64_t handle)
{
    loaded_tensor *t = handle_get(handle, SLOT_TENSOR);
    if (t == NULL)
        fail_internal("bad loaded-tensor handle %lld", (long long)handle);
    return t;
}

static st_writer *writer_of(int64_t handle)
{
    st_writer *w = handle_get(handle, SLOT_WRITER);
    if (w == NULL)
        fail_internal("bad safetensors writer handle %lld", (long long)handle);
    return w;
}

/* Registers a loaded tensor, or fails with where's location. */
static int64_t tensor_handle(loaded_tensor *t, str_view where)
{
    int64_t h = handle_new(SLOT_TENSOR, t);
    if (h == 0) {
        loaded_free(t);
        strbuf err = STRBUF_INIT;
        err.oom = 1;
        fail_at(where, &err);
    }
    return h;
}

/* A loaded_tensor owning dims[0..rank) (copied) and data (taken over). */
static loaded_tensor *loaded_new(const int64_t *dims, size_t rank,
                                 double *data, size_t count)
{
    loaded_tensor *t = malloc(sizeof *t);
    int64_t *d = malloc((rank ? rank : 1) * sizeof *d);
    if (t == NULL || d == NULL) {
        free(t);
        free(d);
        return NULL;
    }
    if (rank > 0)
        memcpy(d, dims, rank * sizeof *d);
    t->dims = d;
    t->rank = rank;
    t->data = data;
    t->count = count;
    return t;
}

/* ======================================================================== */
/* Reading files                                                            */
/* ======================================================================== */

/* Opens path for reading, refusing directories (fopen accepts them on
 * Linux, and reading then fails with a less direct message).  On success
 * *st holds its status. */
static FILE *open_for_reading(const char *path, struct stat *st,
                              strbuf *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cannot(err, "read", path, strlen(path), errno);
        return NULL;
    }
    if (fstat(fileno(f), st) != 0) {
        int e = errno;
        fclose(f);
        cannot(err, "read", path, strlen(path), e);
        return NULL;
    }
    if (S_ISDIR(st->st_mode)) {
        fclose(f);
        cannot(err, "read", path, strlen(path), EISDIR);
        return NULL;
    }
    return f;
}

/* The rest of f up to EOF, NUL-terminated, in a buffer that grows as
 * needed (pipes, FIFOs and /dev/stdin have no size to read up front); the
 * status st only gives a first guess.  Closes f.  NULL with the message in
 * err. */
static char *read_stream(FILE *f, const struct stat *st, const char *path,
                         size_t *len_out, strbuf *err)
{
    /* The size is only a hint (the file may change, or not be regular). */
    size_t cap = 4096;
    if (S_ISREG(st->st_mode) && st->st_size > 0 &&
        (uint64_t)st->st_size < (uint64_t)SIZE_MAX - 1)
        cap = (size_t)st->st_size + 1;
    char *buf = malloc(cap);
    size_t len = 0;
    int e = 0;
    while (buf != NULL) {
        if (len + 1 >= cap) {
            /* Full.  Probe for one more byte before growing, so that a file
             * read at its known size needs no second, doubled buffer. */
            errno = 0;
            int c = fgetc(f);
            if (c == EOF) {
                if (ferror(f))
                    e = errno ? errno : EIO;
                break;
            }
            size_t bigger = (cap > SIZE_MAX / 2) ? SIZE_MAX : cap * 2;
            char *p = (bigger > cap) ? realloc(buf, bigger) : NULL;
            if (p == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap = bigger;
            buf[len++] = (char)c;
        }
        errno = 0;
        size_t got = fread(buf + len, 1, cap - 1 - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                e = errno ? errno : EIO;
            break;
        }
    }
    fclose(f);
    if (buf == NULL) {
        err->oom = 1;
        return NULL;
    }
    if (e != 0) {
        free(buf);
        cannot(err, "read", path, strlen(path), e);
        return NULL;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* The whole file, NUL-terminated (so that a cell at the very end can be
 * handed to strtod in place); NULL with the message in err. */
static char *read_whole_file(const char *path, size_t *len_out, strbuf *err)
{
    struct stat st;
    FILE *f = open_for_reading(path, &st, err);
    if (f == NULL)
        return NULL;
    return read_stream(f, &st, path, len_out, err);
}

/* ======================================================================== */
/* CSV                                                                      */
/* ======================================================================== */

/* The "C" numeric locale, created once: strtod must read "1.5" the same in
 * every process, whatever locale the program or its host set.  (locale_t)0
 * if it cannot be created, in which case the current locale is used. */
static locale_t c_numeric_locale(void)
{
    static locale_t loc = (locale_t)0;
    if (loc == (locale_t)0)
        loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    return loc;
}

static int is_blank(char c)
{
    /* '\r' too: it ends every line of a CRLF file. */
    return c == ' ' || c == '\t' || c == '\r';
}

typedef struct {
    double *data;
    size_t len, cap;
} f64_vec;

static int f64_vec_push(f64_vec *v, double x)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        if (cap > SIZE_MAX / sizeof(double))
            return 0;
        double *p = realloc(v->data, cap * sizeof *p);
        if (p == NULL)
            return 0;
        v->data = p;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 1;
}

/* Parses the cell [s, e) (blanks trimmed) as a whole number; the byte at e
 * is temporarily replaced by a NUL for strtod (the buffer always has one
 * byte past its end). */
static int parse_cell(char *s, char *e, double *x)
{
    if (s == e)
        return 0;
    char saved = *e;
    *e = '\0';
    char *stop = NULL;
    *x = strtod(s, &stop);
    *e = saved;
    return stop == e;
}

/* "x.csv:3: " */
static void csv_where(strbuf *err, const char *path, size_t line)
{
    sb_put_text(err, path, strlen(path), 0);
    sb_printf(err, ":%llu: ", (unsigned long long)line);
}

/* Parses the text of a CSV file (NUL at text[len]) into a [rows, cols]
 * tensor.  Runs in the "C" numeric locale set by the caller. */
static loaded_tensor *parse_csv(const char *path, char *text, size_t len,
                                strbuf *err)
{
    char *p = text, *end = text + len;
    f64_vec values = {NULL, 0, 0};
    size_t line = 0, rows = 0, cols = 0;

    /* Spreadsheets often start a UTF-8 CSV with a byte-order mark. */
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end) {
        ++line;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        char *hash = memchr(p, '#', (size_t)(eol - p));
        char *stop = hash ? hash : eol;
        char *q = p;
        while (q < stop && is_blank(*q))
            ++q;
        if (q == stop) { /* blank or comment-only line */
            p = next;
            continue;
        }
        size_t n = 0;
        char *cell = p;
        for (;;) {
            char *comma = memchr(cell, ',', (size_t)(stop - cell));
            char *a = cell, *b = comma ? comma : stop;
            while (a < b && is_blank(*a))
                ++a;
            while (b > a && is_blank(b[-1]))
                --b;
            double x = 0.0;
            if (!parse_cell(a, b, &x)) {
                csv_where(err, path, line);
                /* Long enough to recognise, short enough for one line. */
                sb_put_quoted(err, a, (size_t)(b - a), 40);
                sb_puts(err, " is not a number");
                goto fail;
            }
            if (!f64_vec_push(&values, x)) {
                err->oom = 1;
                goto fail;
            }
            ++n;
            if (comma == NULL)
                break;
            cell = comma + 1;
        }
        if (rows == 0) {
            cols = n;
        } else if (n != cols) {
            csv_where(err, path, line);
            sb_printf(err, "%llu value%s, where the rows before have %llu",
                      (unsigned long long)n, n == 1 ? "" : "s",
                      (unsigned long long)cols);
            goto fail;
        }
        ++rows;
        p = next;
    }
    if (rows == 0) {
        sb_put_text(err, path, strlen(path), 0);
        sb_puts(err, ": no data");
        goto fail;
    }
    int64_t dims[2] = {(int64_t)rows, (int64_t)cols};
    loaded_tensor *t = loaded_new(dims, 2, values.data, values.len);
    if (t == NULL) {
        err->oom = 1;
        goto fail;
    }
    return t;
fail:
    free(values.data);
    return NULL;
}

/* Reads and parses a CSV file; NULL with the message in err. */
static loaded_tensor *read_csv(const char *path, strbuf *err)
{
    size_t len = 0;
    char *text = read_whole_file(path, &len, err);
    if (text == NULL)
        return NULL;
    locale_t c = c_numeric_locale();
    locale_t previous = (c != (locale_t)0) ? uselocale(c) : (locale_t)0;
    loaded_tensor *t = parse_csv(path, text, len, err);
    if (previous != (locale_t)0)
        uselocale(previous);
    free(text);
    return t;
}

/* ======================================================================== */
/* safetensors: the JSON header                                             */
/* ======================================================================== */

/*
 * The header is parsed by a small recursive-descent JSON reader that
 * follows the safetensors schema instead of building a tree: a top-level
 * object whose members are tensor entries (dtype, shape, data_offsets;
 * other members are validated and skipped) and an optional "__metadata__"
 * object of strings.  Syntax is checked strictly (RFC 8259: no trailing
 * commas, no comments, no control characters in strings, surrogate pairs
 * in \u escapes); white space after the object is the padding.
 */

/* Deeper nesting than any real header, shallow enough for any stack. */
#define JSON_MAX_DEPTH 64

/* The safetensors package refuses headers over 100 MB; so do we, rather
 * than allocate whatever a corrupt length claims. */
#define SAFETENSORS_MAX_HEADER 100000000u

typedef struct {
    char *name;
    size_t name_len;
    char *dtype; /* NULL until seen */
    size_t dtype_len;
    int64_t *shape;
    size_t rank;
    int have_shape, have_offsets;
    uint64_t begin, end; /* data_offsets */
} st_entry;

typedef struct {
    st_entry *items;
    size_t len, cap;
} st_entries;

static void entries_free(st_entries *es)
{
    for (size_t i = 0; i < es->len; ++i) {
        free(es->items[i].name);
        free(es->items[i].dtype);
        free(es->items[i].shape);
    }
    free(es->items);
    es->items = NULL;
    es->len = es->cap = 0;
}

typedef struct {
    const char *path; /* for messages */
    const char *s;    /* the header text, len bytes */
    size_t len, pos;
    int depth;
    strbuf *err;
} json_reader;

/* "w.safetensors: malformed header: " */
static void malformed_prefix(json_reader *r)
{
    sb_put_text(r->err, r->path, strlen(r->path), 0);
    sb_puts(r->err, ": malformed header: ");
}

PRINTF_LIKE(2, 3)
static int malformed(json_reader *r, const char *fmt, ...)
{
    malformed_prefix(r);
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(r->err, fmt, ap);
    va_end(ap);
    return 0;
}

/* "...: malformed header: tensor 'W': <why>" */
PRINTF_LIKE(3, 4)
static int malformed_entry(json_reader *r, const st_entry *e,
                           const char *fmt, ...)
{
    malformed_prefix(r);
    sb_puts(r->err, "tensor ");
    sb_put_quoted(r->err, e->name, e->name_len, 0);
    sb_puts(r->err, ": ");
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(r->err, fmt, ap);
    va_end(ap);
    return 0;
}

static int syntax_error(json_reader *r, const char *what)
{
    return malformed(r, "invalid JSON at byte %llu: %s",
                     (unsigned long long)r->pos, what);
}

static void skip_ws(json_reader *r)
{
    while (r->pos < r->len) {
        char c = r->s[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ++r->pos;
    }
}

/* The next significant character (after white space), or '\0' at the
 * end. */
static char peek(json_reader *r)
{
    skip_ws(r);
    return r->pos < r->len ? r->s[r->pos] : '\0';
}

/* After an item of an array or object: 1 if another follows (','
 * consumed), 0 at its end (`close` consumed), -1 after reporting a syntax
 * error. */
static int next_item(json_reader *r, char close)
{
    char d = peek(r);
    if (d == ',' || d == close) {
        ++r->pos;
        return d == ',';
    }
    syntax_error(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    return -1;
}

static int expect(json_reader *r, char c, const char *what)
{
    if (peek(r) != c)
        return syntax_error(r, what);
    ++r->pos;
    return 1;
}

static int hex4(json_reader *r, unsigned *out)
{
    if (r->len - r->pos < 4)
        return syntax_error(r, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
        char c = r->s[r->pos + (size_t)i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a') + 10u;
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A') + 10u;
        else
            return syntax_error(r, "bad hex digit in a \\u escape");
        v = v * 16u + d;
    }
    r->pos += 4;
    *out = v;
    return 1;
}

static void put_utf8(strbuf *sb, unsigned cp)
{
    if (cp < 0x80u) {
        sb_putc(sb, (char)cp);
    } else if (cp < 0x800u) {
        sb_putc(sb, (char)(0xC0u | (cp >> 6)));
        sb_putc(sb, (char)(0x80u | (cp & 0x3Fu)));
    } else if (cp < 0x10000u) {
        sb_putc(sb, (char)(0xE0u | (cp >> 12)));
        sb_putc(sb, (char)(0x80u | ((cp >> 6) & 0x3Fu)));
        sb_putc(sb, (char)(0x80u | (cp & 0x3Fu)));
    } else {
        sb_putc(sb, (char)(0xF0u | (cp >> 18)));
        sb_putc(sb, (char)(0x80u | ((cp >> 12) & 0x3Fu)));
        sb_putc(sb, (char)(0x80u | ((cp >> 6) & 0x3Fu)));
        sb_putc(sb, (char)(0x80u | (cp & 0x3Fu)));
    }
}

/* A string at the current position.  With out != NULL the decoded bytes
 * are returned there (malloc'd, NUL-terminated; *out_len bytes, which may
 * include NULs from \u0000); with out == NULL it is only checked. */
static int read_string(json_reader *r, char **out, size_t *out_len)
{
    if (!expect(r, '"', "expected a string"))
        return 0;
    strbuf sb = STRBUF_INIT;
    for (;;) {
        if (r->pos >= r->len) {
            sb_free(&sb);
            return syntax_error(r, "unterminated string");
        }
        unsigned char c = (unsigned char)r->s[r->pos];
        if (c == '"') {
            ++r->pos;
            break;
        }
        if (c < 0x20u) {
            sb_free(&sb);
            return syntax_error(r, "control character in a string");
        }
        if (c != '\\') {
            /* Copy the run of plain bytes at once. */
            size_t start = r->pos;
            while (r->pos < r->len) {
                unsigned char d = (unsigned char)r->s[r->pos];
                if (d == '"' || d == '\\' || d < 0x20u)
                    break;
                ++r->pos;
            }
            if (out != NULL)
                sb_putn(&sb, r->s + start, r->pos - start);
            continue;
        }
        ++r->pos; /* the backslash */
        if (r->pos >= r->len) {
            sb_free(&sb);
            return syntax_error(r, "unterminated string");
        }
        char esc = r->s[r->pos++];
        unsigned cp = 0;
        switch (esc) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (!hex4(r, &cp)) {
                sb_free(&sb);
                return 0;
            }
            if (cp >= 0xD800u && cp <= 0xDBFFu) {
                /* A high surrogate must be followed by a low one. */
                unsigned lo = 0;
                if (r->len - r->pos < 2 || r->s[r->pos] != '\\' ||
                    r->s[r->pos + 1] != 'u') {
                    sb_free(&sb);
                    return syntax_error(r, "unpaired surrogate in a \\u escape");
                }
                r->pos += 2;
                if (!hex4(r, &lo)) {
                    sb_free(&sb);
                    return 0;
                }
                if (lo < 0xDC00u || lo > 0xDFFFu) {
                    sb_free(&sb);
                    return syntax_error(r, "unpaired surrogate in a \\u escape");
                }
                cp = 0x10000u + ((cp - 0xD800u) << 10) + (lo - 0xDC00u);
            } else if (cp >= 0xDC00u && cp <= 0xDFFFu) {
                sb_free(&sb);
                return syntax_error(r, "unpaired surrogate in a \\u escape");
            }
            break;
        default:
            --r->pos;
            sb_free(&sb);
            return syntax_error(r, "bad escape in a string");
        }
        if (out != NULL)
            put_utf8(&sb, cp);
    }
    if (out == NULL)
        return 1;
    if (sb.oom || !sb_reserve(&sb, 0)) { /* sb_reserve: "" needs a buffer */
        sb_free(&sb);
        r->err->oom = 1;
        return 0;
    }
    *out = sb.buf;
    *out_len = sb.len;
    return 1;
}

/* A number at the current position, checked against the JSON grammar.
 * *index is set when it is a non-negative integer that fits an int64 (the
 * only numbers a shape or data_offsets may hold), with its value in
 * *value. */
static int read_number(json_reader *r, int *index, uint64_t *value)
{
    skip_ws(r);
    const char *s = r->s;
    size_t i = r->pos, n = r->len;
    int negative = 0, integral = 1, overflow = 0;
    uint64_t v = 0;
    if (i < n && s[i] == '-') {
        negative = 1;
        ++i;
    }
    if (i >= n || s[i] < '0' || s[i] > '9')
        return syntax_error(r, "expected a value");
    if (s[i] == '0') {
        ++i;
    } else {
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            unsigned d = (unsigned)(s[i] - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10u)
                overflow = 1;
            else
                v = v * 10u + d;
            ++i;
        }
    }
    if (i < n && s[i] == '.') {
        integral = 0;
        ++i;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            r->pos = i;
            return syntax_error(r, "expected a digit after '.'");
        }
        while (i < n && s[i] >= '0' && s[i] <= '9')
            ++i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            ++i;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            r->pos = i;
            return syntax_error(r, "expected a digit in the exponent");
        }
        while (i < n && s[i] >= '0' && s[i] <= '9')
            ++i;
    }
    r->pos = i;
    *index = !negative && integral && !overflow;
    *value = v;
    return 1;
}

/* Reads the literal word (true, false, null). */
static int read_literal(json_reader *r, const char *word)
{
    size_t n = strlen(word);
    skip_ws(r);
    if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
        return syntax_error(r, "expected a value");
    r->pos += n;
    return 1;
}

/* Checks and skips any value. */
static int skip_value(json_reader *r)
{
    char c = peek(r);
    if (c == '"')
        return read_string(r, NULL, NULL);
    if (c == 't')
        return read_literal(r, "true");
    if (c == 'f')
        return read_literal(r, "false");
    if (c == 'n')
        return read_literal(r, "null");
    if (c != '{' && c != '[') {
        int index;
        uint64_t value;
        return read_number(r, &index, &value);
    }
    if (++r->depth > JSON_MAX_DEPTH)
        return syntax_error(r, "nested too deeply");
    ++r->pos;
    char close = (c == '{') ? '}' : ']';
    if (peek(r) == close) {
        ++r->pos;
        --r->depth;
        return 1;
    }
    for (;;) {
        if (c == '{') {
            if (!read_string(r, NULL, NULL) ||
                !expect(r, ':', "expected ':' after a key"))
                return 0;
        }
        if (!skip_value(r))
            return 0;
        int more = next_item(r, close);
        if (more < 0)
            return 0;
        if (!more)
            break;
    }
    --r->depth;
    return 1;
}

/* A list of non-negative integers ("shape", "data_offsets"); returns 0
 * with `*shape_error` set when the value is valid JSON of the wrong kind
 * (the caller words that message), 0 with the message in err for a syntax
 * error or no memory. */
static int read_index_list(json_reader *r, int64_t **out, size_t *count,
                           int *shape_error)
{
    *shape_error = 0;
    *out = NULL;
    *count = 0;
    if (peek(r) != '[') {
        *shape_error = 1;
        return 0;
    }
    ++r->pos;
    size_t len = 0, cap = 0;
    int64_t *items = NULL;
    if (peek(r) == ']') {
        ++r->pos;
    } else {
        for (;;) {
            char c = peek(r);
            int index = 0;
            uint64_t value = 0;
            if (c != '-' && (c < '0' || c > '9')) {
                *shape_error = 1;
                free(items);
                return 0;
            }
            if (!read_number(r, &index, &value)) {
                free(items);
                return 0;
            }
            if (!index) {
                *shape_error = 1;
                free(items);
                return 0;
            }
            if (len == cap) {
                cap = cap ? cap * 2 : 4;
                int64_t *p = realloc(items, cap * sizeof *p);
                if (p == NULL) {
                    free(items);
                    r->err->oom = 1;
                    return 0;
                }
                items = p;
            }
            items[len++] = (int64_t)value;
            int more = next_item(r, ']');
            if (more < 0) {
                free(items);
                return 0;
            }
            if (!more)
                break;
        }
    }
    *out = items;
    *count = len;
    return 1;
}

static int key_is(const char *key, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(key, word, len) == 0;
}

/* One tensor entry: {"dtype": ..., "shape": [...], "data_offsets": [b, e]}
 * (any order; unknown members skipped). */
static int read_entry(json_reader *r, st_entry *e)
{
    if (peek(r) != '{')
        return malformed_entry(r, e, "the entry is not an object");
    ++r->pos;
    if (peek(r) == '}') {
        ++r->pos;
    } else {
        for (;;) {
            char *key = NULL;
            size_t key_len = 0;
            if (!read_string(r, &key, &key_len))
                return 0;
            int ok = expect(r, ':', "expected ':' after a key");
            int is_dtype = key_is(key, key_len, "dtype");
            int is_shape = key_is(key, key_len, "shape");
            int is_offsets = key_is(key, key_len, "data_offsets");
            if (ok && ((is_dtype && e->dtype != NULL) ||
                       (is_shape && e->have_shape) ||
                       (is_offsets && e->have_offsets))) {
                ok = malformed_entry(r, e, "'%s' appears twice", key);
            }
            free(key);
            if (!ok)
                return 0;
            if (is_dtype) {
                if (peek(r) != '"')
                    return malformed_entry(r, e, "'dtype' is not a string");
                if (!read_string(r, &e->dtype, &e->dtype_len))
                    return 0;
            } else if (is_shape) {
                int wrong = 0;
                if (!read_index_list(r, &e->shape, &e->rank, &wrong))
                    return wrong ? malformed_entry(r, e, "'shape' is not a "
                                                   "list of non-negative "
                                                   "integers")
                                 : 0;
                e->have_shape = 1;
            } else if (is_offsets) {
                int wrong = 0;
                int64_t *offsets = NULL;
                size_t n = 0;
                if (!read_index_list(r, &offsets, &n, &wrong) && !wrong)
                    return 0;
                if (wrong || n != 2) {
                    free(offsets);
                    return malformed_entry(r, e, "'data_offsets' is not a "
                                           "pair of non-negative integers");
                }
                e->begin = (uint64_t)offsets[0];
                e->end = (uint64_t)offsets[1];
                free(offsets);
                e->have_offsets = 1;
            } else if (!skip_value(r)) {
                return 0;
            }
            int more = next_item(r, '}');
            if (more < 0)
                return 0;
            if (!more)
                break;
        }
    }
    if (e->dtype == NULL)
        return malformed_entry(r, e, "no 'dtype'");
    if (!e->have_shape)
        return malformed_entry(r, e, "no 'shape'");
    if (!e->have_offsets)
        return malformed_entry(r, e, "no 'data_offsets'");
    return 1;
}

/* "__metadata__": an object of strings (as the format defines it). */
static int read_metadata(json_reader *r)
{
    if (peek(r) != '{')
        return malformed(r, "'__metadata__' is not an object of strings");
    ++r->pos;
    if (peek(r) == '}') {
        ++r->pos;
        return 1;
    }
    for (;;) {
        if (!read_string(r, NULL, NULL) ||
            !expect(r, ':', "expected ':' after a key"))
            return 0;
        if (peek(r) != '"')
            return malformed(r, "'__metadata__' is not an object of strings");
        if (!read_string(r, NULL, NULL))
            return 0;
        int more = next_item(r, '}');
        if (more <= 0)
            return more == 0;
    }
}

static int entry_name_cmp(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = n ? memcmp(x->name, y->name, n) : 0;
    if (c != 0)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Parses the whole header into entries, sorted by name (byte order). */
static int read_header(json_reader *r, st_entries *es)
{
    int have_metadata = 0;
    if (peek(r) != '{')
        return malformed(r, "the header is not a JSON object");
    ++r->pos;
    if (peek(r) == '}') {
        ++r->pos;
    } else {
        for (;;) {
            char *key = NULL;
            size_t key_len = 0;
            if (!read_string(r, &key, &key_len))
                return 0;
            if (!expect(r, ':', "expected ':' after a key")) {
                free(key);
                return 0;
            }
            if (key_is(key, key_len, "__metadata__")) {
                free(key);
                if (have_metadata)
                    return malformed(r, "'__metadata__' appears twice");
                have_metadata = 1;
                if (!read_metadata(r))
                    return 0;
            } else {
                if (es->len == es->cap) {
                    size_t cap = es->cap ? es->cap * 2 : 8;
                    st_entry *p = realloc(es->items, cap * sizeof *p);
                    if (p == NULL) {
                        free(key);
                        r->err->oom = 1;
                        return 0;
                    }
                    es->items = p;
                    es->cap = cap;
                }
                st_entry *e = &es->items[es->len++];
                memset(e, 0, sizeof *e);
                e->name = key;
                e->name_len = key_len;
                if (!read_entry(r, e))
                    return 0;
            }
            int more = next_item(r, '}');
            if (more < 0)
                return 0;
            if (!more)
                break;
        }
    }
    skip_ws(r); /* the padding */
    if (r->pos != r->len)
        return syntax_error(r, "unexpected data after the header object");
    if (es->len > 1)
        qsort(es->items, es->len, sizeof *es->items, entry_name_cmp);
    for (size_t i = 1; i < es->len; ++i) {
        if (entry_name_cmp(&es->items[i - 1], &es->items[i]) == 0)
            return malformed_entry(r, &es->items[i], "the name appears twice");
    }
    return 1;
}

/* ======================================================================== */
/* safetensors: reading                                                     */
/* ======================================================================== */

static uint64_t load_le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | b[i];
    return v;
}

static uint32_t load_le32(const unsigned char *b)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | b[i];
    return v;
}

/* Bytes per element of the dtypes NOMA reads; 0 for any other. */
static size_t dtype_size(const st_entry *e)
{
    if (key_is(e->dtype, e->dtype_len, "F64"))
        return 8;
    if (key_is(e->dtype, e->dtype_len, "F32"))
        return 4;
    return 0;
}

/* Appends "W1, W2, b" (the entries are sorted); a long list is cut after
 * 20 names, since a message is one line. */
static void sb_put_names(strbuf *sb, const st_entries *es)
{
    size_t shown = es->len < 20 ? es->len : 20;
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0)
            sb_puts(sb, ", ");
        sb_put_text(sb, es->items[i].name, es->items[i].name_len, 0);
    }
    if (shown < es->len)
        sb_printf(sb, ", and %llu more", (unsigned long long)(es->len - shown));
}

/* Picks the entry to load; NULL with the message in err. */
static const st_entry *select_entry(const char *path, const st_entries *es,
                                    const char *want, size_t want_len,
                                    int exact, strbuf *err)
{
    sb_put_text(err, path, strlen(path), 0);
    if (want_len == 0) {
        if (es->len == 1) {
            sb_free(err);
            return &es->items[0];
        }
        if (es->len == 0) {
            sb_puts(err, " holds no tensors");
        } else {
            sb_printf(err, " holds %llu tensors (", (unsigned long long)es->len);
            sb_put_names(err, es);
            sb_puts(err, "); name the one to load");
        }
        return NULL;
    }
    for (size_t i = 0; i < es->len; ++i) {
        if (es->items[i].name_len == want_len &&
            memcmp(es->items[i].name, want, want_len) == 0) {
            sb_free(err);
            return &es->items[i];
        }
    }
    /* `load_safetensors W = "w.safetensors"` names the variable; a file
     * with a single tensor of another name still gives that tensor.  Not
     * when the name was written out (`--arg X=w.safetensors:W`). */
    if (es->len == 1 && !exact) {
        sb_free(err);
        return &es->items[0];
    }
    sb_puts(err, " has no tensor ");
    sb_put_quoted(err, want, want_len, 0);
    if (es->len == 0) {
        sb_puts(err, " (it holds no tensors)");
    } else {
        sb_puts(err, " (it has: ");
        sb_put_names(err, es);
        sb_putc(err, ')');
    }
    return NULL;
}

/* "w.safetensors: tensor 'W' " */
static void tensor_prefix(strbuf *err, const char *path, const st_entry *e)
{
    sb_put_text(err, path, strlen(path), 0);
    sb_puts(err, ": tensor ");
    sb_put_quoted(err, e->name, e->name_len, 0);
    sb_putc(err, ' ');
}

/* Checks dtype, rank and extent of the entry to load; on success *count is
 * its element count and *nbytes its data size. */
static int check_entry(json_reader *r, const st_entry *e, int64_t rank,
                       size_t *count, uint64_t *nbytes)
{
    strbuf *err = r->err;
    size_t elsize = dtype_size(e);
    if (elsize == 0) {
        tensor_prefix(err, r->path, e);
        sb_puts(err, "has dtype ");
        sb_put_text(err, e->dtype, e->dtype_len, 40);
        sb_puts(err, "; NOMA reads F64 and F32");
        return 0;
    }
    if ((uint64_t)rank != e->rank) {
        tensor_prefix(err, r->path, e);
        sb_puts(err, "has shape ");
        sb_put_shape(err, e->shape, e->rank);
        sb_puts(err, ", where the program expects ");
        sb_put_rank_phrase(err, rank);
        return 0;
    }
    /* Elements, then bytes, without overflow: a zero dimension makes the
     * product 0 whatever the others are. */
    uint64_t n = 1;
    int zero = 0, overflow = 0;
    for (size_t i = 0; i < e->rank; ++i) {
        uint64_t d = (uint64_t)e->shape[i];
        if (d == 0)
            zero = 1;
        else if (n > UINT64_MAX / d)
            overflow = 1;
        else
            n *= d;
    }
    if (zero)
        n = 0;
    else if (overflow || n > UINT64_MAX / elsize)
        return malformed_entry(r, e, "its shape has too many elements");
    uint64_t want = n * elsize;
    if (e->end - e->begin != want) {
        malformed_entry(r, e, "dtype %s and shape ", elsize == 8 ? "F64" : "F32");
        sb_put_shape(err, e->shape, e->rank);
        sb_printf(err, " take %llu bytes, but data_offsets [%llu, %llu] span "
                  "%llu", (unsigned long long)want, (unsigned long long)e->begin,
                  (unsigned long long)e->end,
                  (unsigned long long)(e->end - e->begin));
        return 0;
    }
    /* The data is in the file (checked by the caller), so it fits memory's
     * address range; the check keeps 32-bit size_t honest. */
    if (n > SIZE_MAX / sizeof(double)) {
        err->oom = 1;
        return 0;
    }
    *count = (size_t)n;
    *nbytes = want;
    return 1;
}

/* Reads nbytes of e's data from f (positioned) and converts them. */
static double *read_tensor_data(FILE *f, const st_entry *e, size_t count,
                                int *read_errno)
{
    size_t elsize = dtype_size(e);
    if (count > SIZE_MAX / sizeof(double))
        return NULL; /* reported as out of memory */
    double *out = malloc((count ? count : 1) * sizeof *out);
    if (out == NULL)
        return NULL;
    unsigned char chunk[1u << 14];
    size_t per_chunk = sizeof chunk / elsize;
    size_t done = 0;
    while (done < count) {
        size_t n = count - done < per_chunk ? count - done : per_chunk;
        errno = 0;
        if (fread(chunk, elsize, n, f) != n) {
            /* The file shrank since we measured it, or a read error. */
            *read_errno = ferror(f) ? (errno ? errno : EIO) : EIO;
            free(out);
            return NULL;
        }
        for (size_t i = 0; i < n; ++i) {
            const unsigned char *b = chunk + i * elsize;
            if (elsize == 8) {
                uint64_t bits = load_le64(b);
                memcpy(&out[done + i], &bits, sizeof bits);
            } else {
                uint32_t bits = load_le32(b);
                float x;
                memcpy(&x, &bits, sizeof x);
                out[done + i] = (double)x; /* exact */
            }
        }
        done += n;
    }
    return out;
}

static loaded_tensor *read_safetensors(const char *path, const char *want,
                                       size_t want_len, int exact,
                                       int64_t rank, strbuf *err)
{
    struct stat st;
    FILE *f = open_for_reading(path, &st, err);
    if (f == NULL)
        return NULL;
    char *header = NULL;
    char *stream = NULL; /* the whole of a pipe or FIFO */
    st_entries es = {NULL, 0, 0};
    loaded_tensor *t = NULL;
    json_reader r = {path, NULL, 0, 0, 0, err};
    uint64_t file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    unsigned char lenbuf[8];
    int e = 0;

    if (!S_ISREG(st.st_mode)) {
        /* The tensor is found by seeking, which pipes cannot do: read the
         * stream to its end, then seek in memory. */
        size_t stream_len = 0;
        stream = read_stream(f, &st, path, &stream_len, err);
        f = NULL;
        if (stream == NULL)
            goto done;
        file_size = stream_len;
        if (stream_len > 0 && (f = fmemopen(stream, stream_len, "rb")) == NULL) {
            err->oom = 1;
            goto done;
        }
    }
    if (file_size < 8) {
        malformed(&r, "the file has %llu bytes, fewer than the 8 of the "
                  "header length", (unsigned long long)file_size);
        goto done;
    }
    errno = 0;
    if (fread(lenbuf, 1, 8, f) != 8) {
        e = ferror(f) && errno ? errno : EIO;
        cannot(err, "read", path, strlen(path), e);
        goto done;
    }
    uint64_t n = load_le64(lenbuf);
    if (n > SAFETENSORS_MAX_HEADER) {
        malformed(&r, "header length %llu is over the limit of %u bytes",
                  (unsigned long long)n, SAFETENSORS_MAX_HEADER);
        goto done;
    }
    if (n > file_size - 8) {
        malformed(&r, "header length %llu goes past the end of the file "
                  "(%llu bytes)", (unsigned long long)n,
                  (unsigned long long)file_size);
        goto done;
    }
    header = malloc((size_t)n + 1);
    if (header == NULL) {
        err->oom = 1;
        goto done;
    }
    errno = 0;
    if (fread(header, 1, (size_t)n, f) != (size_t)n) {
        e = ferror(f) && errno ? errno : EIO;
        cannot(err, "read", path, strlen(path), e);
        goto done;
    }
    header[n] = '\0';
    r.s = header;
    r.len = (size_t)n;
    if (!read_header(&r, &es))
        goto done;

    /* Every tensor's bytes must lie in the data section, not just the one
     * we load: otherwise the file is damaged and the others are wrong. */
    uint64_t data_size = file_size - 8 - n;
    for (size_t i = 0; i < es.len; ++i) {
        const st_entry *x = &es.items[i];
        if (x->begin > x->end) {
            malformed_entry(&r, x, "data_offsets [%llu, %llu] run backwards",
                            (unsigned long long)x->begin,
                            (unsigned long long)x->end);
            goto done;
        }
        if (x->end > data_size) {
            malformed_entry(&r, x, "data_offsets [%llu, %llu] go past the end "
                            "of the data (%llu bytes)",
                            (unsigned long long)x->begin,
                            (unsigned long long)x->end,
                            (unsigned long long)data_size);
            goto done;
        }
    }

    const st_entry *entry = select_entry(path, &es, want, want_len, exact, err);
    if (entry == NULL)
        goto done;
    size_t count = 0;
    uint64_t nbytes = 0;
    if (!check_entry(&r, entry, rank, &count, &nbytes))
        goto done;
    uint64_t at = 8 + n + entry->begin;
    errno = 0;
    if (at > (uint64_t)INT64_MAX || (uint64_t)(off_t)at != at ||
        fseeko(f, (off_t)at, SEEK_SET) != 0) {
        cannot(err, "read", path, strlen(path), errno ? errno : EINVAL);
        goto done;
    }
    int read_errno = 0;
    double *data = read_tensor_data(f, entry, count, &read_errno);
    if (data == NULL) {
        if (read_errno != 0)
            cannot(err, "read", path, strlen(path), read_errno);
        else
            err->oom = 1;
        goto done;
    }
    t = loaded_new(entry->shape, entry->rank, data, count);
    if (t == NULL) {
        free(data);
        err->oom = 1;
    }
done:
    if (f != NULL)
        fclose(f);
    free(stream);
    free(header);
    entries_free(&es);
    return t;
}

/* ======================================================================== */
/* main's parameters                                                        */
/* ======================================================================== */

/* A file (path) or an in-memory tensor (data, borrowed, with its own copy
 * of the dims) for one of main's parameters. */
typedef struct {
    char *name;
    char *path;
    const double *data;
    int64_t *dims;
    size_t rank;
} arg_entry;

static struct {
    arg_entry *items;
    size_t len, cap;
} args_table = {NULL, 0, 0};

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* Records what main's parameter `name` is given: a file (path, copied) or
 * a tensor (data borrowed, dims copied); whatever it had before is
 * forgotten.  Neither (path and data NULL): the name is forgotten. */
static void record_arg(const char *name, const char *path, const double *data,
                       const int64_t *dims, size_t rank)
{
    if (name == NULL)
        return;
    size_t i = 0;
    while (i < args_table.len && strcmp(args_table.items[i].name, name) != 0)
        ++i;
    if (i < args_table.len) { /* forget the old value */
        free(args_table.items[i].path);
        free(args_table.items[i].dims);
        if (path == NULL && data == NULL) {
            free(args_table.items[i].name);
            args_table.items[i] = args_table.items[--args_table.len];
            return;
        }
    } else if (path == NULL && data == NULL) {
        return;
    }
    arg_entry e = {NULL, NULL, data, NULL, rank};
    e.path = path != NULL ? dup_cstr(path) : NULL;
    e.dims = data != NULL ? malloc((rank ? rank : 1) * sizeof *e.dims) : NULL;
    int ok = path != NULL ? e.path != NULL : e.dims != NULL;
    if (ok && data != NULL && rank > 0)
        memcpy(e.dims, dims, rank * sizeof *e.dims);
    if (ok && i == args_table.len) {
        e.name = dup_cstr(name);
        ok = e.name != NULL;
        if (ok && args_table.len == args_table.cap) {
            size_t cap = args_table.cap ? args_table.cap * 2 : 8;
            arg_entry *p = realloc(args_table.items, cap * sizeof *p);
            ok = p != NULL;
            if (ok) {
                args_table.items = p;
                args_table.cap = cap;
            }
        }
        if (ok)
            ++args_table.len;
    } else if (ok) {
        e.name = args_table.items[i].name;
    }
    if (!ok) {
        if (i < args_table.len) { /* the name is forgotten */
            free(args_table.items[i].name);
            args_table.items[i] = args_table.items[--args_table.len];
        } else {
            free(e.name);
        }
        free(e.path);
        free(e.dims);
        fail_out_of_memory();
    }
    args_table.items[i] = e;
}

void noma_set_arg(const char *name, const char *path)
{
    record_arg(name, path, NULL, NULL, 0);
}

void noma_set_arg_array(const char *name, const double *data, int64_t rank,
                        const int64_t *dims)
{
    if (data == NULL || rank < 0)
        fail_internal("an array of rank %lld for main's parameter", (long long)rank);
    record_arg(name, NULL, data, dims, (size_t)rank);
}

void noma_clear_args(void)
{
    for (size_t i = 0; i < args_table.len; ++i) {
        free(args_table.items[i].name);
        free(args_table.items[i].path);
        free(args_table.items[i].dims);
    }
    free(args_table.items);
    args_table.items = NULL;
    args_table.len = args_table.cap = 0;
}

static const arg_entry *find_arg(const char *name, size_t name_len)
{
    for (size_t i = 0; i < args_table.len; ++i) {
        const char *n = args_table.items[i].name;
        if (strlen(n) == name_len && memcmp(n, name, name_len) == 0)
            return &args_table.items[i];
    }
    return NULL;
}

static int64_t dims_elements(const int64_t *dims, size_t rank);

/* A loaded tensor copied from a recorded array, or NULL with the error in
 * err (its rank is not `rank`, or out of memory). */
static loaded_tensor *load_array_arg(const arg_entry *a, const char *name,
                                     size_t name_len, int64_t rank,
                                     strbuf *err)
{
    if ((int64_t)a->rank != rank) {
        sb_puts(err, "the array given for main's parameter ");
        sb_put_quoted(err, name, name_len, 0);
        sb_puts(err, " is ");
        sb_put_rank_phrase(err, (int64_t)a->rank);
        sb_puts(err, ", where the program expects ");
        sb_put_rank_phrase(err, rank);
        return NULL;
    }
    int64_t count = dims_elements(a->dims, a->rank);
    double *data = NULL;
    if (count >= 0 && (uint64_t)count <= SIZE_MAX / sizeof *data)
        data = malloc((count ? (size_t)count : 1) * sizeof *data);
    loaded_tensor *t = data ? loaded_new(a->dims, a->rank, data, (size_t)count) : NULL;
    if (t == NULL) {
        free(data);
        err->oom = 1;
        return NULL;
    }
    if (count > 0)
        memcpy(data, a->data, (size_t)count * sizeof *data);
    return t;
}

static int ends_with_safetensors(const char *s, size_t len)
{
    static const char suffix[] = ".safetensors";
    size_t n = sizeof suffix - 1;
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* ======================================================================== */
/* Public loading functions                                                 */
/* ======================================================================== */

int64_t noma_load_csv(char *where_alloc, char *where, int64_t where_offset,
                      int64_t where_size, int64_t where_stride,
                      char *path_alloc, char *path, int64_t path_offset,
                      int64_t path_size, int64_t path_stride)
{
    (void)where_alloc; /* only the aligned pointers address the text */
    (void)path_alloc;
    str_view w = str_arg(where, where_offset, where_size, where_stride);
    strbuf err = STRBUF_INIT;
    char *p = path_dup(str_arg(path, path_offset, path_size, path_stride),
                       "read", &err);
    loaded_tensor *t = p ? read_csv(p, &err) : NULL;
    free(p);
    if (t == NULL)
        fail_at(w, &err);
    return tensor_handle(t, w);
}

/* Tensor `name` of safetensors file `path`; with `exact`, never the
 * file's only tensor in its place. */
static loaded_tensor *read_named_tensor(str_view w, str_view path,
                                        str_view name, int exact,
                                        int64_t rank)
{
    strbuf err = STRBUF_INIT;
    size_t name_len = 0;
    char *n = view_dup(name, &name_len);
    char *p = NULL;
    loaded_tensor *t = NULL;
    if (n == NULL)
        err.oom = 1;
    else
        p = path_dup(path, "read", &err);
    if (p != NULL)
        t = read_safetensors(p, n, name_len, exact, rank, &err);
    free(p);
    free(n);
    if (t == NULL)
        fail_at(w, &err);
    sb_free(&err);
    return t;
}

int64_t noma_load_safetensors(char *where_alloc, char *where,
                              int64_t where_offset, int64_t where_size,
                              int64_t where_stride, char *path_alloc,
                              char *path, int64_t path_offset,
                              int64_t path_size, int64_t path_stride,
                              char *name_alloc, char *name,
                              int64_t name_offset, int64_t name_size,
                              int64_t name_stride, int64_t rank)
{
    (void)where_alloc;
    (void)path_alloc;
    (void)name_alloc;
    if (rank < 0)
        fail_internal("load_safetensors of rank %lld", (long long)rank);
    str_view w = str_arg(where, where_offset, where_size, where_stride);
    loaded_tensor *t = read_named_tensor(
        w, str_arg(path, path_offset, path_size, path_stride),
        str_arg(name, name_offset, name_size, name_stride), 0, rank);
    return tensor_handle(t, w);
}

int64_t noma_load_checkpoint_entry(char *where_alloc, char *where,
                                   int64_t where_offset, int64_t where_size,
                                   int64_t where_stride, char *path_alloc,
                                   char *path, int64_t path_offset,
                                   int64_t path_size, int64_t path_stride,
                                   char *name_alloc, char *name,
                                   int64_t name_offset, int64_t name_size,
                                   int64_t name_stride, int64_t rank)
{
    (void)where_alloc;
    (void)path_alloc;
    (void)name_alloc;
    if (rank < 0)
        fail_internal("load_checkpoint of rank %lld", (long long)rank);
    str_view w = str_arg(where, where_offset, where_size, where_stride);
    loaded_tensor *t = read_named_tensor(
        w, str_arg(path, path_offset, path_size, path_stride),
        str_arg(name, name_offset, name_size, name_stride), 1, rank);
    return tensor_handle(t, w);
}

void noma_check_checkpoint(char *where_alloc, char *where,
                           int64_t where_offset, int64_t where_size,
                           int64_t where_stride, char *path_alloc,
                           char *path, int64_t path_offset, int64_t path_size,
                           int64_t path_stride)
{
    (void)where_alloc;
    (void)path_alloc;
    str_view w = str_arg(where, where_offset, where_size, where_stride);
    str_view pv = str_arg(path, path_offset, path_size, path_stride);
    strbuf err = STRBUF_INIT;
    char *p = path_dup(pv, "read", &err);
    loaded_tensor *t = NULL;
    if (p != NULL)
        t = read_safetensors(p, NOMA_CHECKPOINT_MARKER,
                             sizeof NOMA_CHECKPOINT_MARKER - 1, 1, 1, &err);
    if (p != NULL && t == NULL) {
        /* Say what the file is not before why. */
        strbuf why = err;
        strbuf msg = STRBUF_INIT;
        sb_put_text(&msg, p, strlen(p), 200);
        sb_printf(&msg, " is not a NOMA checkpoint: ");
        sb_putn(&msg, why.buf ? why.buf : "", why.len);
        msg.oom |= why.oom;
        sb_free(&why);
        err = msg;
    } else if (t != NULL && (t->count != 1 || t->data[0] != NOMA_CHECKPOINT_VERSION)) {
        sb_put_text(&err, p, strlen(p), 200);
        sb_printf(&err, " is a NOMA checkpoint of format version %.17g; this NOMA reads version %d",
                  t->count == 1 ? t->data[0] : -1.0, NOMA_CHECKPOINT_VERSION);
        loaded_free(t);
        t = NULL;
    }
    free(p);
    if (t == NULL)
        fail_at(w, &err);
    loaded_free(t);
    sb_free(&err);
}

static int arg_syntax_python = 0;

void noma_set_arg_syntax(int python)
{
    arg_syntax_python = python != 0;
}

int64_t noma_load_arg(char *where_alloc, char *where, int64_t where_offset,
                      int64_t where_size, int64_t where_stride,
                      char *name_alloc, char *name, int64_t name_offset,
                      int64_t name_size, int64_t name_stride, int64_t rank)
{
    (void)where_alloc;
    (void)name_alloc;
    if (rank < 0)
        fail_internal("load_arg of rank %lld", (long long)rank);
    str_view w = str_arg(where, where_offset, where_size, where_stride);
    strbuf err = STRBUF_INIT;
    size_t name_len = 0;
    char *n = view_dup(str_arg(name, name_offset, name_size, name_stride),
                       &name_len);
    if (n == NULL) {
        err.oom = 1;
        fail_at(w, &err);
    }
    const arg_entry *given = find_arg(n, name_len);
    if (given == NULL) {
        sb_puts(&err, "no file for main's parameter ");
        sb_put_quoted(&err, n, name_len, 0);
        if (arg_syntax_python) {
            sb_puts(&err, " (pass run(args={");
            sb_put_quoted(&err, n, name_len, 0);
            sb_puts(&err, ": array_or_path}))");
        } else {
            sb_puts(&err, " (pass --arg ");
            sb_put_text(&err, n, name_len, 0);
            sb_puts(&err, "=FILE)");
        }
        free(n);
        fail_at(w, &err);
    }
    if (given->data != NULL) {
        loaded_tensor *t = load_array_arg(given, n, name_len, rank, &err);
        free(n);
        if (t == NULL)
            fail_at(w, &err);
        return tensor_handle(t, w);
    }
    free(n);
    const char *arg = given->path;

    /* A copy, because "w.safetensors:T" is split in place below. */
    char *file = dup_cstr(arg);
    if (file == NULL) {
        err.oom = 1;
        fail_at(w, &err);
    }
    size_t len = strlen(file);
    loaded_tensor *t = NULL;
    if (ends_with_safetensors(file, len)) {
        t = read_safetensors(file, "", 0, 0, rank, &err);
    } else {
        char *colon = strrchr(file, ':');
        if (colon != NULL && ends_with_safetensors(file, (size_t)(colon - file))) {
            *colon = '\0';
            t = read_safetensors(file, colon + 1, strlen(colon + 1), 1, rank,
                                 &err);
        } else {
            t = read_csv(file, &err);
            if (t != NULL && rank != 2) {
                loaded_free(t);
                t = NULL;
                sb_put_text(&err, file, len, 0);
                sb_puts(&err, " holds a 2-D table, where the program expects ");
                sb_put_rank_phrase(&err, rank);
            }
        }
    }
    free(file);
    if (t == NULL)
        fail_at(w, &err);
    return tensor_handle(t, w);
}

int64_t noma_loaded_dim(int64_t handle, int64_t axis)
{
    loaded_tensor *t = tensor_of(handle);
    if (axis < 0 || (uint64_t)axis >= t->rank)
        fail_internal("axis %lld of a loaded tensor of rank %llu",
                      (long long)axis, (unsigned long long)t->rank);
    return t->dims[axis];
}

void noma_loaded_take(int64_t handle, double *dest_alloc, double *dest_aligned,
                      int64_t dest_offset, int64_t dest_size,
                      int64_t dest_stride)
{
    (void)dest_alloc;
    loaded_tensor *t = tensor_of(handle);
    handle_release(handle);
    if (dest_size < 0 || (uint64_t)dest_size != t->count) {
        size_t count = t->count;
        loaded_free(t);
        fail_internal("a loaded tensor of %llu elements taken into a buffer "
                      "of %lld", (unsigned long long)count,
                      (long long)dest_size);
    }
    if (t->count > 0) {
        double *base = dest_aligned + dest_offset;
        if (dest_stride == 1) {
            memcpy(base, t->data, t->count * sizeof *t->data);
        } else {
            for (size_t i = 0; i < t->count; ++i)
                base[(int64_t)i * dest_stride] = t->data[i];
        }
    }
    loaded_free(t);
}

/* ======================================================================== */
/* Atomic writes                                                            */
/* ======================================================================== */

/*
 * While a temporary file exists, the signals that stop a process by default
 * at a user's request (SIGINT, SIGTERM, SIGHUP) are caught: their arrival
 * abandons the write (the temporary goes, the target stays), and once the
 * temporary is gone the signal is raised again under the disposition the
 * process had (an executable then dies of it, with the conventional status;
 * the JIT's Python sees its own handler run).  SIGXFSZ is ignored meanwhile,
 * so that going over the file-size limit (ulimit -f) makes write() fail
 * with EFBIG, reported like any failed write, instead of killing the
 * process with the temporary left behind.  Signals the process ignores stay
 * ignored.
 */
#define STOP_SIGNAL_COUNT 3
static const int stop_signals[STOP_SIGNAL_COUNT] = {SIGINT, SIGTERM, SIGHUP};
static volatile sig_atomic_t write_stopped_by = 0;

static void note_stop_signal(int sig)
{
    write_stopped_by = sig;
}

typedef struct {
    int active;
    int caught[STOP_SIGNAL_COUNT]; /* installed our handler over old[i] */
    struct sigaction old[STOP_SIGNAL_COUNT];
    struct sigaction old_xfsz;
} signal_guard;

static void guard_begin(signal_guard *g)
{
    struct sigaction note;
    memset(&note, 0, sizeof note);
    note.sa_handler = note_stop_signal;
    sigemptyset(&note.sa_mask);
    struct sigaction ignore = note;
    ignore.sa_handler = SIG_IGN;
    write_stopped_by = 0;
    for (int i = 0; i < STOP_SIGNAL_COUNT; ++i) {
        g->caught[i] = sigaction(stop_signals[i], NULL, &g->old[i]) == 0 &&
                       g->old[i].sa_handler != SIG_IGN &&
                       sigaction(stop_signals[i], &note, NULL) == 0;
    }
    sigaction(SIGXFSZ, &ignore, &g->old_xfsz);
    g->active = 1;
}

/* Puts the old dispositions back, then raises a stop signal that arrived
 * meanwhile (call it once the temporary file is gone). */
static void guard_end(signal_guard *g)
{
    if (!g->active)
        return;
    g->active = 0;
    sigaction(SIGXFSZ, &g->old_xfsz, NULL);
    for (int i = 0; i < STOP_SIGNAL_COUNT; ++i)
        if (g->caught[i])
            sigaction(stop_signals[i], &g->old[i], NULL);
    int sig = write_stopped_by;
    write_stopped_by = 0;
    if (sig != 0)
        raise(sig);
}

/* A file being written: a temporary next to the target, renamed over it by
 * out_commit.  err records the first failure; later writes are skipped. */
typedef struct {
    const char *path;
    char *tmp;      /* the temporary file's name, NULL once gone */
    size_t dir_len; /* bytes of tmp (and path) naming the directory */
    FILE *f;
    int err;
    signal_guard guard; /* active from before the temporary exists */
} atomic_out;

/* The permission bits for the new file: those of the file it replaces, or
 * what open(path, O_CREAT, 0666) would give (0666 less the umask); mkstemp
 * itself creates files 0600. */
static mode_t target_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return st.st_mode & 0777;
    /* There is no call that reads the umask without setting it. */
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

static int out_open(atomic_out *o, const char *path, strbuf *err)
{
    o->path = path;
    o->tmp = NULL;
    o->f = NULL;
    o->err = 0;
    o->guard.active = 0;
    const char *slash = strrchr(path, '/');
    o->dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + o->dir_len;
    /* Keep ".<base>.XXXXXX" within NAME_MAX (255) however long the
     * target's own name is. */
    size_t base_len = strlen(base);
    if (base_len > 200)
        base_len = 200;
    size_t size = o->dir_len + 1 + base_len + 8; /* "." base ".XXXXXX" NUL */
    o->tmp = malloc(size);
    if (o->tmp == NULL) {
        err->oom = 1;
        return 0;
    }
    memcpy(o->tmp, path, o->dir_len);
    o->tmp[o->dir_len] = '.';
    memcpy(o->tmp + o->dir_len + 1, base, base_len);
    memcpy(o->tmp + o->dir_len + 1 + base_len, ".XXXXXX", 8);

    mode_t mode = target_mode(path);
    guard_begin(&o->guard);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        guard_end(&o->guard);
        cannot(err, "write", path, strlen(path), e);
        return 0;
    }
    if (fchmod(fd, mode) != 0 || (o->f = fdopen(fd, "wb")) == NULL) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        guard_end(&o->guard);
        cannot(err, "write", path, strlen(path), e);
        return 0;
    }
    /* Fewer, larger write calls (values are written a few bytes at a
     * time); a failure here only costs speed. */
    setvbuf(o->f, NULL, _IOFBF, 1u << 16);
    return 1;
}

static void out_write(atomic_out *o, const void *p, size_t n)
{
    if (o->err == 0 && write_stopped_by != 0)
        o->err = EINTR;
    if (o->err != 0 || n == 0)
        return;
    errno = 0;
    if (fwrite(p, 1, n, o->f) != n)
        o->err = errno ? errno : EIO;
}

/* Abandons the write: the temporary file goes, the target stays. */
static void out_abort(atomic_out *o)
{
    if (o->f != NULL)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp != NULL) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
    guard_end(&o->guard);
}

/* fsync of the directory, so that the rename itself survives a crash; a
 * failure is not reported: the file is in place already, and some file
 * systems cannot sync a directory at all. */
static void sync_directory(atomic_out *o)
{
    o->tmp[o->dir_len] = '\0';
    const char *dir = o->dir_len ? o->tmp : ".";
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Flushes, syncs, closes and renames into place; on any failure the
 * temporary file is removed and err says why. */
static int out_commit(atomic_out *o, strbuf *err)
{
    int e = o->err;
    errno = 0;
    if (e == 0 && fflush(o->f) != 0)
        e = errno ? errno : EIO;
    if (e == 0 && fsync(fileno(o->f)) != 0)
        e = errno;
    /* fclose flushes nothing more (flushed above) but can still report a
     * deferred error, e.g. from NFS. */
    errno = 0;
    int closed = fclose(o->f);
    o->f = NULL;
    if (e == 0 && closed != 0)
        e = errno ? errno : EIO;
    if (e == 0 && write_stopped_by != 0)
        e = EINTR; /* stopped by a signal: the old file stays */
    if (e == 0 && rename(o->tmp, o->path) != 0)
        e = errno;
    if (e != 0) {
        out_abort(o);
        cannot(err, "write", o->path, strlen(o->path), e);
        return 0;
    }
    sync_directory(o);
    free(o->tmp);
    o->tmp = NULL;
    guard_end(&o->guard);
    return 1;
}

/* ======================================================================== */
/* save_csv                                                                 */
/* ======================================================================== */

/* Copies a shape out of its memref; NULL when out of memory. */
static int64_t *dims_copy(i64_view v, size_t *rank)
{
    size_t n = v.size > 0 ? (size_t)v.size : 0;
    int64_t *d = malloc((n ? n : 1) * sizeof *d);
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < n; ++i)
        d[i] = i64_at(v, i);
    *rank = n;
    return d;
}

/* Element count of a shape, or -1 when a dimension is negative or the
 * product overflows (it then matches no buffer). */
static int64_t dims_elements(const int64_t *dims, size_t rank)
{
    int64_t total = 1;
    int zero = 0, overflow = 0;
    for (size_t i = 0; i < rank; ++i) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] == 0)
            zero = 1;
        else if (total > INT64_MAX / dims[i])
            overflow = 1;
        else
            total *= dims[i];
    }
    if (zero)
        return 0;
    return overflow ? -1 : total;
}

/* dims that do not describe the data: a compiler bug (frees dims). */
NOMA_IO_NORETURN static void fail_shape_mismatch(const char *what,
                                                 int64_t size, int64_t *dims,
                                                 size_t rank)
{
    strbuf full = STRBUF_INIT;
    sb_printf(&full, "runtime error: internal: %s of %lld elements with shape ",
              what, (long long)size);
    sb_put_shape(&full, dims, rank);
    free(dims);
    fail_with_message(&full);
}

static void write_value(atomic_out *o, double x, char after)
{
    char buf[NOMA_F64_REPR_BUFSIZE + 1];
    int n = noma_format_f64(x, buf, NOMA_F64_REPR_BUFSIZE);
    buf[n] = after;
    out_write(o, buf, (size_t)n + 1);
}

void noma_save_csv(char *where_alloc, char *where, int64_t where_offset,
                   int64_t where_size, int64_t where_stride,
                   char *path_alloc, char *path, int64_t path_offset,
                   int64_t path_size, int64_t path_stride, double *data_alloc,
                   double *data, int64_t data_offset, int64_t data_size,
                   int64_t data_stride, int64_t *dims_alloc, int64_t *dims,
                   int64_t dims_offset, int64_t dims_size, int64_t dims_stride)
{
    (void)where_alloc;
    (void)path_alloc;
    (void)data_alloc;
    (void)dims_alloc;
    str_view w = str_arg(where, where_offset, where_size, where_stride);
    f64_view values = {data, data_offset, data_size, data_stride};
    i64_view dv = {dims, dims_offset, dims_size, dims_stride};
    strbuf err = STRBUF_INIT;
    size_t rank = 0;
    int64_t *shape = dims_copy(dv, &rank);
    if (shape == NULL)
        fail_out_of_memory();
    if (dims_elements(shape, rank) != data_size)
        fail_shape_mismatch("save_csv", data_size, shape, rank);
    if (rank > 2) {
        sb_puts(&err, "save_csv writes 1-D and 2-D tensors, not a ");
        sb_put_shape(&err, shape, rank);
        sb_puts(&err, " one");
        free(shape);
        fail_at(w, &err);
    }
    /* Rows of `cols` values; rank 0 and 1 are one value per line. */
    size_t cols = rank == 2 ? (size_t)shape[1] : 1;
    size_t rows = rank == 2 ? (size_t)shape[0] : (size_t)data_size;
    free(shape);

    char *p = path_dup(str_arg(path, path_offset, path_size, path_stride),
                       "write", &err);
    atomic_out o;
    if (p == NULL || !out_open(&o, p, &err)) {
        free(p);
        fail_at(w, &err);
    }
    size_t k = 0;
    for (size_t i = 0; i < rows && o.err == 0; ++i) {
        if (cols == 0)
            out_write(&o, "\n", 1);
        for (size_t j = 0; j < cols; ++j, ++k)
            write_value(&o, f64_at(values, k), j + 1 < cols ? ',' : '\n');
    }
    int ok = out_commit(&o, &err);
    free(p);
    if (!ok)
        fail_at(w, &err);
}

/* ======================================================================== */
/* safetensors: writing                                                     */
/* ======================================================================== */

int64_t noma_safetensors_writer_new(void)
{
    st_writer *w = calloc(1, sizeof *w);
    int64_t h = w ? handle_new(SLOT_WRITER, w) : 0;
    if (h == 0) {
        free(w);
        fail_out_of_memory();
    }
    return h;
}

void noma_safetensors_writer_add(int64_t writer, char *name_alloc, char *name,
                                 int64_t name_offset, int64_t name_size,
                                 int64_t name_stride, double *data_alloc,
                                 double *data, int64_t data_offset,
                                 int64_t data_size, int64_t data_stride,
                                 int64_t *dims_alloc, int64_t *dims,
                                 int64_t dims_offset, int64_t dims_size,
                                 int64_t dims_stride)
{
    (void)name_alloc;
    (void)data_alloc;
    (void)dims_alloc;
    st_writer *w = writer_of(writer);
    i64_view dv = {dims, dims_offset, dims_size, dims_stride};
    f64_view values = {data, data_offset, data_size, data_stride};
    writer_entry e = {NULL, 0, NULL, 0, NULL, 0};
    e.dims = dims_copy(dv, &e.rank);
    if (e.dims == NULL)
        fail_out_of_memory();
    if (dims_elements(e.dims, e.rank) != data_size)
        fail_shape_mismatch("save_safetensors", data_size, e.dims, e.rank);
    e.count = (size_t)data_size;
    e.name = view_dup(str_arg(name, name_offset, name_size, name_stride),
                      &e.name_len);
    /* A private copy: the program may free or overwrite its buffers before
     * the save. */
    e.data = e.count > SIZE_MAX / sizeof *e.data
                 ? NULL
                 : malloc((e.count ? e.count : 1) * sizeof *e.data);
    if (w->len == w->cap && e.name != NULL && e.data != NULL) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        writer_entry *p = realloc(w->items, cap * sizeof *p);
        if (p != NULL) {
            w->items = p;
            w->cap = cap;
        }
    }
    if (e.name == NULL || e.data == NULL || w->len == w->cap) {
        free(e.name);
        free(e.data);
        free(e.dims);
        fail_out_of_memory();
    }
    for (size_t i = 0; i < e.count; ++i)
        e.data[i] = f64_at(values, i);
    w->items[w->len++] = e;
}

static int writer_entry_cmp(const void *a, const void *b)
{
    const writer_entry *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = n ? memcmp(x->name, y->name, n) : 0;
    if (c != 0)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* A JSON string literal. */
static void sb_put_json_string(strbuf *sb, const char *s, size_t n)
{
    sb_putc(sb, '"');
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sb_putc(sb, '\\');
            sb_putc(sb, (char)c);
        } else if (c < 0x20u) {
            sb_printf(sb, "\\u%04x", (unsigned)c);
        } else {
            sb_putc(sb, (char)c);
        }
    }
    sb_putc(sb, '"');
}

/* The header of the sorted entries, padded with spaces to a multiple of 8
 * (so that the data starts 8-byte aligned, as the format recommends). */
static void build_header(strbuf *sb, const st_writer *w)
{
    uint64_t offset = 0;
    sb_putc(sb, '{');
    for (size_t i = 0; i < w->len; ++i) {
        const writer_entry *e = &w->items[i];
        uint64_t nbytes = (uint64_t)e->count * 8u;
        if (i > 0)
            sb_putc(sb, ',');
        sb_put_json_string(sb, e->name, e->name_len);
        sb_puts(sb, ":{\"dtype\":\"F64\",\"shape\":[");
        for (size_t d = 0; d < e->rank; ++d)
            sb_printf(sb, d ? ",%lld" : "%lld", (long long)e->dims[d]);
        sb_printf(sb, "],\"data_offsets\":[%llu,%llu]}",
                  (unsigned long long)offset,
                  (unsigned long long)(offset + nbytes));
        offset += nbytes;
    }
    sb_putc(sb, '}');
    while (sb->len % 8 != 0)
        sb_putc(sb, ' ');
}

/* One tensor's data, little-endian, through a chunk buffer. */
static void write_f64_le(atomic_out *o, const double *data, size_t count)
{
    unsigned char chunk[1u << 14];
    size_t used = 0;
    for (size_t i = 0; i < count; ++i) {
        uint64_t bits;
        memcpy(&bits, &data[i], sizeof bits);
        for (int b = 0; b < 8; ++b)
            chunk[used++] = (unsigned char)(bits >> (8 * b));
        if (used == sizeof chunk) {
            out_write(o, chunk, used);
            used = 0;
        }
    }
    out_write(o, chunk, used);
}

/* The parameters the JIT's main saved last (see noma_exported_parameter):
 * a writer, its entries sorted by name. */
static st_writer *exported_parameters = NULL;

static int is_parameters_sink(str_view path)
{
    static const char sink[] = NOMA_PARAMETERS_SINK;
    size_t n = sizeof sink - 1;
    if (view_len(path) != n)
        return 0;
    for (size_t i = 0; i < n; ++i)
        if (view_at(path, i) != sink[i])
            return 0;
    return 1;
}

static void keep_parameters(st_writer *w)
{
    writer_free(exported_parameters);
    exported_parameters = w;
}

int noma_exported_parameter(int64_t index, const char **name, int64_t *rank,
                            const int64_t **dims, const double **data)
{
    st_writer *w = exported_parameters;
    if (w == NULL || index < 0 || (uint64_t)index >= w->len)
        return 0;
    const writer_entry *e = &w->items[index];
    *name = e->name;
    *rank = (int64_t)e->rank;
    *dims = e->dims;
    *data = e->data;
    return 1;
}

void noma_exported_clear(void)
{
    writer_free(exported_parameters);
    exported_parameters = NULL;
}

void noma_safetensors_writer_save(int64_t writer, char *where_alloc,
                                  char *where, int64_t where_offset,
                                  int64_t where_size, int64_t where_stride,
                                  char *path_alloc, char *path,
                                  int64_t path_offset, int64_t path_size,
                                  int64_t path_stride)
{
    (void)where_alloc;
    (void)path_alloc;
    st_writer *w = writer_of(writer);
    handle_release(writer);
    str_view wh = str_arg(where, where_offset, where_size, where_stride);
    strbuf err = STRBUF_INIT;

    if (w->len > 1)
        qsort(w->items, w->len, sizeof *w->items, writer_entry_cmp);
    for (size_t i = 0; i < w->len; ++i) {
        const writer_entry *e = &w->items[i];
        if (key_is(e->name, e->name_len, "__metadata__")) {
            sb_puts(&err, "save_safetensors: '__metadata__' cannot name a "
                    "tensor");
        } else if (i > 0 && writer_entry_cmp(&w->items[i - 1], e) == 0) {
            sb_puts(&err, "save_safetensors: two tensors are named ");
            sb_put_quoted(&err, e->name, e->name_len, 0);
        } else {
            continue;
        }
        writer_free(w);
        fail_at(wh, &err);
    }

    str_view target = str_arg(path, path_offset, path_size, path_stride);
    if (is_parameters_sink(target)) {
        keep_parameters(w);
        return;
    }

    strbuf header = STRBUF_INIT;
    build_header(&header, w);
    char *p = header.oom ? NULL
                         : path_dup(str_arg(path, path_offset, path_size,
                                            path_stride),
                                    "write", &err);
    if (header.oom)
        err.oom = 1;
    atomic_out o;
    if (p == NULL || !out_open(&o, p, &err)) {
        free(p);
        sb_free(&header);
        writer_free(w);
        fail_at(wh, &err);
    }
    unsigned char lenbuf[8];
    for (int b = 0; b < 8; ++b)
        lenbuf[b] = (unsigned char)((uint64_t)header.len >> (8 * b));
    out_write(&o, lenbuf, sizeof lenbuf);
    out_write(&o, header.buf, header.len);
    for (size_t i = 0; i < w->len && o.err == 0; ++i)
        write_f64_le(&o, w->items[i].data, w->items[i].count);
    int ok = out_commit(&o, &err);
    free(p);
    sb_free(&header);
    writer_free(w);
    if (!ok)
        fail_at(wh, &err);
}

/* ======================================================================== */
/* Guarded calls for the Python side                                        */
/* ======================================================================== */

/* args[i] points to parameter i's value (see noma_io.h). */
#define ARG_I64(a, i) (*(int64_t *)(a)[i])
#define ARG_STR(a, i)                                                       \
    *(char **)(a)[i], *(char **)(a)[(i) + 1], ARG_I64(a, (i) + 2),          \
        ARG_I64(a, (i) + 3), ARG_I64(a, (i) + 4)
#define ARG_F64V(a, i)                                                      \
    *(double **)(a)[i], *(double **)(a)[(i) + 1], ARG_I64(a, (i) + 2),      \
        ARG_I64(a, (i) + 3), ARG_I64(a, (i) + 4)
#define ARG_I64V(a, i)                                                      \
    *(int64_t **)(a)[i], *(int64_t **)(a)[(i) + 1], ARG_I64(a, (i) + 2),    \
        ARG_I64(a, (i) + 3), ARG_I64(a, (i) + 4)

void noma_io_packed_load_csv(void **args)
{
    ARG_I64(args, 10) = noma_load_csv(ARG_STR(args, 0), ARG_STR(args, 5));
}

void noma_io_packed_load_safetensors(void **args)
{
    ARG_I64(args, 16) = noma_load_safetensors(
        ARG_STR(args, 0), ARG_STR(args, 5), ARG_STR(args, 10),
        ARG_I64(args, 15));
}

void noma_io_packed_load_arg(void **args)
{
    ARG_I64(args, 11) = noma_load_arg(ARG_STR(args, 0), ARG_STR(args, 5),
                                      ARG_I64(args, 10));
}

void noma_io_packed_loaded_dim(void **args)
{
    ARG_I64(args, 2) = noma_loaded_dim(ARG_I64(args, 0), ARG_I64(args, 1));
}

void noma_io_packed_loaded_take(void **args)
{
    noma_loaded_take(ARG_I64(args, 0), ARG_F64V(args, 1));
}

void noma_io_packed_save_csv(void **args)
{
    noma_save_csv(ARG_STR(args, 0), ARG_STR(args, 5), ARG_F64V(args, 10),
                  ARG_I64V(args, 15));
}

void noma_io_packed_writer_add(void **args)
{
    noma_safetensors_writer_add(ARG_I64(args, 0), ARG_STR(args, 1),
                                ARG_F64V(args, 6), ARG_I64V(args, 11));
}

void noma_io_packed_writer_save(void **args)
{
    noma_safetensors_writer_save(ARG_I64(args, 0), ARG_STR(args, 1),
                                 ARG_STR(args, 6));
}
