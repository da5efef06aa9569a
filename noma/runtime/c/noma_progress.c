/*
 * noma_progress.c - the live progress line of a long optimize loop.
 *
 * Compiled code calls noma_progress_begin before an optimize loop,
 * noma_progress_step after each optimizer step with the objective, and
 * noma_progress_end after the loop.  Once a loop has run for a second, a
 * line on the error stream shows its iteration count, objective and speed,
 * redrawn (after a carriage return) at most ten times a second; the loop's
 * end prints its last state and ends the line.  It is shown when stderr is
 * a terminal, or when noma_rt_set_progress(1) asked for it (`--progress`);
 * otherwise nothing is printed, so pipes and files see the same bytes as
 * before.
 *
 * NOMA_PROGRESS_AFTER=SECONDS in the environment changes the second (0:
 * show from the first iteration; the tests use it).
 *
 * A step costs a call and a compare while no line is due: the clock is
 * read only every `check_every` steps, a count adapted so that it is read
 * about a hundred times a second whatever a step costs.
 */
#define _POSIX_C_SOURCE 200809L

#include "noma_runtime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SHOW_AFTER_SECONDS 1.0
#define REDRAW_SECONDS 0.1
#define CHECK_SECONDS 0.01

static int progress_mode = -1; /* -1: when stderr is a terminal, 0: never, 1: always */

static struct {
    int depth;     /* optimize loops entered and not left (nested calls) */
    int enabled;   /* this loop reports */
    int on_terminal;
    int shown;     /* a line is drawn and not ended */
    int ever_shown; /* this loop has shown its line */
    int drawing;   /* writing the line: the print hook must not end it */
    int64_t steps;
    int64_t next_check;
    int64_t check_every;
    double objective;
    double show_after;
    double start;
    double last_check;
    double last_drawn;
} loop;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double show_after_seconds(void)
{
    const char *text = getenv("NOMA_PROGRESS_AFTER");
    if (text == NULL || *text == '\0')
        return SHOW_AFTER_SECONDS;
    char *end;
    double seconds = strtod(text, &end);
    return *end == '\0' && seconds >= 0 ? seconds : SHOW_AFTER_SECONDS;
}

void noma_rt_set_progress(int mode)
{
    progress_mode = mode < 0 ? -1 : mode != 0;
    /* A new run: forget a loop an earlier run left by a run-time error. */
    loop.depth = 0;
    loop.enabled = 0;
    loop.shown = 0;
}

static void draw(double t, int final)
{
    double elapsed = t - loop.start;
    double rate = elapsed > 0 ? (double)loop.steps / elapsed : 0.0;
    loop.drawing = 1;
    FILE *err = noma_rt_stderr();
    fprintf(err, "\roptimize: iteration %lld  objective %.6g  %.0f it/s  %.1f s%s%s",
            (long long)loop.steps, loop.objective, rate, elapsed,
            loop.on_terminal ? "\033[K" : "", final ? "\n" : "");
    fflush(err);
    loop.drawing = 0;
    loop.shown = !final;
    loop.ever_shown = 1;
    loop.last_drawn = t;
}

void noma_progress_begin(void)
{
    if (loop.depth++ > 0)
        return; /* an optimize loop inside a function its body calls */
    int terminal = isatty(2) && noma_rt_stderr() == stderr;
    loop.enabled = progress_mode == 1 || (progress_mode == -1 && terminal);
    if (!loop.enabled)
        return;
    loop.on_terminal = terminal;
    loop.show_after = show_after_seconds();
    loop.shown = 0;
    loop.ever_shown = 0;
    loop.steps = 0;
    loop.check_every = 1;
    loop.next_check = 1;
    loop.start = loop.last_check = now_seconds();
    loop.last_drawn = loop.start - REDRAW_SECONDS;
}

void noma_progress_step(double objective)
{
    if (!loop.enabled || loop.depth != 1)
        return;
    loop.objective = objective;
    if (++loop.steps < loop.next_check)
        return;
    double t = now_seconds();
    /* Aim at one clock read per CHECK_SECONDS. */
    double since = t - loop.last_check;
    if (since < CHECK_SECONDS / 2 && loop.check_every < ((int64_t)1 << 40))
        loop.check_every *= 2;
    else if (since > CHECK_SECONDS * 2 && loop.check_every > 1)
        loop.check_every /= 2;
    loop.last_check = t;
    loop.next_check = loop.steps + loop.check_every;
    if (t - loop.start >= loop.show_after && t - loop.last_drawn >= REDRAW_SECONDS)
        draw(t, 0);
}

void noma_progress_end(void)
{
    if (loop.depth == 0 || --loop.depth > 0)
        return;
    if (loop.enabled && loop.ever_shown)
        draw(now_seconds(), 1); /* the last state stays on the screen */
    loop.enabled = 0;
    loop.shown = 0;
}

void noma_rt_progress_interrupt(void)
{
    if (!loop.shown || loop.drawing)
        return;
    /* The program prints: take the line away (a terminal) or end it, and
     * draw it again at the next redraw. */
    loop.drawing = 1;
    FILE *err = noma_rt_stderr();
    fputs(loop.on_terminal ? "\r\033[K" : "\n", err);
    fflush(err);
    loop.drawing = 0;
    loop.shown = 0;
}
