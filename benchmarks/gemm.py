"""`benchmarks/run.py gemm`: C = A . B in f64, NOMA against NumPy's BLAS.

The matmul of benchmarks/gemm.noma (NOMA's `noma-lower-matmul`: tiled,
register-blocked, vectorised loops on the host's vector width, each element
summed in k order) against `A @ B` in NumPy (OpenBLAS, or whatever BLAS
NumPy has), for 256x256 and 512x512 matrices of normal draws.

Everything runs in one child process whose BLAS is pinned to one thread
(OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and
BLIS_NUM_THREADS set to 1 before NumPy is imported; NOMA's code is single
threaded). NOMA is timed in-process through the Python API
(`Program.run(args=...)`), which copies both arguments into the program's
buffers and the result out; that fixed cost is measured apart, with a
program that takes the same arguments and returns `A` (`baseline_ms`), and
subtracted: `noma_ms` is the matmul alone, `noma_raw_ms` the whole call.
The three (matmul, baseline, NumPy) are interleaved in each of the runs,
and the medians are reported. Before anything is timed, NOMA's product is
checked against NumPy's to 1e-12 of the norm of |A| . |B| (the sums are in
different orders, so the last bits differ).

GFLOP/s count 2 * n^3 flops; `ratio` is NOMA's GFLOP/s over NumPy's.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from one_thread import one_thread_environment, thread_settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROGRAM = HERE / "gemm.noma"
BASELINE_SOURCE = "fn main(A, B) { return A; }"
SIZES = (256, 512)
TOLERANCE = 1e-12


class GemmBenchmarkError(RuntimeError):
    """A side cannot run, or NOMA's product is not NumPy's."""


def run_gemm_benchmark(runs: int, sizes: tuple[int, ...] = SIZES) -> dict[str, object]:
    """The report, measured in a child process with one BLAS thread."""
    env = {**os.environ, **one_thread_environment()}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(runs), *map(str, sizes)],
        capture_output=True, text=True, env=env, check=False, timeout=1800,
    )  # fmt: skip
    if child.returncode != 0:
        raise GemmBenchmarkError(
            child.stderr.strip() or f"the child exited with {child.returncode}"
        )
    report: dict[str, object] = json.loads(child.stdout.splitlines()[-1])
    return report


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def measure(runs: int, sizes: tuple[int, ...]) -> dict[str, object]:
    """In the child: compile, check, then time the interleaved sides."""
    import numpy as np

    import noma

    matmul = noma.compile(PROGRAM)
    baseline = noma.compile(BASELINE_SOURCE)
    results: dict[str, object] = {}
    for n in sizes:
        rng = np.random.default_rng(n)
        a, b = rng.normal(size=(n, n)), rng.normal(size=(n, n))
        args = {"A": a, "B": b}
        got = np.asarray(matmul.run(args=args))
        expected = a @ b
        scale = float(np.max(np.abs(a) @ np.abs(b)))
        worst = float(np.max(np.abs(got - expected))) / scale
        if not worst <= TOLERANCE:
            raise GemmBenchmarkError(
                f"{n}x{n}: NOMA's product differs from NumPy's by {worst:.3g} of the scale"
            )
        baseline.run(args=args)
        sides = {
            "noma_raw": lambda args=args: matmul.run(args=args),
            "baseline": lambda args=args: baseline.run(args=args),
            "numpy": lambda a=a, b=b: a @ b,
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(runs):
            for name, side in sides.items():
                start = time.perf_counter()
                side()
                times[name].append(time.perf_counter() - start)
        raw_ms, base_ms, numpy_ms = (
            _median_ms(times[k]) for k in ("noma_raw", "baseline", "numpy")
        )
        noma_ms = max(raw_ms - base_ms, 1e-6)
        flops = 2.0 * n**3

        def gflops(ms: float, flops: float = flops) -> float:
            return flops / (ms * 1e-3) / 1e9

        results[str(n)] = {
            "noma_ms": noma_ms,
            "noma_raw_ms": raw_ms,
            "baseline_ms": base_ms,
            "numpy_ms": numpy_ms,
            "noma_gflops": gflops(noma_ms),
            "noma_raw_gflops": gflops(raw_ms),
            "numpy_gflops": gflops(numpy_ms),
            "ratio": gflops(noma_ms) / gflops(numpy_ms),
            "ratio_raw": gflops(raw_ms) / gflops(numpy_ms),
            "max_rel_diff": worst,
            "times_ms": {name: [t * 1e3 for t in ts] for name, ts in times.items()},
        }
    from noma.lowering.lower_matmul import LowerMatmulPass

    kernel = LowerMatmulPass().kernel_shape()
    return {
        "benchmark": "gemm",
        "description": "C = A . B, f64, NOMA (noma-lower-matmul) against NumPy's BLAS on one thread",
        "sizes": results,
        "runs": runs,
        "timing_note": "in-process Python API; noma_ms = median call minus the median call of "
        "a program returning A with the same arguments (baseline_ms)",
        "kernel": {
            "vector_width": kernel.width,
            "register_block": f"{kernel.rows}x{kernel.cols}",
            "tile_m": kernel.tile_m,
            "tile_k": kernel.tile_k,
        },
        "blas_threads": thread_settings(),
        "rel_tol": TOLERANCE,
    }


def _child(argv: list[str]) -> int:
    runs, sizes = int(argv[0]), tuple(int(s) for s in argv[1:])
    try:
        report = measure(runs, sizes)
    except GemmBenchmarkError as e:
        print(e, file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    sys.exit(_child(sys.argv[2:]))
