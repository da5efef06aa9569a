/*
 * noma_exe_main.h - the driver of standalone NOMA executables.
 *
 * `noma build-exe` links a program's object file with the C runtime and with
 * noma_exe_main.c; the object's `main` only calls noma_exe_main with the
 * program's packed entry point and the rank of main's result.  The driver
 * does what `noma run` does around the call (seed, --arg files, the
 * trampoline, printing and freeing the result), so an executable prints
 * exactly what `noma run` prints.
 *
 * Not part of the runtime shared library: build.py leaves noma_exe_*.c out.
 */
#ifndef NOMA_EXE_MAIN_H
#define NOMA_EXE_MAIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* result_rank of a main that returns nothing. */
#define NOMA_EXE_NO_RESULT (-1)

/* Exit statuses of an executable. */
#define NOMA_EXE_OK 0            /* main returned; its result was printed */
#define NOMA_EXE_RUNTIME_ERROR 1 /* the runtime printed a located error   */
#define NOMA_EXE_USAGE_ERROR 2   /* bad command line; nothing ran         */

/* What the driver says about main's parameters: `noma build-exe` writes it
 * into the program (noma/executable.py), all NUL-terminated. */
typedef struct {
    const char *where;      /* main's location prefix, "prog.noma:1:1: " */
    const char *parameters; /* their names, comma-separated ("X,W"; "") */
    const char *excerpt;    /* "\n    <source line>\n    ^", or "" */
} noma_exe_entry;

/* After "invalid value for --seed: " (usage error, status 2); `noma run
 * --seed` says the same. */
#define NOMA_EXE_SEED_ERROR                                                   \
    "'%s' is not an integer from -2^63 to 2^64 - 1 (decimal or 0x hexadecimal)"

/*
 * Parses the command line, runs packed(args) under noma_rt_invoke and prints
 * the result; returns the exit status (above).
 *
 *   argv:         [--seed N] [--arg NAME=FILE]... [--help]
 *                 (--seed=N and --arg=NAME=FILE too).  N is decimal or 0x
 *                 hexadecimal, optionally signed, from -2^63 to 2^64 - 1
 *                 (its 64-bit two's-complement bits seed the generator),
 *                 exactly as `noma run --seed`; the default is
 *                 NOMA_DEFAULT_SEED.  An --arg NAME main does not take is
 *                 the located error of `noma run`, status 1.
 *   packed:       `_noma_packed_<main>`: args[0] points to the result slot.
 *   result_rank:  NOMA_EXE_NO_RESULT, 0 for a scalar (the slot is a double),
 *                 or r >= 1 for a tensor of rank r (the slot is an MLIR
 *                 memref descriptor {allocated, aligned, offset, sizes[r],
 *                 strides[r]} of f64).
 *   entry:        main's location and parameters (above).
 * A failed write to stdout is reported last ("runtime error: cannot write
 * to standard output: ..."), status 1.
 */
int noma_exe_main(int argc, char **argv, void (*packed)(void **),
                  int64_t result_rank, const noma_exe_entry *entry);

#ifdef __cplusplus
}
#endif

#endif /* NOMA_EXE_MAIN_H */
