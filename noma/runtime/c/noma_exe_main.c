/*
 * noma_exe_main.c - the driver of standalone NOMA executables (see
 * noma_exe_main.h).
 *
 * It mirrors `noma run` step by step (Program.run and the CLI's `run`):
 * seed the generator, hand over the --arg files, call the packed entry
 * point under noma_rt_invoke, print main's result with the runtime's own
 * printers, free the result's buffer, flush.  Keeping the same order and
 * the same printers is what makes the two modes byte-identical.
 */
#define _POSIX_C_SOURCE 200809L /* fcntl, open */
#include "noma_exe_main.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "noma_io.h" /* noma_set_arg, noma_clear_args */
#include "noma_runtime.h"

/* ---- the command line --------------------------------------------------- */

/* One --arg NAME=FILE; name points into its own allocation. */
typedef struct {
    char *name;
    const char *path;
} exe_arg;

typedef struct {
    const char *prog; /* for messages: argv[0] without its directory */
    uint64_t seed;
    exe_arg *args;    /* room for argc entries */
    int nargs;
    int progress;     /* --progress: show the progress line even off a terminal */
} exe_options;

/* What parse_options decided. */
typedef enum { PARSE_RUN, PARSE_HELP, PARSE_ERROR } parse_result;

static const char *program_name(int argc, char **argv)
{
    if (argc < 1 || argv[0] == NULL || argv[0][0] == '\0')
        return "noma-program";
    const char *slash = strrchr(argv[0], '/');
    return slash != NULL && slash[1] != '\0' ? slash + 1 : argv[0];
}

static void print_usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [--seed N] [--arg NAME=FILE]... [--progress]\n", prog);
}

static void print_help(const char *prog)
{
    print_usage(stdout, prog);
    printf("\n"
           "Runs the NOMA program compiled into this executable: prints what it\n"
           "prints, then main's result on the last line (as `noma run` does).\n"
           "\n"
           "options:\n"
           "  --seed N          seed of the random generator: an integer from\n"
           "                    -2^63 to 2^64 - 1, decimal or 0x hexadecimal;\n"
           "                    N and N + 2^64 are the same seed (default 0x%X)\n"
           "  --arg NAME=FILE   the file for main's parameter NAME (repeatable;\n"
           "                    the last one for a name wins)\n"
           "  --progress        show the progress line of optimize loops running\n"
           "                    over a second even when stderr is not a terminal\n"
           "  -h, --help        show this message and exit\n"
           "\n"
           "exit status: 0 on success, 1 after a run-time error, 2 for a bad\n"
           "command line\n",
           (unsigned)NOMA_DEFAULT_SEED);
}

/* "usage: ..." and "<prog>: error: <message>" on stderr; the exit status. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static int usage_error(const char *prog, const char *format, ...)
{
    va_list ap;
    print_usage(stderr, prog);
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputc('\n', stderr);
    return NOMA_EXE_USAGE_ERROR;
}

/* The value of hexadecimal or decimal digit c, or -1. */
static int digit_value(char c, int base)
{
    int v = -1;
    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v < base ? v : -1;
}

/* A seed, exactly as `noma run --seed` takes it (noma_cli.parse_seed): an
 * optionally signed decimal or 0x-hexadecimal integer, nothing else (no
 * spaces, no octal, no second "0x"), from -2^63 to 2^64 - 1, so that every
 * int64 and every uint64 is a seed; its 64-bit two's-complement bits. */
static int parse_seed(const char *text, uint64_t *seed)
{
    const char *p = text;
    int negative = 0;
    int base = 10;
    if (*p == '+' || *p == '-') {
        negative = *p == '-';
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (*p == '\0')
        return 0;
    uint64_t limit = negative ? (uint64_t)1 << 63 : UINT64_MAX;
    uint64_t magnitude = 0;
    for (; *p != '\0'; p++) {
        int d = digit_value(*p, base);
        if (d < 0 || magnitude > (limit - (uint64_t)d) / (uint64_t)base)
            return 0;
        magnitude = magnitude * (uint64_t)base + (uint64_t)d;
    }
    *seed = negative ? (uint64_t)0 - magnitude : magnitude;
    return 1;
}

/* Records NAME=FILE; 0 (with a message) when there is no '=' or no NAME. */
static int add_arg(exe_options *opts, const char *value)
{
    const char *eq = strchr(value, '=');
    if (eq == NULL || eq == value) {
        usage_error(opts->prog, "--arg expects NAME=FILE, got '%s'", value);
        return 0;
    }
    size_t length = (size_t)(eq - value);
    char *name = malloc(length + 1);
    if (name == NULL) {
        fprintf(stderr, "%s: error: out of memory\n", opts->prog);
        return 0;
    }
    memcpy(name, value, length);
    name[length] = '\0';
    opts->args[opts->nargs].name = name;
    opts->args[opts->nargs].path = eq + 1;
    opts->nargs++;
    return 1;
}

/* If argv[*i] is `option` or `option=VALUE`, stores the value (the next
 * argument for the first form, advancing *i) and returns 1; returns 0 if it
 * is another argument and -1 if the value is missing. */
static int option_value(int argc, char **argv, int *i, const char *option,
                        const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(option);
    if (strncmp(arg, option, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *i += 1;
    *value = argv[*i];
    return 1;
}

static parse_result parse_options(int argc, char **argv, exe_options *opts)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        int found;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return PARSE_HELP;
        if (strcmp(arg, "--progress") == 0) {
            opts->progress = 1;
            continue;
        }
        if ((found = option_value(argc, argv, &i, "--seed", &value)) != 0) {
            if (found < 0) {
                usage_error(opts->prog, "option --seed needs a value");
                return PARSE_ERROR;
            }
            if (!parse_seed(value, &opts->seed)) {
                usage_error(opts->prog, "invalid value for --seed: " NOMA_EXE_SEED_ERROR,
                            value);
                return PARSE_ERROR;
            }
            continue;
        }
        if ((found = option_value(argc, argv, &i, "--arg", &value)) != 0) {
            if (found < 0) {
                usage_error(opts->prog, "option --arg needs a value NAME=FILE");
                return PARSE_ERROR;
            }
            if (!add_arg(opts, value))
                return PARSE_ERROR;
            continue;
        }
        if (arg[0] == '-')
            usage_error(opts->prog, "unknown option '%s'", arg);
        else
            usage_error(opts->prog, "unexpected argument '%s'", arg);
        return PARSE_ERROR;
    }
    return PARSE_RUN;
}

static void free_options(exe_options *opts)
{
    for (int i = 0; i < opts->nargs; i++)
        free(opts->args[i].name);
    free(opts->args);
}

/* noma_clear_args, then noma_set_arg for the last --arg of each name (so a
 * repeated name behaves like the mapping Program.run receives). */
static void hand_over_args(const exe_options *opts)
{
    noma_clear_args();
    for (int i = 0; i < opts->nargs; i++) {
        int overridden = 0;
        for (int j = i + 1; j < opts->nargs && !overridden; j++)
            overridden = strcmp(opts->args[i].name, opts->args[j].name) == 0;
        if (!overridden)
            noma_set_arg(opts->args[i].name, opts->args[i].path);
    }
}

/* ---- the result --------------------------------------------------------- */

/* MLIR's memref descriptor of rank r: sizes then strides in `dims[2r]`. */
typedef struct {
    void *allocated;
    double *aligned;
    int64_t offset;
    int64_t dims[];
} exe_memref;

/* Copies the elements of a strided tensor into `out` in row-major order. */
static void gather_row_major(const double *base, const int64_t *sizes,
                             const int64_t *strides, int64_t rank,
                             int64_t level, int64_t at, double *out,
                             int64_t *count)
{
    if (level == rank) {
        out[(*count)++] = base[at];
        return;
    }
    for (int64_t i = 0; i < sizes[level]; i++)
        gather_row_major(base, sizes, strides, rank, level + 1,
                         at + i * strides[level], out, count);
}

/* noma_print_tensor of the elements in row-major order with the shape, as
 * the CLI prints a returned numpy array; then frees the buffer.  Returns 0,
 * or 1 if there is no memory for the row-major copy. */
static int print_tensor_result(exe_memref *d, int64_t rank, const char *prog)
{
    const int64_t *sizes = d->dims;
    const int64_t *strides = d->dims + rank;
    int64_t count = 1;
    for (int64_t i = 0; i < rank; i++)
        count = sizes[i] < 0 ? -1 : (count < 0 ? -1 : count * sizes[i]);
    double none = 0.0;
    double *row_major = &none;
    if (count > 0) {
        row_major = malloc((size_t)count * sizeof(double));
        if (row_major == NULL) {
            noma_free_buffer(d->allocated);
            fprintf(stderr, "%s: error: out of memory printing the result\n", prog);
            return 1;
        }
        int64_t written = 0;
        gather_row_major(d->aligned + d->offset, sizes, strides, rank, 0, 0,
                         row_major, &written);
    }
    /* A negative dimension is reported by noma_print_tensor itself. */
    noma_print_tensor(row_major, row_major, 0, count < 0 ? 0 : count, 1,
                      (int64_t *)sizes, (int64_t *)sizes, 0, rank, 1);
    if (row_major != &none)
        free(row_major);
    noma_free_buffer(d->allocated);
    return 0;
}

/* Whether `name` is one of main's parameters (comma-separated). */
static int takes_parameter(const char *params, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = params; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        p += len + (comma != NULL);
    }
    return 0;
}

/* An --arg for a parameter main does not have is a located error, as
 * Program.check_arg_names reports it for `noma run` (the same text, the
 * source excerpt included); 1 if there is one. */
static int unknown_parameter(const exe_options *opts, const noma_exe_entry *entry)
{
    for (int i = 0; i < opts->nargs; i++) {
        const char *name = opts->args[i].name;
        if (takes_parameter(entry->parameters, name))
            continue;
        fprintf(stderr, "%serror: main has no parameter named '%s'; it takes ",
                entry->where, name);
        if (entry->parameters[0] == '\0') {
            fputs("none", stderr);
        } else {
            for (const char *p = entry->parameters; *p != '\0'; p++) {
                if (*p == ',')
                    fputs(", ", stderr);
                else
                    fputc(*p, stderr);
            }
        }
        fprintf(stderr, "%s\n", entry->excerpt);
        return 1;
    }
    return 0;
}

/* Seeds, hands over the args, runs, prints: Program.run and `noma run`. */
static int run_program(const exe_options *opts, void (*packed)(void **),
                       int64_t result_rank)
{
    double scalar = 0.0;
    exe_memref *tensor = NULL;
    void *slot = &scalar;
    if (result_rank > 0) {
        tensor = calloc(1, sizeof(exe_memref) + 2 * (size_t)result_rank * sizeof(int64_t));
        if (tensor == NULL) {
            fprintf(stderr, "%s: error: out of memory\n", opts->prog);
            return NOMA_EXE_RUNTIME_ERROR;
        }
        slot = tensor;
    }
    int64_t seed;
    memcpy(&seed, &opts->seed, sizeof seed); /* the same bits, as int64 */
    noma_rng_seed(seed);
    if (opts->progress)
        noma_rt_set_progress(1);
    hand_over_args(opts);

    void *args[1] = {slot};
    int status = noma_rt_invoke(packed, args);
    if (status == 0 && result_rank == 0)
        noma_print_f64(scalar);
    else if (status == 0 && result_rank > 0)
        status = print_tensor_result(tensor, result_rank, opts->prog);
    free(tensor);
    noma_rt_flush();
    if (noma_rt_check_stdout() != 0)
        status = 1;
    return status == 0 ? NOMA_EXE_OK : NOMA_EXE_RUNTIME_ERROR;
}

/* Puts /dev/null on a closed fd 0, 1 or 2 (`prog >&-`), so that no file the
 * program opens takes its number: a file being saved would otherwise
 * receive what the program prints.  stdin and stdout get it read-only, so
 * that writing to a closed stdout still fails (EBADF) and is reported, as
 * `noma run` does (noma/tools/errors.py). */
static void reserve_standard_descriptors(void)
{
    static const int flags[3] = {O_RDONLY, O_RDONLY, O_WRONLY};
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int opened = open("/dev/null", flags[fd]);
        if (opened >= 0 && opened != fd) {
            dup2(opened, fd);
            close(opened);
        }
    }
}

int noma_exe_main(int argc, char **argv, void (*packed)(void **),
                  int64_t result_rank, const noma_exe_entry *entry)
{
    reserve_standard_descriptors();
    exe_options opts = {program_name(argc, argv), NOMA_DEFAULT_SEED, NULL, 0, 0};
    opts.args = calloc(argc > 0 ? (size_t)argc : 1, sizeof(exe_arg));
    if (opts.args == NULL) {
        fprintf(stderr, "%s: error: out of memory\n", opts.prog);
        return NOMA_EXE_RUNTIME_ERROR;
    }
    int status;
    switch (parse_options(argc, argv, &opts)) {
    case PARSE_HELP:
        print_help(opts.prog);
        status = noma_rt_check_stdout() == 0 ? NOMA_EXE_OK : NOMA_EXE_RUNTIME_ERROR;
        break;
    case PARSE_ERROR:
        status = NOMA_EXE_USAGE_ERROR;
        break;
    default:
        if (unknown_parameter(&opts, entry))
            status = NOMA_EXE_RUNTIME_ERROR;
        else
            status = run_program(&opts, packed, result_rank);
        break;
    }
    free_options(&opts);
    return status;
}
