"""`benchmarks/run.py compile`: how long NOMA's tools take as whole processes.

What a user waits for between typing a command and seeing its output, start-up
included, in four situations:

- `noma run` of examples/xor_2_16_1.noma and examples/self_growing_xor.noma
  - **cold**: an empty cache directory, so the C runtime is built too;
  - **miss**: the runtime already built, the program never seen (a copy of the
    example under a new name with a new trailing comment, so nothing about it
    can be cached);
  - **hit**: the same program run again, unchanged;
- `noma-opt -p canonicalize` on a small `.mlir` file, against `xdsl-opt` (the
  framework NOMA's tools are built on) and upstream `mlir-opt` on the same
  file, when they are installed: the peers of a tool's start-up.

NOMA's modules are byte-compiled first, and the timed processes may use
Python's bytecode cache, as in an installed NOMA. Each case is timed as
fresh processes, `runs` of them, with wall-clock time
and the CPU time (user + system) the kernel accounted to the process; the
median of each is reported. Every run's exit status and stdout are checked
(stdout against the example's checked-in `.out` file), so a fast wrong answer
is an error, not a result. All runs use private temporary cache directories
(`NOMA_CACHE_DIR`); the user's cache is never touched.

The report carries the issue's targets and whether each was met.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = {
    "xor": ROOT / "examples" / "xor_2_16_1.noma",
    "growth": ROOT / "examples" / "self_growing_xor.noma",
}

SMALL_MLIR = """\
func.func @axpy(%a: f64, %x: f64, %y: f64) -> f64 {
  %zero = arith.constant 0.0 : f64
  %ax = arith.mulf %a, %x : f64
  %s = arith.addf %ax, %y : f64
  %t = arith.addf %s, %zero : f64
  func.return %t : f64
}
"""
"""The small file of the `noma-opt` case: one function that canonicalize
touches (adding 0.0 is not folded for floats, so the file also survives it
unchanged in meaning)."""

TARGETS_S: dict[str, float] = {
    "run_xor_miss": 0.6,
    "run_growth_miss": 1.2,
    "run_xor_hit": 0.2,
    "run_growth_hit": 0.2,
    "noma_opt_canonicalize": 0.4,
}
"""Issue 10's targets, wall-clock seconds of the median process."""


class CompileBenchmarkError(Exception):
    """A timed process failed or printed the wrong output."""


@dataclass
class ProcessTimes:
    """Medians over the timed processes of one case."""

    wall_s: list[float]
    cpu_s: list[float]

    def summary(self) -> dict[str, object]:
        return {
            "wall_s": statistics.median(self.wall_s),
            "cpu_s": statistics.median(self.cpu_s),
            "wall_times_s": self.wall_s,
            "cpu_times_s": self.cpu_s,
        }


def tool(name: str) -> list[str] | None:
    """The console script `name` of this Python installation (no shell
    wrappers such as pyenv's shims in between), else the one on PATH."""
    script = Path(sysconfig.get_path("scripts")) / name
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which(name)
    return [found] if found else None


Check = Callable[[subprocess.CompletedProcess], None]
"""Raises CompileBenchmarkError when a timed process gave the wrong result."""


def measure(prepare: Callable[[int], tuple[Sequence[str], dict[str, str]]], runs: int,
            check: Check) -> ProcessTimes:
    """`runs` fresh processes, the i-th running the argv and environment
    `prepare(i)` gives. CPU time is the user + system time the kernel
    accounted to the process, read from this process's total for its
    reaped children before and after."""
    walls, cpus = [], []
    for i in range(runs):
        argv, env = prepare(i)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, cwd=ROOT, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        check(proc)
    return ProcessTimes(walls, cpus)


def expect_output(example: Path) -> Check:
    """A check that the run exited 0 and printed the example's `.out`."""
    expected = example.with_suffix(".out").read_bytes()

    def check(proc: subprocess.CompletedProcess) -> None:
        if proc.returncode != 0 or proc.stdout != expected:
            raise CompileBenchmarkError(
                f"`{' '.join(map(str, proc.args))}` exited {proc.returncode} "
                f"{'with the wrong output' if proc.returncode == 0 else ''}:\n"
                + proc.stderr.decode(errors="replace")[-2000:]
            )

    return check


def expect_success(proc: subprocess.CompletedProcess) -> None:
    if proc.returncode != 0:
        raise CompileBenchmarkError(
            f"`{' '.join(map(str, proc.args))}` exited {proc.returncode}:\n"
            + proc.stderr.decode(errors="replace")[-2000:]
        )


def _environment(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["NOMA_CACHE_DIR"] = str(cache_dir)
    # As a user's installation runs: with Python's bytecode cache (see
    # `compile_bytecode`), without the test suite's verification.
    for name in ("NOMA_NO_CACHE", "NOMA_VERIFY_EACH", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def compile_bytecode() -> None:
    """Byte-compile NOMA's modules, as `pip install` does: otherwise, in an
    environment with PYTHONDONTWRITEBYTECODE set (or a fresh checkout),
    every timed process would compile NOMA's Python source first."""
    import compileall

    import noma

    package = Path(noma.__file__).resolve().parent
    if not compileall.compile_dir(package, quiet=1):
        raise CompileBenchmarkError(f"byte-compiling {package} failed")


def measure_run(example: Path, runs: int, work: Path) -> dict[str, dict[str, object]]:
    """Cold, miss and hit times of `noma run example`."""
    noma = tool("noma")
    if noma is None:
        raise CompileBenchmarkError("the `noma` command is not installed (pip install -e .)")
    check = expect_output(example)
    source = example.read_text()
    # Copies live next to the example so that relative data paths in it
    # resolve as they do for the example itself; each is a program never seen.
    copies: list[Path] = []

    def fresh_copy() -> str:
        copy = example.with_name(f".bench-{os.getpid()}-{len(copies)}.noma")
        copy.write_text(f"{source}\n// benchmark copy {len(copies)} {time.time_ns()}\n")
        copies.append(copy)
        return str(copy)

    warm = _environment(work / "warm-cache")
    try:
        cold = measure(
            lambda i: ([*noma, "run", fresh_copy()], _environment(work / f"cold-{i}")),
            runs,
            check,
        )
        # Builds the runtime in the warm cache and caches the example.
        measure(lambda i: ([*noma, "run", str(example)], warm), 1, check)
        miss = measure(lambda i: ([*noma, "run", fresh_copy()], warm), runs, check)
        hit = measure(lambda i: ([*noma, "run", str(example)], warm), runs, check)
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)
    return {"cold": cold.summary(), "miss": miss.summary(), "hit": hit.summary()}


def measure_opt(runs: int, work: Path) -> dict[str, dict[str, object]]:
    """`-p canonicalize` on SMALL_MLIR: noma-opt and its peers."""
    path = work / "small.mlir"
    path.write_text(SMALL_MLIR)
    env = _environment(work / "opt-cache")
    commands = {
        "noma_opt": (tool("noma-opt"), ["-p", "canonicalize"]),
        "xdsl_opt": (tool("xdsl-opt"), ["-p", "canonicalize"]),
        "mlir_opt": (tool("mlir-opt-22") or tool("mlir-opt"), ["--canonicalize"]),
    }
    results: dict[str, dict[str, object]] = {}
    for name, (program, options) in commands.items():
        if program is None:
            if name == "noma_opt":
                raise CompileBenchmarkError("the `noma-opt` command is not installed")
            print(f"benchmarks/run.py compile: note: no {name.replace('_', '-')}; not measured")
            continue
        argv = [*program, *options, str(path)]
        results[name] = measure(lambda i: (argv, env), runs, expect_success).summary()
    return results


def run_compile_benchmark(runs: int) -> dict[str, object]:
    """Every case, as one report (without the machine and commit fields,
    which the caller adds)."""
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="noma-compile-bench-") as scratch:
        work = Path(scratch)
        noma_run = {name: measure_run(path, runs, work / name) for name, path in EXAMPLES.items()}
        opt = measure_opt(runs, work)
    walls = {
        "run_xor_miss": noma_run["xor"]["miss"]["wall_s"],
        "run_growth_miss": noma_run["growth"]["miss"]["wall_s"],
        "run_xor_hit": noma_run["xor"]["hit"]["wall_s"],
        "run_growth_hit": noma_run["growth"]["hit"]["wall_s"],
        "noma_opt_canonicalize": opt["noma_opt"]["wall_s"],
    }
    peers = {
        f"noma_opt_over_{name}": opt["noma_opt"]["wall_s"] / result["wall_s"]  # type: ignore[operator]
        for name, result in opt.items()
        if name != "noma_opt"
    }
    return {
        "benchmark": "compile",
        "description": "whole-process times of noma run (cold, cache miss, cache hit) "
        "and noma-opt -p canonicalize, medians",
        "noma_run": noma_run,
        "opt_canonicalize": opt,
        **peers,
        "targets_s": TARGETS_S,
        "measured_s": walls,
        "targets_met": {key: walls[key] <= limit for key, limit in TARGETS_S.items()},
        "runs": runs,
        "examples": {name: str(path.relative_to(ROOT)) for name, path in EXAMPLES.items()},
    }
