/* The C peer of `benchmarks/run.py xor`: a 2-16-1 sigmoid network trained on
 * XOR with Adam, gradients written by hand, in the floating-point order of
 * NOMA's generated code (see below).
 *
 * The initial weights come from a header generated at build time from
 * data/xor_init.json (benchmarks/run.py writes it into benchmarks/build/ and
 * compiles this file with `cc -O2`); nothing is read at run time.
 *
 *     xor [R]     train R times (default 9) from the same initial weights,
 *                 timing each training with CLOCK_MONOTONIC
 *
 * It prints one line of JSON: the number of runs, every training time and
 * their median in seconds, and the final loss with "%.17g".
 *
 * The training follows NOMA's optimize loop (as the original NOMA's): 320
 * iterations, each computing the loss, checking `until`, computing the
 * gradients and taking one Adam step, the last iteration included. The
 * result is the loss of the last iteration, computed before its step (the
 * value `loss` has after the loop in the program). Floating-point order, as
 * in NOMA's code: matrix products and the mean accumulate sequentially from
 * 0.0 along the summed index; sigmoid(z) = 1 / (1 + exp(-z)) and its
 * derivative is g * (s * (1 - s)) (SigmoidOp.vjp); Adam as in
 * noma/passes/expand_optimizers.py. */

#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xor_init.h" /* XOR_W1_INIT[2][16], XOR_W2_INIT[16][1] */

enum { N = 4, IN = 2, HID = 16, STEPS = 320 };

static const double LR = 0.05, BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

static const double X[N][IN] = {{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}};
static const double Y[N] = {0.0, 1.0, 1.0, 0.0};

typedef struct {
    double w1[IN][HID], w2[HID];
    double m1[IN][HID], v1[IN][HID], m2[HID], v2[HID];
    double t1, t2; /* per-parameter step counts, as NOMA keeps them */
} Model;

typedef struct {
    double hidden[N][HID], pred[N];
} Activations;

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Forward pass; gives the loss mean((pred - Y)^2). */
static double forward(const Model *model, Activations *a) {
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < HID; j++) {
            double z = 0.0;
            for (int k = 0; k < IN; k++) z += X[i][k] * model->w1[k][j];
            a->hidden[i][j] = sigmoid(z);
        }
        double z = 0.0;
        for (int k = 0; k < HID; k++) z += a->hidden[i][k] * model->w2[k];
        a->pred[i] = sigmoid(z);
    }
    double sum = 0.0;
    for (int i = 0; i < N; i++) {
        double d = a->pred[i] - Y[i];
        sum += d * d;
    }
    return sum / N;
}

static void gradients(const Model *model, const Activations *a, double dw1[IN][HID],
                      double dw2[HID]) {
    double dz2[N], dz1[N][HID];
    for (int i = 0; i < N; i++) {
        double dpred = 2.0 * (a->pred[i] - Y[i]) / N;
        double p = a->pred[i];
        dz2[i] = dpred * (p * (1.0 - p));
    }
    for (int j = 0; j < HID; j++) {
        double s = 0.0;
        for (int i = 0; i < N; i++) s += a->hidden[i][j] * dz2[i];
        dw2[j] = s;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < HID; j++) {
            double dhidden = dz2[i] * model->w2[j];
            double h = a->hidden[i][j];
            dz1[i][j] = dhidden * (h * (1.0 - h));
        }
    for (int k = 0; k < IN; k++)
        for (int j = 0; j < HID; j++) {
            double s = 0.0;
            for (int i = 0; i < N; i++) s += X[i][k] * dz1[i][j];
            dw1[k][j] = s;
        }
}

/* One Adam step on the n values of a parameter with step count *t. */
static void adam(double *p, double *m, double *v, double *t, const double *g, int n) {
    double step = *t + 1.0;
    *t = step;
    double c1 = 1.0 - pow(BETA1, step), c2 = 1.0 - pow(BETA2, step);
    for (int i = 0; i < n; i++) {
        m[i] = BETA1 * m[i] + (1.0 - BETA1) * g[i];
        v[i] = BETA2 * v[i] + (1.0 - BETA2) * (g[i] * g[i]);
        double m_hat = m[i] / c1, v_hat = v[i] / c2;
        p[i] = p[i] - LR * m_hat / (sqrt(v_hat) + EPS);
    }
}

/* noinline: each call trains from its own copy of the initial weights, so
 * no work is shared or hoisted between the timed repetitions. */
__attribute__((noinline)) static double train(Model *model) {
    Activations a;
    double dw1[IN][HID], dw2[HID];
    double loss = NAN;
    for (int iteration = 0; iteration < STEPS; iteration++) {
        loss = forward(model, &a);
        if (loss < 0.0) return loss; /* the program's `until loss < 0`, never true */
        gradients(model, &a, dw1, dw2);
        adam(&model->w1[0][0], &model->m1[0][0], &model->v1[0][0], &model->t1, &dw1[0][0],
             IN * HID);
        adam(model->w2, model->m2, model->v2, &model->t2, dw2, HID);
    }
    return loss;
}

static void init_model(Model *model) {
    memset(model, 0, sizeof *model);
    memcpy(model->w1, XOR_W1_INIT, sizeof model->w1);
    for (int j = 0; j < HID; j++) model->w2[j] = XOR_W2_INIT[j][0];
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed training from the initial weights; gives the final loss and
 * stores the seconds it took. Called through ctypes by benchmarks/run.py,
 * which interleaves it with the other peers so all see the same machine. */
double xor_train_timed(double *elapsed) {
    Model model;
    init_model(&model);
    double start = seconds();
    double loss = train(&model);
    *elapsed = seconds() - start;
    return loss;
}

int main(int argc, char **argv) {
    long runs = 9;
    if (argc > 2 || (argc == 2 && (runs = strtol(argv[1], NULL, 10)) < 1)) {
        fprintf(stderr, "usage: %s [RUNS >= 1]\n", argv[0]);
        return 2;
    }
    double *times = malloc((size_t)runs * sizeof *times);
    double *sorted = malloc((size_t)runs * sizeof *sorted);
    if (!times || !sorted) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    double loss = 0.0;
    for (long r = 0; r < runs; r++) {
        Model model;
        init_model(&model);
        double start = seconds();
        double this_loss = train(&model);
        times[r] = seconds() - start;
        if (r > 0 && memcmp(&this_loss, &loss, sizeof loss) != 0) {
            fprintf(stderr, "%s: run %ld gave loss %.17g, run 0 gave %.17g\n", argv[0], r,
                    this_loss, loss);
            return 1;
        }
        loss = this_loss;
    }
    memcpy(sorted, times, (size_t)runs * sizeof *sorted);
    qsort(sorted, (size_t)runs, sizeof *sorted, compare);
    double median = runs % 2 ? sorted[runs / 2] : 0.5 * (sorted[runs / 2 - 1] + sorted[runs / 2]);
    printf("{\"runs\": %ld, \"median_s\": %.17g, \"times_s\": [", runs, median);
    for (long r = 0; r < runs; r++) printf("%s%.17g", r ? ", " : "", times[r]);
    printf("], \"final_loss\": %.17g}\n", loss);
    free(times);
    free(sorted);
    return 0;
}
