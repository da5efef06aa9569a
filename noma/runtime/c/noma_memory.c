/*
 * noma_memory.c - checks of the buffers compiled code allocates.
 *
 * Compiled code calls noma_check_dims before it converts run-time f64
 * dimensions to integers and allocates (so a NaN, an infinity, a size that
 * would wrap or one no machine can hold is a located runtime error naming
 * the shape), and noma_alloc_failed when a malloc returns NULL.  See
 * noma_runtime.h for the contract.
 *
 * Needs POSIX on top of C11 only for sysconf (the size of physical memory).
 */
#define _POSIX_C_SOURCE 200809L

#include "noma_runtime.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Ranks beyond this are checked in full, but only this many dimensions are
 * remembered for a later malloc failure. */
#define REMEMBERED_RANK 8
/* Bytes of the place remembered ("prog.noma:3:5: "); a longer one is cut. */
#define REMEMBERED_WHERE 512
/* Longest message; a shape of a huge rank is cut at this length. */
#define MESSAGE_SIZE 2048

/* The last noma_check_dims of this thread.  The place is copied: the JIT
 * frees a program's constant strings when the program ends. */
static _Thread_local struct {
    char where[REMEMBERED_WHERE];
    int64_t where_len;
    double dims[REMEMBERED_RANK];
    int64_t rank;
    int64_t bytes; /* 0: nothing remembered */
} last_dims;

/* A message under construction: appends are cut at the buffer's end. */
typedef struct {
    char text[MESSAGE_SIZE];
    size_t len;
} message;

static void append(message *m, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL */
    size_t room = sizeof m->text - 1 - m->len;
    if (n > room)
        n = room;
    memcpy(m->text + m->len, s, n);
    m->len += n;
    m->text[m->len] = '\0';
}

static void append_str(message *m, const char *s)
{
    append(m, s, strlen(s));
}

/* A dimension or byte count as in messages: integral values as integers
 * ("100000000000", not "1e+11"), others as repr ("0.5", "inf", "1e+30"). */
static void append_number(message *m, double x)
{
    char num[64];
    if (isfinite(x) && x == trunc(x) && fabs(x) < 1e21)
        snprintf(num, sizeof num, "%.0f", x);
    else
        noma_format_f64(x, num, (int64_t)sizeof num);
    append_str(m, num);
}

static void append_int(message *m, int64_t x)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)x);
    append_str(m, num);
}

/* "[d0, d1, ...]". */
static void append_shape(message *m, const double *dims, int64_t offset,
                         int64_t rank, int64_t stride)
{
    append_str(m, "[");
    for (int64_t i = 0; i < rank; ++i) {
        if (i > 0)
            append_str(m, ", ");
        append_number(m, dims[offset + i * stride]);
    }
    append_str(m, "]");
}

/* The place of a check ("prog.noma:3:5: "), an expanded memref<?xi8>. */
static void append_where(message *m, const char *aligned, int64_t offset,
                         int64_t size, int64_t stride)
{
    if (aligned == NULL)
        return;
    for (int64_t i = 0; i < size; ++i)
        append(m, aligned + offset + i * stride, 1);
}

/* The bytes of physical memory, or 0 when unknown.  NOMA writes every
 * element of a buffer as soon as it allocates it, so a buffer larger than
 * the machine's memory can never be used.  Read once: sysconf is a system
 * call, and this check runs for every allocation of a run-time size (each
 * growth step). */
static double physical_memory(void)
{
    static double memory = -1.0;
    if (memory < 0.0) {
        long pages = sysconf(_SC_PHYS_PAGES);
        long page_size = sysconf(_SC_PAGESIZE);
        memory = pages <= 0 || page_size <= 0 ? 0.0 : (double)pages * (double)page_size;
    }
    return memory;
}

void noma_check_dims(char *where_alloc, char *where_aligned,
                     int64_t where_offset, int64_t where_size,
                     int64_t where_stride, double *dims_alloc,
                     double *dims_aligned, int64_t dims_offset,
                     int64_t rank, int64_t dims_stride)
{
    (void)where_alloc;
    (void)dims_alloc;
    message m;
    m.len = 0;
    m.text[0] = '\0';
    /* The byte count as a double: every factor is an integer, so the
     * product is exact until it passes 2^53, far above the limit, and
     * rounding never brings a product above the limit back under it. */
    double bytes = 8.0;
    for (int64_t i = 0; i < rank; ++i) {
        double d = dims_aligned[dims_offset + i * dims_stride];
        if (!(d >= 1.0)) {
            append_where(&m, where_aligned, where_offset, where_size,
                         where_stride);
            append_str(&m, "runtime error: a dimension must be at least 1, got ");
            append_number(&m, d);
            noma_rt_fail(m.text);
        }
        if (isinf(d)) {
            append_where(&m, where_aligned, where_offset, where_size,
                         where_stride);
            append_str(&m, "runtime error: cannot allocate a ");
            append_shape(&m, dims_aligned, dims_offset, rank, dims_stride);
            append_str(&m, " buffer: a dimension must be finite");
            noma_rt_fail(m.text);
        }
        bytes *= trunc(d);
    }
    double memory = physical_memory();
    if (bytes > (double)NOMA_MAX_BUFFER_BYTES || (memory > 0.0 && bytes > memory)) {
        append_where(&m, where_aligned, where_offset, where_size, where_stride);
        append_str(&m, "runtime error: cannot allocate a ");
        append_shape(&m, dims_aligned, dims_offset, rank, dims_stride);
        append_str(&m, " buffer: it needs ");
        append_number(&m, bytes);
        if (bytes > (double)NOMA_MAX_BUFFER_BYTES) {
            append_str(&m, " bytes, more than the limit of ");
            append_number(&m, (double)NOMA_MAX_BUFFER_BYTES);
            append_str(&m, " bytes (2^48)");
        } else {
            append_str(&m, " bytes, more than the memory of this machine (");
            append_number(&m, memory);
            append_str(&m, " bytes)");
        }
        noma_rt_fail(m.text);
    }
    /* Remembered for noma_alloc_failed. */
    int64_t n = where_size < REMEMBERED_WHERE ? where_size : REMEMBERED_WHERE;
    if (where_aligned == NULL || n < 0)
        n = 0;
    for (int64_t i = 0; i < n; ++i)
        last_dims.where[i] = where_aligned[where_offset + i * where_stride];
    last_dims.where_len = n;
    last_dims.rank = rank;
    for (int64_t i = 0; i < rank && i < REMEMBERED_RANK; ++i)
        last_dims.dims[i] = dims_aligned[dims_offset + i * dims_stride];
    last_dims.bytes = (int64_t)bytes;
}

void noma_alloc_failed(int64_t bytes, const char *where, int64_t where_len)
{
    message m;
    m.len = 0;
    m.text[0] = '\0';
    if (where == NULL || where_len < 0)
        where_len = 0;
    append(&m, where, (size_t)where_len);
    /* The shape is known when this allocation is the one the last check at
     * the same place asked for. */
    if (bytes > 0 && bytes == last_dims.bytes && where_len == last_dims.where_len &&
        memcmp(where, last_dims.where, (size_t)where_len) == 0) {
        append_str(&m, "runtime error: cannot allocate a ");
        int64_t shown = last_dims.rank < REMEMBERED_RANK ? last_dims.rank
                                                         : REMEMBERED_RANK;
        append_shape(&m, last_dims.dims, 0, shown, 1);
        if (shown < last_dims.rank)
            append_str(&m, " (first dimensions)");
        append_str(&m, " buffer: out of memory (");
        append_int(&m, bytes);
        append_str(&m, " bytes)");
    } else if (bytes < 0) {
        append_str(&m, "runtime error: out of memory: the size of a buffer "
                       "overflows 64 bits");
    } else {
        append_str(&m, "runtime error: out of memory: cannot allocate ");
        append_int(&m, bytes);
        append_str(&m, " bytes");
    }
    noma_rt_fail(m.text);
}
