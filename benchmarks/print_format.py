"""`benchmarks/run.py print`: the cost of printing one f64.

NOMA prints numbers as Python's `repr` does, in the shortest form that reads
back exactly (`noma_format_f64`, noma/runtime/c/noma_shortest.c); C programs
usually print with `"%.17g"`, which is longer and not shortest. One C driver,
built with the runtime sources (`cc -O2`), formats the same 10^6 doubles
(half uniform in [0, 1), half in [-500, 500), a fixed xorshift stream) both
ways, `runs` times, alternating; the median ns per number of each is
reported with their ratio. Before timing, every one of the doubles is
formatted both ways and each side is read back with `strtod` to the same
double, so a fast wrong answer is an error, not a result.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path

DRIVER = r"""
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "noma_runtime.h"

#define N 1000000

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    static double xs[N];
    uint64_t s = 88172645463325252u;
    for (int i = 0; i < N; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double v = (double)(s >> 11) / 9007199254740992.0;
        xs[i] = (i % 2) ? v : v * 1000.0 - 500.0;
    }
    char a[64], b[64];
    long bad = 0;
    for (int i = 0; i < N; i++) {
        noma_format_f64(xs[i], a, sizeof a);
        snprintf(b, sizeof b, "%.17g", xs[i]);
        bad += strtod(a, NULL) != xs[i] || strtod(b, NULL) != xs[i];
    }
    printf("{\"wrong\": %ld, \"noma_ns\": [", bad);
    size_t sink = 0;
    double c_ns[64];
    for (int r = 0; r < runs && r < 64; r++) {
        double t = now();
        for (int i = 0; i < N; i++)
            sink += (size_t)noma_format_f64(xs[i], a, sizeof a);
        double noma = (now() - t) * 1e9 / N;
        t = now();
        for (int i = 0; i < N; i++)
            sink += (size_t)snprintf(b, sizeof b, "%.17g", xs[i]);
        c_ns[r] = (now() - t) * 1e9 / N;
        printf("%s%.3f", r ? ", " : "", noma);
    }
    printf("], \"c_ns\": [");
    for (int r = 0; r < runs && r < 64; r++)
        printf("%s%.3f", r ? ", " : "", c_ns[r]);
    printf("], \"sink\": %zu}\n", sink);
    return 0;
}
"""


class PrintBenchmarkError(Exception):
    pass


def run_print_benchmark(runs: int) -> dict[str, object]:
    from noma.runtime.build import find_c_compiler, runtime_include_dir, runtime_source_paths

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "print_bench.c"
        source.write_text(DRIVER)
        exe = Path(tmp) / "print_bench"
        built = subprocess.run(
            [
                *find_c_compiler(), "-O2", "-std=c11", "-I", str(runtime_include_dir()),
                "-o", str(exe), str(source), *(str(p) for p in runtime_source_paths()), "-lm",
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if built.returncode != 0:
            raise PrintBenchmarkError(f"the driver does not build:\n{built.stderr}")
        ran = subprocess.run(
            [str(exe), str(runs)], capture_output=True, text=True, check=False, timeout=600
        )
        if ran.returncode != 0:
            raise PrintBenchmarkError(f"the driver failed:\n{ran.stderr}")
    measured = json.loads(ran.stdout)
    if measured["wrong"]:
        raise PrintBenchmarkError(f"{measured['wrong']} numbers did not read back")
    noma_ns = statistics.median(measured["noma_ns"])
    c_ns = statistics.median(measured["c_ns"])
    return {
        "benchmark": "print",
        "description": "ns to format one f64: noma_format_f64 (shortest, repr) vs %.17g",
        "numbers": 1_000_000,
        "runs": runs,
        "noma_ns": noma_ns,
        "c_ns": c_ns,
        "c_over_noma": c_ns / noma_ns,
        "times_ns": {"noma": measured["noma_ns"], "c": measured["c_ns"]},
        "target": "noma_ns <= c_ns (issue 13: printing at the cost of %.17g)",
        "target_met": noma_ns <= c_ns,
    }
