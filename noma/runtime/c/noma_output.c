/*
 * noma_output.c - where the runtime prints: stdout and stderr, or a
 * callback (see noma_rt_set_output in noma_runtime.h).
 *
 * The Python API hands the runtime a callback that writes to Python's
 * sys.stdout and sys.stderr, so that what a program prints lands where
 * contextlib.redirect_stdout, pytest's capsys or a notebook cell catch it.
 * A C stream whose writes call a function is not standard C: glibc and musl
 * have fopencookie, the BSDs and macOS funopen.  Elsewhere the runtime
 * keeps printing to the file descriptors.
 */
#define _GNU_SOURCE /* fopencookie */

#include "noma_runtime.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#if defined(__GLIBC__) || defined(__linux__)
#define NOMA_HAVE_FOPENCOOKIE 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#define NOMA_HAVE_FUNOPEN 1
#endif

/* The callback and the two streams that call it (NULL: not redirected). */
static noma_output_fn output_fn = NULL;
static FILE *redirected_out = NULL;
static FILE *redirected_err = NULL;

/* Whoever asks for a stream is about to print: a progress line on the
 * screen goes first (noma_progress.c). */
FILE *noma_rt_stdout(void)
{
    noma_rt_progress_interrupt();
    return redirected_out != NULL ? redirected_out : stdout;
}

FILE *noma_rt_stderr(void)
{
    noma_rt_progress_interrupt();
    return redirected_err != NULL ? redirected_err : stderr;
}

/* Hands the bytes to the callback; the cookie is the stream number. */
static int forward(void *cookie, const char *data, size_t size)
{
    int stream = (int)(intptr_t)cookie;
    if (output_fn == NULL || output_fn(stream, data, (int64_t)size) != 0) {
        errno = EIO;
        return -1;
    }
    return 0;
}

#if defined(NOMA_HAVE_FOPENCOOKIE)
static ssize_t cookie_write(void *cookie, const char *data, size_t size)
{
    return forward(cookie, data, size) == 0 ? (ssize_t)size : -1;
}

static FILE *open_forwarding_stream(int stream)
{
    cookie_io_functions_t io = {NULL, cookie_write, NULL, NULL};
    return fopencookie((void *)(intptr_t)stream, "w", io);
}
#elif defined(NOMA_HAVE_FUNOPEN)
static int funopen_write(void *cookie, const char *data, int size)
{
    return forward(cookie, data, (size_t)size) == 0 ? size : -1;
}

static FILE *open_forwarding_stream(int stream)
{
    return funopen((void *)(intptr_t)stream, NULL, funopen_write, NULL, NULL);
}
#else
static FILE *open_forwarding_stream(int stream)
{
    (void)stream;
    return NULL;
}
#endif

/* Flushes and closes the forwarding streams (with the callback still set,
 * so what they hold reaches it), then forgets the callback. */
static void close_redirection(void)
{
    FILE *out = redirected_out, *err = redirected_err;
    redirected_out = redirected_err = NULL;
    if (out != NULL)
        fclose(out);
    if (err != NULL)
        fclose(err);
    output_fn = NULL;
}

int noma_rt_set_output(noma_output_fn write)
{
    fflush(noma_rt_stdout());
    fflush(noma_rt_stderr());
    close_redirection();
    if (write == NULL)
        return 0;
    FILE *out = open_forwarding_stream(1);
    FILE *err = open_forwarding_stream(2);
    if (out == NULL || err == NULL) {
        if (out != NULL)
            fclose(out);
        if (err != NULL)
            fclose(err);
        return -1;
    }
    /* Line-buffered, so that a notebook shows each line as it is printed,
     * and a diagnostic (one line) arrives whole. */
    setvbuf(out, NULL, _IOLBF, BUFSIZ);
    setvbuf(err, NULL, _IOLBF, BUFSIZ);
    output_fn = write;
    redirected_out = out;
    redirected_err = err;
    return 0;
}
