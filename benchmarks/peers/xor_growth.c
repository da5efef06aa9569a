/* The C peer of `benchmarks/run.py xor-growth`: the self-growing XOR demo of
 * examples/self_growing_xor.noma, gradients written by hand, in the
 * floating-point order of NOMA's generated code (as benchmarks/peers/xor.c).
 *
 * A 2-2-1 sigmoid network (no biases) trains on XOR with Adam(0.05) for up
 * to 200 steps (phase 1), then grows to 2-16-1 and trains with Adam(0.12)
 * for up to 120 steps (phase 2); both phases stop as soon as a loss is below
 * 0.002. Growth is index preserving, as NOMA's `realloc`: W1 (2x2) becomes
 * 2x16 with the columns W1_EXTRA appended and W2 (2x1) becomes 16x1 with the
 * rows W2_EXTRA appended, every old weight keeping its (row, column); each
 * parameter's Adam moments grow the same way with new entries zero, and its
 * step count goes on. In the reset variant the moments and step counts of
 * both parameters are then cleared, as `reset_optimizer()` does. Parameters
 * and moments are heap buffers, grown into new buffers the way NOMA grows
 * its own.
 *
 * The initial weights come from a header generated at build time from
 * data/xor_init.json (benchmarks/run.py writes it into benchmarks/build/ and
 * compiles this file with `cc -O2`); nothing is read at run time.
 *
 *     xor_growth [--reset] [--losses] [R]
 *
 * trains R times (default 9), timing each training with CLOCK_MONOTONIC,
 * and prints one line of JSON: the runs, every time and their median in
 * seconds, the final loss ("%.17g"), the steps of each phase. With
 * --losses each training first prints every loss, one a line, as the NOMA
 * program does. benchmarks/run.py calls xor_growth_train_timed through
 * ctypes instead.
 *
 * Each phase follows NOMA's optimize loop (as the original NOMA's): at most
 * max_iterations iterations, each computing (and printing) the loss,
 * stopping if it is below 0.002, else taking one Adam step, the last
 * iteration included. Floating-point order, as in
 * NOMA's code: matrix products and the mean accumulate sequentially from 0.0
 * along the summed index; sigmoid(z) = 1 / (1 + exp(-z)) and its derivative
 * is g * (s * (1 - s)); Adam as in noma/passes/expand_optimizers.py. */

#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xor_growth_init.h" /* XG_W1[2][2], XG_W2[2][1], XG_W1_EXTRA[2][14], XG_W2_EXTRA[14][1] */

enum { N = 4, IN = 2, SMALL = 2, BIG = 16 };

static const double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, UNTIL = 0.002;

typedef struct {
    double lr;
    int max_iterations;
} Phase;

static const Phase PHASE1 = {0.05, 200}, PHASE2 = {0.12, 120};

static const double X[N][IN] = {{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}};
static const double Y[N] = {0.0, 1.0, 1.0, 0.0};

/* A row-major rows x cols matrix on the heap. */
typedef struct {
    int rows, cols;
    double *data;
} Matrix;

/* A parameter with its Adam state: moments of its shape, its step count. */
typedef struct {
    Matrix p, m, v;
    double t;
} Param;

typedef struct {
    Param w1, w2; /* IN x hid and hid x 1 */
    int hid;
} Model;

typedef struct {
    double hidden[N][BIG], pred[N];
} Activations;

static double *alloc_doubles(size_t n) {
    double *data = calloc(n, sizeof *data);
    if (!data) {
        fputs("xor_growth: out of memory\n", stderr);
        exit(1);
    }
    return data;
}

static Matrix matrix_from(int rows, int cols, const double *init) {
    Matrix a = {rows, cols, alloc_doubles((size_t)rows * (size_t)cols)};
    if (init) memcpy(a.data, init, (size_t)rows * (size_t)cols * sizeof *init);
    return a;
}

/* Index-preserving realloc to rows x cols: element (i, j) keeps its value
 * where it exists in the old shape; the others come from `init` (row-major,
 * of the full new shape), or are zero when `init` is NULL. */
static void grow(Matrix *a, int rows, int cols, const double *init) {
    Matrix b = matrix_from(rows, cols, init);
    for (int i = 0; i < a->rows && i < rows; i++)
        for (int j = 0; j < a->cols && j < cols; j++) b.data[i * cols + j] = a->data[i * a->cols + j];
    free(a->data);
    *a = b;
}

static void param_init(Param *q, int rows, int cols, const double *init) {
    q->p = matrix_from(rows, cols, init);
    q->m = matrix_from(rows, cols, NULL);
    q->v = matrix_from(rows, cols, NULL);
    q->t = 0.0;
}

/* realloc: the value from `init`, the moments with zeros; t goes on. */
static void param_grow(Param *q, int rows, int cols, const double *init) {
    grow(&q->p, rows, cols, init);
    grow(&q->m, rows, cols, NULL);
    grow(&q->v, rows, cols, NULL);
}

/* reset_optimizer() for one parameter. */
static void param_reset(Param *q) {
    size_t n = (size_t)q->p.rows * (size_t)q->p.cols;
    memset(q->m.data, 0, n * sizeof *q->m.data);
    memset(q->v.data, 0, n * sizeof *q->v.data);
    q->t = 0.0;
}

static void param_free(Param *q) {
    free(q->p.data);
    free(q->m.data);
    free(q->v.data);
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Forward pass; gives the loss mean((pred - Y)^2). */
static double forward(const Model *model, Activations *a) {
    const double *w1 = model->w1.p.data, *w2 = model->w2.p.data;
    int hid = model->hid;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < hid; j++) {
            double z = 0.0;
            for (int k = 0; k < IN; k++) z += X[i][k] * w1[k * hid + j];
            a->hidden[i][j] = sigmoid(z);
        }
        double z = 0.0;
        for (int k = 0; k < hid; k++) z += a->hidden[i][k] * w2[k];
        a->pred[i] = sigmoid(z);
    }
    double sum = 0.0;
    for (int i = 0; i < N; i++) {
        double d = a->pred[i] - Y[i];
        sum += d * d;
    }
    return sum / N;
}

/* dloss/dW1 (IN x hid, row-major) and dloss/dW2 (hid). */
static void gradients(const Model *model, const Activations *a, double *dw1, double *dw2) {
    const double *w2 = model->w2.p.data;
    int hid = model->hid;
    double dz2[N], dz1[N][BIG];
    for (int i = 0; i < N; i++) {
        double dpred = 2.0 * (a->pred[i] - Y[i]) / N;
        double p = a->pred[i];
        dz2[i] = dpred * (p * (1.0 - p));
    }
    for (int j = 0; j < hid; j++) {
        double s = 0.0;
        for (int i = 0; i < N; i++) s += a->hidden[i][j] * dz2[i];
        dw2[j] = s;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < hid; j++) {
            double dhidden = dz2[i] * w2[j];
            double h = a->hidden[i][j];
            dz1[i][j] = dhidden * (h * (1.0 - h));
        }
    for (int k = 0; k < IN; k++)
        for (int j = 0; j < hid; j++) {
            double s = 0.0;
            for (int i = 0; i < N; i++) s += X[i][k] * dz1[i][j];
            dw1[k * hid + j] = s;
        }
}

/* One Adam step on a parameter with gradient g. */
static void adam(Param *q, const double *g, double lr) {
    double step = q->t + 1.0;
    q->t = step;
    double c1 = 1.0 - pow(BETA1, step), c2 = 1.0 - pow(BETA2, step);
    double *p = q->p.data, *m = q->m.data, *v = q->v.data;
    int n = q->p.rows * q->p.cols;
    for (int i = 0; i < n; i++) {
        m[i] = BETA1 * m[i] + (1.0 - BETA1) * g[i];
        v[i] = BETA2 * v[i] + (1.0 - BETA2) * (g[i] * g[i]);
        double m_hat = m[i] / c1, v_hat = v[i] / c2;
        p[i] = p[i] - lr * m_hat / (sqrt(v_hat) + EPS);
    }
}

/* One optimize loop: iterations of loss, check, step; gives the steps taken
 * and stores the last loss computed. */
static int optimize(Model *model, Phase phase, int print_losses, double *last_loss) {
    Activations a;
    double dw1[IN * BIG], dw2[BIG];
    int steps = 0;
    for (int iteration = 0; iteration < phase.max_iterations; iteration++) {
        double loss = forward(model, &a);
        *last_loss = loss;
        if (print_losses) printf("%.17g\n", loss);
        if (loss < UNTIL) break;
        gradients(model, &a, dw1, dw2);
        adam(&model->w1, dw1, phase.lr);
        adam(&model->w2, dw2, phase.lr);
        steps++;
    }
    return steps;
}

/* The growth init tensors, of the full new shapes as in the NOMA program:
 * zeros where the old weights are (kept by the realloc), then the extras. */
static void growth_inits(double w1_init[IN][BIG], double w2_init[BIG]) {
    memset(w1_init, 0, IN * BIG * sizeof **w1_init);
    memset(w2_init, 0, BIG * sizeof *w2_init);
    for (int k = 0; k < IN; k++)
        for (int j = SMALL; j < BIG; j++) w1_init[k][j] = XG_W1_EXTRA[k][j - SMALL];
    for (int j = SMALL; j < BIG; j++) w2_init[j] = XG_W2_EXTRA[j - SMALL][0];
}

static void model_init(Model *model) {
    param_init(&model->w1, IN, SMALL, &XG_W1[0][0]);
    param_init(&model->w2, SMALL, 1, &XG_W2[0][0]);
    model->hid = SMALL;
}

/* Both phases and the growth between them; gives the final loss. */
static double train(Model *model, int reset, int print_losses, int steps[2]) {
    double loss = 0.0;
    double w1_init[IN][BIG], w2_init[BIG];
    steps[0] = optimize(model, PHASE1, print_losses, &loss);
    growth_inits(w1_init, w2_init);
    param_grow(&model->w1, IN, BIG, &w1_init[0][0]);
    param_grow(&model->w2, BIG, 1, w2_init);
    model->hid = BIG;
    if (reset) {
        param_reset(&model->w1);
        param_reset(&model->w2);
    }
    steps[1] = optimize(model, PHASE2, print_losses, &loss);
    return loss;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One timed training from the initial weights (setting them up is not
 * timed; growing them is); gives the final loss, stores the seconds and the
 * steps of phase 1 and phase 2. */
double xor_growth_train(int reset, int print_losses, int *steps, double *elapsed) {
    Model model;
    model_init(&model);
    double start = seconds();
    double loss = train(&model, reset, print_losses, steps);
    if (print_losses) fflush(stdout);
    *elapsed = seconds() - start;
    param_free(&model.w1);
    param_free(&model.w2);
    return loss;
}

/* What benchmarks/run.py times through ctypes, interleaved with the other
 * sides: the variant that keeps the optimizer state, printing every loss as
 * the NOMA program does (the harness points stdout at /dev/null). */
double xor_growth_train_timed(double *elapsed) {
    int steps[2];
    return xor_growth_train(0, 1, steps, elapsed);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--reset] [--losses] [RUNS >= 1]\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    long runs = 9;
    int reset = 0, print_losses = 0, have_runs = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--reset") == 0) {
            reset = 1;
        } else if (strcmp(argv[i], "--losses") == 0) {
            print_losses = 1;
        } else if (!have_runs && (runs = strtol(argv[i], &end, 10)) >= 1 && *end == '\0') {
            have_runs = 1;
        } else {
            return usage(argv[0]);
        }
    }
    double *times = malloc((size_t)runs * sizeof *times);
    double *sorted = malloc((size_t)runs * sizeof *sorted);
    if (!times || !sorted) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    double loss = 0.0;
    int steps[2] = {0, 0};
    for (long r = 0; r < runs; r++) {
        int these_steps[2];
        double this_loss = xor_growth_train(reset, print_losses, these_steps, &times[r]);
        if (r > 0 && (memcmp(&this_loss, &loss, sizeof loss) != 0 || these_steps[1] != steps[1])) {
            fprintf(stderr, "%s: run %ld gave loss %.17g, run 0 gave %.17g\n", argv[0], r,
                    this_loss, loss);
            return 1;
        }
        loss = this_loss;
        steps[0] = these_steps[0];
        steps[1] = these_steps[1];
    }
    memcpy(sorted, times, (size_t)runs * sizeof *sorted);
    qsort(sorted, (size_t)runs, sizeof *sorted, compare);
    double median = runs % 2 ? sorted[runs / 2] : 0.5 * (sorted[runs / 2 - 1] + sorted[runs / 2]);
    printf("{\"runs\": %ld, \"reset\": %s, \"median_s\": %.17g, \"times_s\": [", runs,
           reset ? "true" : "false", median);
    for (long r = 0; r < runs; r++) printf("%s%.17g", r ? ", " : "", times[r]);
    printf("], \"final_loss\": %.17g, \"phase1_steps\": %d, \"phase2_steps\": %d}\n", loss,
           steps[0], steps[1]);
    free(times);
    free(sorted);
    return 0;
}
