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

/*
 * Parses the command line, runs packed(args) under noma_rt_invoke and prints
 * the result; returns the exit status (above).
 *
 *   argv:         [--seed N] [--arg NAME=FILE]... [--help]
 *                 (--seed=N and --arg=NAME=FILE too).  N is decimal or 0x
 *                 hexadecimal, optionally signed, taken modulo 2^64 like
 *                 `noma run --seed`; the default is NOMA_DEFAULT_SEED.
 *   packed:       `_noma_packed_<main>`: args[0] points to the result slot.
 *   result_rank:  NOMA_EXE_NO_RESULT, 0 for a scalar (the slot is a double),
 *                 or r >= 1 for a tensor of rank r (the slot is an MLIR
 *                 memref descriptor {allocated, aligned, offset, sizes[r],
 *                 strides[r]} of f64).
 */
int noma_exe_main(int argc, char **argv, void (*packed)(void **),
                  int64_t result_rank);

#ifdef __cplusplus
}
#endif

#endif /* NOMA_EXE_MAIN_H */
