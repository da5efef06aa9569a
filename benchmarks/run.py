#!/usr/bin/env python3
"""Benchmarks: the same training as compiled NOMA and as hand-written peers.

    python benchmarks/run.py xor            # 9 timed runs of each, results saved
    python benchmarks/run.py xor --quick    # a smoke test: few runs, nothing saved
    python benchmarks/run.py xor --runs 15 --output /tmp/xor.json
    python benchmarks/run.py xor-growth     # the self-growing XOR demo, the same way
    python benchmarks/run.py mlp            # a 64-128-10 MLP, full batch, and digits

`xor` trains a 2-16-1 sigmoid network on XOR with Adam (320 steps, f64, the
initial weights of data/xor_init.json) as (a) examples/xor_2_16_1.noma,
compiled by NOMA, (b) benchmarks/peers/xor.c, gradients by hand, built here
with `cc -O2`, (c) benchmarks/peers/xor_numpy.py, gradients by hand. It checks
that the three reach the same final loss (1e-9 relative), times the training
of each (the median of the runs; NOMA's compile time is excluded and reported
apart as `compile_s`: a whole `python -c "import noma; noma.compile(...).jit"`
process, source to machine code), and prints one JSON object as the last line
of stdout. A full run (not `--quick`) also writes it to
benchmarks/results/<benchmark>.json.

`xor-growth` is the self-growing XOR demo: a 2-2-1 sigmoid network trains
with Adam(0.05) for 200 steps, grows (index preserving, with its Adam state)
into a 2-16-1 network, and trains with Adam(0.12) until the loss is below
0.002, as (a) examples/self_growing_xor.noma, (b)
benchmarks/peers/xor_growth.c, (c) benchmarks/peers/xor_growth_numpy.py. Each
side prints every loss, as the NOMA program does (to /dev/null while timed):
NOMA in the shortest form that reads back exactly (as Python's repr), which
its runtime finds by trying precisions with snprintf and strtod, a few
microseconds a number; C with one "%.17g"; NumPy with print().
Besides the final losses it checks that the three take the same number of
phase-2 steps (NOMA's counted from the losses it printed in the warm-up
run). It also reports `growth_us`, the time of one growth event in NOMA: a
separate program (written to the build directory) gives W1 and W2 Adam state
with one step, then runs GROWTH_PAIRS times, in a `while` loop, the demo's
growth event (`realloc W1 = [2, 16] init tensor [...]; realloc W2 = [16, 1]
init tensor [...];`) and the shrink back (`realloc W1 = [2, 2]; realloc W2 =
[2, 1];`), and returns sum(W1) + sum(W2), checked against the weights after
that one step. growth_us is the median time of that program divided by
2 * GROWTH_PAIRS: the mean of a growth and a shrink (each of both
parameters, with their Adam moments), including the loop's own overhead and
a 1/(2 * GROWTH_PAIRS) share of the program's fixed cost (the call, the set
up and the one Adam step); `growth_note` in the report says so.

`digits` trains the 64-128-10 relu MLP of examples/digits_mlp.noma on the
8x8 digits (examples/data/digits: 1,437 training images; log_softmax
cross-entropy, 20 passes of Adam(0.001) in blocks of 32 rows, f64) as (a)
that program, (b) benchmarks/peers/digits_numpy.py (the NumPy reference of
the tests, gradients by hand) and (c) benchmarks/peers/digits_torch.py
(PyTorch autograd), when PyTorch is installed. Besides the final losses it
checks that every side computes the same test accuracy, and reports each
side's time per pass (epoch), the median training time divided by 20.
NOMA's time is a whole `p.run()`: reading the four CSV files and drawing
the initial weights included; the peers load the data and draw the weights
before their clock starts (`timing_note` in the report says so).

`mlp` trains a 64-128-10 relu MLP full batch (all 1,797 rows in every step,
the size of the digits set) with log_softmax cross-entropy written with axis
reductions, 100 steps of Adam(0.01), f64, on data the program draws (X
uniform on [0, 1), labels from a random linear teacher) as (a)
benchmarks/mlp.noma, (a') benchmarks/mlp_files.noma, the side `noma_files`:
the same training with X, the labels and the initial W1 and W2 as main's
parameters, read from safetensors files that the harness writes into the
build directory (the very numbers mlp.noma draws, as
tests/support/mlp_reference.py reproduces them) and gives as `--arg` files
do, (b) benchmarks/peers/mlp_numpy.py (gradients by hand) and (c)
benchmarks/peers/mlp_torch.py (eager autograd, torch.optim.Adam), when
PyTorch is installed (otherwise a note on stderr says why it is skipped,
and `skipped_peers` in the report). It checks the four final losses agree,
and reports each side's time per step (`<side>_ms_per_step`, the median
training time divided by 100). NOMA's times are whole `p.run()`s: drawing
the data and the weights (mlp.noma) or reading the four files
(mlp_files.noma) included; the peers' data are drawn before their clock
starts (`timing_note`). `targets` says whether NOMA's drawn program meets
the issue's targets, ms per step at or below PyTorch's (None without
PyTorch) and within 1.5x of NumPy's, with the ratios in `target_ratios`; a
target missed is a note on stderr, not a failure. Then it runs the `digits`
benchmark with the same options and keeps its times per epoch, losses,
test accuracies and agreement flags as `digits`; a disagreement there fails
the run too.

Every side runs on one thread: run.py sets OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS and BLIS_NUM_THREADS to 1 before NumPy is
imported (benchmarks/one_thread.py; `blas_threads` in the reports), and the
PyTorch peers call torch.set_num_threads(1). PyTorch is the `bench` extra:
pip install -e '.[bench]'.

Exit status: 0 on success, 1 when a side cannot run (NOMA cannot compile the
program, no C compiler, ...) or the sides disagree (final losses, phase-2
steps for xor-growth, test accuracies for digits, also within mlp), 2 for
bad usage.

A benchmark is an entry of BENCHMARKS: a NOMA program and the peers that
compute the same thing; a new one (such as `xor-growth`, the self-growing
variant) is one more entry, and gets its subcommand and options from there.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from one_thread import pin_this_process, thread_settings
from script_module import load_module

if __name__ == "__main__":
    # Before anything imports NumPy (the modules below, the peers): BLAS
    # reads these once, when it is loaded. Only when run as the tool, so
    # that a test importing this module leaves its session's environment be.
    pin_this_process()

compile_times = load_module(Path(__file__).resolve().parent / "compile_times.py")
print_format = load_module(Path(__file__).resolve().parent / "print_format.py")
gemm = load_module(Path(__file__).resolve().parent / "gemm.py")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD_DIR = HERE / "build"
RESULTS_DIR = HERE / "results"
PEERS_DIR = HERE / "peers"

DEFAULT_RUNS = 9
QUICK_RUNS = 3
DEFAULT_COMPILE_RUNS = 3
QUICK_COMPILE_RUNS = 1
REL_TOL = 1e-9
GROWTH_PAIRS = 1000
"""Grow-and-shrink pairs in the program that times xor-growth's growth_us."""

CC_FLAGS = ["-O2", "-std=c11", "-ffp-contract=off"]
"""`-ffp-contract=off`: no fused multiply-adds, so the C peer rounds every
operation as NOMA's code does (LLVM does not contract without fast-math)."""

TOOL = "benchmarks/run.py"


class BenchmarkError(Exception):
    """A side of the benchmark cannot run, or the sides disagree: reported as
    a message and exit status 1, never as a traceback."""


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------


@dataclass
class Timing:
    """The final loss one side computed and the seconds each timed training
    took."""

    final_loss: float
    times_s: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_s) * 1e3

    @property
    def runs(self) -> int:
        return len(self.times_s)


@dataclass
class Options:
    runs: int
    compile_runs: int
    build_dir: Path
    quick: bool


# --------------------------------------------------------------------------
# Peers
# --------------------------------------------------------------------------


@dataclass
class CPeer:
    """A C program built here with `cc` and run once: it trains R times in
    one process, times each training itself, and prints one line of JSON
    with `median_s`, `times_s` and `final_loss`. Its data comes from headers
    generated at build time (name -> text), so nothing is read at run time."""

    source: Path
    headers: Callable[[], dict[str, str]]

    entry: str = "xor_train_timed"
    """`double entry(double *seconds)`: one timed training, its final loss."""

    _libraries: dict[Path, ctypes.CDLL] = field(default_factory=dict, init=False, repr=False)

    def build(self, build_dir: Path, shared: bool = False) -> Path:
        """The peer as an executable, or as a shared library for `trainer`."""
        cc = shutil.which("cc")
        if cc is None:
            raise BenchmarkError("the C peer needs a C compiler, and `cc` is not on PATH")
        build_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self.headers().items():
            write_atomically(build_dir / name, text)
        exe = build_dir / (f"lib{self.source.stem}.so" if shared else self.source.stem)
        temp = build_dir / f".{exe.name}.{os.getpid()}.tmp"
        kind = ["-shared", "-fPIC"] if shared else []
        command = [
            cc, *CC_FLAGS, *kind, "-I", str(build_dir), "-o", str(temp), str(self.source), "-lm"
        ]  # fmt: skip
        try:
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise BenchmarkError(
                    f"building the C peer failed:\n$ {' '.join(command)}\n{proc.stderr.rstrip()}"
                )
            os.replace(temp, exe)
        finally:
            temp.unlink(missing_ok=True)
        return exe

    def library(self, options: Options) -> ctypes.CDLL:
        """The peer as a shared library loaded in this process, built once
        per build directory."""
        if options.build_dir not in self._libraries:
            path = self.build(options.build_dir, shared=True)
            self._libraries[options.build_dir] = ctypes.CDLL(str(path))
        return self._libraries[options.build_dir]

    def trainer(self, options: Options) -> Callable[[], tuple[float, float]]:
        """One timed training per call, in this process: the library's own
        clock times it, so the ctypes call is not counted."""
        train = getattr(self.library(options), self.entry)
        train.restype = ctypes.c_double
        train.argtypes = [ctypes.POINTER(ctypes.c_double)]

        def once() -> tuple[float, float]:
            elapsed = ctypes.c_double()
            loss = train(ctypes.byref(elapsed))
            return loss, elapsed.value

        return once


@dataclass
class PythonPeer:
    """A Python function `train() -> (final_loss, seconds)` that times its own
    training; called once to warm up, then once per timed run."""

    source: Path
    function: str = "train"

    def trainer(self, options: Options) -> Callable[[], tuple[float, float]]:
        return getattr(load_module(self.source), self.function)


# --------------------------------------------------------------------------
# NOMA
# --------------------------------------------------------------------------


class NomaUnavailable(BenchmarkError):
    """NOMA cannot compile or run the benchmark's program (yet)."""


def display_path(path: Path) -> str:
    """`path` relative to the current directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def describe_compile_error(error: BaseException) -> str:
    """A compile error as NOMA's tools print it (`file:line:col: error: ...`
    and the source line); anything else as a one-line internal error."""
    try:
        from noma.frontend.diagnostics import NomaError
    except ImportError:
        NomaError = ()  # no NOMA at all: fall through
    if isinstance(error, NomaError):
        return error.render()
    if os.environ.get("NOMA_DEBUG"):
        traceback.print_exception(error)
    return f"{type(error).__name__}: {error}\n(set NOMA_DEBUG=1 to see where it happened)"


@contextlib.contextmanager
def redirected_output(stdout: int, stderr: int) -> Iterator[None]:
    """Point file descriptors 1 and 2 at `stdout` and `stderr` (open file
    descriptors): compiled code prints through C stdio, which Python's
    sys.stdout does not see. Everything buffered is flushed on both sides of
    the switch, so nothing leaks out of order."""
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        yield
    finally:
        libc.fflush(None)
        sys.stdout.flush()  # what Python code printed meanwhile (the NumPy peers)
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def noma_trainer(
    example: Path,
    expected_stderr: Callable[[str], bool],
    printed: Callable[[str], None] | None = None,
    arg_files: Mapping[str, Path] | None = None,
) -> Callable[[], tuple[float, float]]:
    """Compile once in this process (`p.jit`) and run once to warm up, its
    stderr checked with `expected_stderr` and its stdout given to `printed`;
    then each call of the trainer times one `p.run()` (with the program's
    output sent wherever the caller redirected fd 1 and 2). `arg_files`
    gives main's parameters their files (as `--arg NAME=FILE`): the program
    is compiled for their ranks, and every run reads them."""
    shown = display_path(example)
    files = {name: str(path) for name, path in (arg_files or {}).items()} or None
    try:
        import noma

        # diagnostics name the path as shown
        program = noma.compile(Path(shown), arg_files=files)
        program.jit  # noqa: B018 - compiles to machine code
    except Exception as e:  # noqa: BLE001 - reported, not raised
        raise NomaUnavailable(
            f"NOMA cannot compile {shown} yet, so there is nothing to compare:\n"
            + describe_compile_error(e)
        ) from None

    def run_once() -> float:
        try:
            result = program.run(args=files)
        except Exception as e:  # noqa: BLE001 - ProgramError, or worse
            raise NomaUnavailable(
                f"{shown} compiled, but running it failed: {type(e).__name__}: {e}"
            ) from None
        if not isinstance(result, float):
            raise NomaUnavailable(f"{shown} must return the final loss, a scalar")
        return result

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        failure = None
        with redirected_output(out.fileno(), err.fileno()):
            try:
                run_once()
            except NomaUnavailable as e:
                failure = e
        err.seek(0)
        captured = err.read()
        out.seek(0)
        stdout = out.read()
    if failure is not None:
        raise NomaUnavailable(f"{failure}\n{captured.rstrip()}".rstrip()) from None
    if not expected_stderr(captured):
        sys.stderr.write(
            f"{TOOL}: note: {shown} did not print what was expected on stderr; it printed:\n"
            + (captured or "(nothing)\n")
        )
    if printed is not None:
        printed(stdout)

    def once() -> tuple[float, float]:
        start = time.perf_counter()
        loss = run_once()
        return loss, time.perf_counter() - start

    return once


def measure_interleaved(
    trainers: dict[str, Callable[[], tuple[float, float]]], runs: int
) -> dict[str, Timing]:
    """`runs` rounds, each timing every side once (in an order that rotates),
    so that all sides meet the same machine: on a shared machine speed drifts
    over seconds, and timing one side after the other would compare phases,
    not code. Each timed training directly follows an untimed one of the same
    side, so it runs with warm caches rather than just after another side
    evicted them. Output goes to /dev/null meanwhile."""
    names = list(trainers)
    with open(os.devnull, "w") as null, redirected_output(null.fileno(), null.fileno()):
        first = {name: train()[0] for name, train in trainers.items()}  # warm-up
        times: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(runs):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                trainers[name]()
                loss, seconds = trainers[name]()
                if loss != first[name]:
                    raise BenchmarkError(
                        f"the {name} side is not deterministic: final loss {loss!r}, "
                        f"then {first[name]!r}"
                    )
                times[name].append(seconds)
    return {name: Timing(first[name], times[name]) for name in names}


def measure_call_overhead(runs: int) -> float | None:
    """The median milliseconds of `p.run()` for a program that does nothing:
    the fixed cost of calling compiled NOMA from Python, included in
    `noma_ms`. None if it cannot be measured."""
    try:
        empty = ROOT / "benchmarks" / "build" / "empty.noma"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.write_text("fn main() { return 0.0; }\n")
        trainer = noma_trainer(empty, lambda text: text == "")
        return measure_interleaved({"noma": trainer}, runs)["noma"].median_ms
    except Exception:  # noqa: BLE001 - an extra, not worth failing for
        return None


def measure_compile(example: Path, runs: int) -> list[float]:
    """Wall-clock seconds of whole processes that compile `example` to
    machine code: interpreter start-up, importing NOMA, every pass, LLVM
    (the C runtime is already built)."""
    code = "import sys, noma; noma.compile(sys.argv[1]).jit"
    # Without the compile cache, which would otherwise make every run after
    # the first a load of cached machine code (benchmarks/compile_times.py
    # measures that case).
    env = {**os.environ, "NOMA_NO_CACHE": "1"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, display_path(example)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise NomaUnavailable(
                f"compiling {display_path(example)} in a fresh process failed:\n"
                + proc.stderr.rstrip()
            )
    return times


# --------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------


@dataclass
class Measured:
    """What a benchmark's `extras` get once every side has been timed."""

    bench: Benchmark
    options: Options
    example: Path
    noma_stdout: str
    """What the NOMA program printed on stdout in its warm-up run."""
    timings: dict[str, Timing]
    """Every side's timing, NOMA's (`noma`, `noma_files`, ...) and the peers'."""


@dataclass
class NomaSide:
    """One more NOMA program timed as a side of its own, beside the
    benchmark's `example`: one whose main reads its arguments from files
    that the harness writes before compiling it."""

    example: Path
    arg_files: Callable[[Path], dict[str, Path]]
    """Writes the files into the build directory given; main's parameter
    -> its file."""


class PerUnit(NamedTuple):
    """What one training repeats `count` times (a `step`, an `epoch`): the
    report gives each side's median time per unit, `<side>_ms_per_<unit>`."""

    unit: str
    count: int


@dataclass
class Benchmark:
    name: str
    help: str
    example: Path
    peers: dict[str, CPeer | PythonPeer]
    skipped_peers: dict[str, str] = field(default_factory=dict)
    """Peers that cannot run here (an optional dependency is missing), and
    why: a note on stderr and `skipped_peers` in the report."""
    noma_sides: dict[str, NomaSide] = field(default_factory=dict)
    """More NOMA sides, by name (`noma_files`): timed and checked like the
    rest; compile_s stays that of `example`."""
    expected_stderr: Callable[[str], bool] = field(default=lambda text: text == "")
    details: dict[str, object] = field(default_factory=dict)
    extras: Callable[[Measured], dict[str, object]] | None = None
    """More checks and measurements, as fields of the report; an agreement
    flag of AGREEMENTS among them that is false makes the run fail."""
    per_unit: PerUnit | None = None
    """What a training repeats (steps, passes over the data), and how many
    times."""


def xor_weights(
    path: Path = ROOT / "data" / "xor_init.json",
) -> tuple[list[list[float]], list[float]]:
    """W1 (2x16) = [W1 | W1_extra] and W2 (16, as a column) = [W2 ; W2_extra]."""
    data = json.loads(path.read_text(encoding="utf-8"))
    w1 = [row + extra for row, extra in zip(data["W1"], data["W1_extra"], strict=True)]
    w2 = [row[0] for row in data["W2"] + data["W2_extra"]]
    if len(w1) != 2 or any(len(row) != 16 for row in w1) or len(w2) != 16:
        raise BenchmarkError(f"{path}: expected W1 2x16 and W2 16x1 after concatenation")
    return w1, w2


def xor_headers() -> dict[str, str]:
    w1, w2 = xor_weights()
    rows = ",\n    ".join("{" + ", ".join(repr(x) for x in row) + "}" for row in w1)
    column = ",\n    ".join("{" + repr(x) + "}" for x in w2)
    return {
        "xor_init.h": (
            "/* Generated by benchmarks/run.py from data/xor_init.json. */\n"
            f"static const double XOR_W1_INIT[2][16] = {{\n    {rows}}};\n"
            f"static const double XOR_W2_INIT[16][1] = {{\n    {column}}};\n"
        )
    }


def max_iterations_warning(count: int) -> Callable[[str], bool]:
    """Exactly one line on stderr: the warning of a loop stopped at
    max_iterations = `count`."""

    def check(text: str) -> bool:
        lines = text.splitlines()
        return (
            len(lines) == 1 and "warning" in lines[0] and f"max_iterations = {count} " in lines[0]
        )

    return check


# --------------------------------------------------------------------------
# xor-growth
# --------------------------------------------------------------------------


def growth_module(name: str) -> ModuleType:
    """benchmarks/gen_growth_example.py (`gen`) or the NumPy peer (`numpy`)."""
    paths = {"gen": HERE / "gen_growth_example.py", "numpy": PEERS_DIR / "xor_growth_numpy.py"}
    return load_module(paths[name])


def xor_growth_headers() -> dict[str, str]:
    """The four arrays of data/xor_init.json as C arrays (XG_W1 2x2, XG_W2
    2x1, XG_W1_EXTRA 2x14, XG_W2_EXTRA 14x1), each checked for its shape."""
    weights = growth_module("numpy").initial_weights()
    arrays = {
        "XG_W1": weights.w1,
        "XG_W2": weights.w2,
        "XG_W1_EXTRA": weights.w1_extra,
        "XG_W2_EXTRA": weights.w2_extra,
    }
    text = "/* Generated by benchmarks/run.py from data/xor_init.json. */\n"
    for name, array in arrays.items():
        rows = ",\n    ".join("{" + ", ".join(repr(x) for x in row) + "}" for row in array.tolist())
        text += (
            f"static const double {name}[{array.shape[0]}][{array.shape[1]}] = {{\n    {rows}}};\n"
        )
    return {"xor_growth_init.h": text}


def noma_phase2_steps(stdout: str, shown: str) -> int:
    """The steps of phase 2, from what the NOMA program printed: one loss per
    iteration (phase 1 prints max_iterations of them, each iteration taking
    its step; phase 2 its steps + 1, the last meeting `until`); `p.run()`
    does not print main's result."""
    phase1 = growth_module("numpy").PHASE1.max_iterations
    lines = stdout.split()
    try:
        [float(line) for line in lines]
    except ValueError:
        raise BenchmarkError(f"{shown} printed something else than losses:\n{stdout}") from None
    if len(lines) <= phase1:
        raise BenchmarkError(
            f"{shown} printed {len(lines)} losses, expected the {phase1} of phase 1 and at "
            "least one of phase 2"
        )
    return len(lines) - phase1 - 1


def c_phase2_steps(peer: CPeer, options: Options) -> int:
    """The steps of phase 2 the C peer takes (state kept, nothing printed)."""
    train = peer.library(options).xor_growth_train
    train.restype = ctypes.c_double
    train.argtypes = [
        ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double)
    ]  # fmt: skip
    steps, elapsed = (ctypes.c_int * 2)(), ctypes.c_double()
    train(0, 0, steps, ctypes.byref(elapsed))
    return steps[1]


GROWTH_NOTE = (
    "growth_us: the median time of a NOMA program that, after one Adam step on W1 (2x2) and "
    "W2 (2x1), runs {pairs} times in a while loop the growth event of "
    "examples/self_growing_xor.noma (realloc W1 = [2, 16] and W2 = [16, 1], each with its "
    "init tensor) and the shrink back (realloc W1 = [2, 2]; realloc W2 = [2, 1]), divided by "
    "2 * {pairs}: the mean time of one grow or shrink of both parameters with their Adam "
    "moments, including the loop's overhead and 1/{events} of the program's fixed cost (call, "
    "set-up, one Adam step); no baseline is subtracted"
)


def growth_event_program(pairs: int) -> str:
    """The program that times growth_us (see GROWTH_NOTE)."""
    gen = growth_module("gen")
    weights = growth_module("numpy").initial_weights()
    indent = "    "
    return f"""\
// Written by benchmarks/run.py xor-growth to time one growth event: see
// GROWTH_NOTE there. Returns sum(W1) + sum(W2), which the growth and shrink
// pairs must leave as the Adam step made them.
fn main() {{
    let X = tensor [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let Y = tensor [[0.0], [1.0], [1.0], [0.0]];
    learn W1 = {gen.literal(weights.w1)};
    learn W2 = {gen.literal(weights.w2)};
    let max_iterations = 1;
    optimize(W1, W2) with adam(0.05) until loss < 0 {{
        let pred = sigmoid(matmul(sigmoid(matmul(X, W1)), W2));
        let loss = mean((pred - Y) * (pred - Y));
        minimize loss;
    }}
    let i = 0;
    while i < {pairs} {{
        {gen.realloc_statements(indent=indent * 2)}
        realloc W1 = [2, 2];
        realloc W2 = [2, 1];
        i = i + 1;
    }}
    return sum(W1) + sum(W2);
}}
"""


def growth_event_expected() -> float:
    """sum(W1) + sum(W2) after the growth-event program's one Adam step."""
    peer = growth_module("numpy")
    weights = peer.initial_weights()
    model = peer.Model(weights.w1, weights.w2)
    _, dw1, dw2 = peer.loss_and_grads(model.w1, model.w2)
    w1 = model.adam1.step(model.w1, dw1, peer.PHASE1.lr)
    w2 = model.adam2.step(model.w2, dw2, peer.PHASE1.lr)
    return float(w1.sum() + w2.sum())


def measure_growth_event(options: Options) -> dict[str, object]:
    """growth_us and what it is (see GROWTH_NOTE)."""
    program = options.build_dir / "growth_event.noma"
    write_atomically(program, growth_event_program(GROWTH_PAIRS))
    trainer = noma_trainer(program, max_iterations_warning(1))
    timing = measure_interleaved({"growth": trainer}, options.runs)["growth"]
    expected = growth_event_expected()
    if not math.isclose(timing.final_loss, expected, rel_tol=REL_TOL, abs_tol=0.0):
        raise BenchmarkError(
            f"{display_path(program)} returned sum(W1) + sum(W2) = {timing.final_loss!r}, "
            f"expected {expected!r}: growing and shrinking back changed the weights"
        )
    return {
        "growth_us": timing.median_ms * 1e3 / (2 * GROWTH_PAIRS),
        "growth_note": GROWTH_NOTE.format(pairs=GROWTH_PAIRS, events=2 * GROWTH_PAIRS),
        "growth_pairs": GROWTH_PAIRS,
        "growth_program_ms": timing.median_ms,
        "growth_program_times_ms": [s * 1e3 for s in timing.times_s],
    }


def xor_growth_extras(measured: Measured) -> dict[str, object]:
    """The phase-2 steps of every side, whether they agree, and growth_us."""
    c_peer = measured.bench.peers["c"]
    assert isinstance(c_peer, CPeer)
    steps = {
        "noma": noma_phase2_steps(measured.noma_stdout, display_path(measured.example)),
        "c": c_phase2_steps(c_peer, measured.options),
        "numpy": growth_module("numpy").run().phase2_steps,
    }
    return {
        "phase2_steps": steps,
        "phase2_steps_agree": len(set(steps.values())) == 1,
        **measure_growth_event(measured.options),
    }


# --------------------------------------------------------------------------
# PyTorch, an optional peer
# --------------------------------------------------------------------------

TORCH_MISSING = (
    "PyTorch is not installed (pip install -e '.[bench]')"
    if importlib.util.find_spec("torch") is None
    else None
)
"""Why the PyTorch peers cannot run here, or None when they can. Only
looked up, not imported: importing torch takes a second, and only the
benchmarks that time it need it."""


def numpy_and_torch_peers(stem: str) -> dict[str, CPeer | PythonPeer]:
    """benchmarks/peers/<stem>_numpy.py always, <stem>_torch.py when
    PyTorch is installed."""
    peers: dict[str, CPeer | PythonPeer] = {"numpy": PythonPeer(PEERS_DIR / f"{stem}_numpy.py")}
    if TORCH_MISSING is None:
        peers["torch"] = PythonPeer(PEERS_DIR / f"{stem}_torch.py")
    return peers


def torch_skipped() -> dict[str, str]:
    """The PyTorch peer and why it is skipped, or nothing when it runs."""
    return {} if TORCH_MISSING is None else {"torch": TORCH_MISSING}


# --------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------

DIGITS_EPOCHS = 20


def noma_test_accuracy(stdout: str, shown: str) -> float:
    """The test accuracy the digits program printed after its pass losses."""
    lines = stdout.split()
    try:
        values = [float(line) for line in lines]
    except ValueError:
        raise BenchmarkError(f"{shown} printed something else than numbers:\n{stdout}") from None
    if len(values) != DIGITS_EPOCHS + 1:
        raise BenchmarkError(
            f"{shown} printed {len(values)} numbers, expected {DIGITS_EPOCHS} pass losses "
            "and the test accuracy"
        )
    return values[-1]


def digits_extras(measured: Measured) -> dict[str, object]:
    """Every side's test accuracy and whether they agree (exactly: the same
    images classified right)."""
    accuracies = {
        "noma": noma_test_accuracy(measured.noma_stdout, display_path(measured.example)),
        **{
            name: load_module(peer.source).run()[1]
            for name, peer in measured.bench.peers.items()
            if isinstance(peer, PythonPeer)
        },
    }
    return {
        "test_accuracy": accuracies,
        "test_accuracies_agree": len(set(accuracies.values())) == 1,
        "torch_installed": "torch" in measured.bench.peers,
        "timing_note": (
            "noma_ms is a whole run of the program: reading the four CSV files, drawing the "
            "initial weights, 20 passes and the test accuracy; the peers' times cover the 20 "
            "passes and the test accuracy (data loaded and weights drawn before); *_ms_per_epoch "
            "is the median time divided by 20"
        ),
    }


# --------------------------------------------------------------------------
# mlp
# --------------------------------------------------------------------------

MLP_STEPS = 100
MLP_ROWS = 1797
NUMPY_TARGET_RATIO = 1.5
"""The issue's target: NOMA's ms per step within 1.5x of NumPy's (and at or
below PyTorch's)."""

MLP_TIMING_NOTE = (
    "noma_ms is a whole run of benchmarks/mlp.noma: drawing the data (X, the teacher, the "
    "labels) and the initial weights, then 100 steps; noma_files_ms a whole run of "
    "benchmarks/mlp_files.noma: reading X, labels, W1_init and W2_init from safetensors "
    "files, then 100 steps; the peers' times cover the 100 steps (data drawn and tensors "
    "made before); *_ms_per_step is the median time divided by 100, and the targets compare "
    "noma_ms_per_step (the drawn program's)"
)


def mlp_arg_files(build_dir: Path) -> dict[str, Path]:
    """What benchmarks/mlp.noma draws (the very arrays the peers train on),
    as one safetensors file per parameter of benchmarks/mlp_files.noma."""
    import numpy as np
    import safetensors.numpy

    from noma import atomic

    problem = load_module(PEERS_DIR / "mlp_numpy.py").PROBLEM
    arrays = {
        "X": problem.x,
        "labels": problem.labels,
        "W1_init": problem.params["W1"],
        "W2_init": problem.params["W2"],
    }
    folder = build_dir / "mlp"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, array in arrays.items():
        files[name] = folder / f"{name}.safetensors"
        data = safetensors.numpy.save({name: np.ascontiguousarray(array, dtype=np.float64)})
        atomic.write_bytes(files[name], data)
    return files


def mlp_targets(timings: dict[str, Timing]) -> dict[str, object]:
    """The issue's targets for NOMA's (drawn) program, from the medians
    (the ratios of ms per step are those of whole trainings)."""
    noma = timings["noma"].median_ms
    over_torch = noma / timings["torch"].median_ms if "torch" in timings else None
    over_numpy = noma / timings["numpy"].median_ms
    return {
        "targets": {
            "noma_le_torch": None if over_torch is None else over_torch <= 1.0,
            "noma_within_1_5x_numpy": over_numpy <= NUMPY_TARGET_RATIO,
        },
        "target_ratios": {"noma_over_torch": over_torch, "noma_over_numpy": over_numpy},
    }


DIGITS_SUMMARY_KEYS = (
    "benchmark",
    "epochs",
    "final_loss",
    "losses_agree",
    "max_rel_loss_diff",
    "test_accuracy",
    "test_accuracies_agree",
    "torch_installed",
    "compile_s",
    "runs",
)


def digits_summary(report: dict[str, object]) -> dict[str, object]:
    """What the mlp report keeps of a digits report: times per epoch and
    ratios, losses, accuracies and the agreement flags (`finish` checks
    them there too)."""
    return {
        key: value
        for key, value in report.items()
        if key in DIGITS_SUMMARY_KEYS or key.endswith(("_ms_per_epoch", "_over_noma"))
    }


def mlp_extras(measured: Measured) -> dict[str, object]:
    """The targets, and the digits benchmark run with the same options."""
    digits = BENCHMARKS["digits"]
    return {
        "torch_installed": "torch" in measured.bench.peers,
        **mlp_targets(measured.timings),
        "timing_note": MLP_TIMING_NOTE,
        "digits": digits_summary(run_benchmark(digits, measured.options, digits.example)),
    }


BENCHMARKS: dict[str, Benchmark] = {
    "xor": Benchmark(
        name="xor",
        help="2-16-1 sigmoid network on XOR, 320 Adam steps, f64",
        example=ROOT / "examples" / "xor_2_16_1.noma",
        peers={
            "c": CPeer(PEERS_DIR / "xor.c", xor_headers),
            "numpy": PythonPeer(PEERS_DIR / "xor_numpy.py"),
        },
        expected_stderr=max_iterations_warning(320),
        details={"network": "2-16-1", "optimizer": "adam(0.05)", "steps": 320, "dtype": "f64"},
    ),
    "xor-growth": Benchmark(
        name="xor-growth",
        help="self-growing XOR: a 2-2-1 sigmoid network, 200 Adam steps, grown into 2-16-1, "
        "Adam until loss < 0.002, f64",
        example=ROOT / "examples" / "self_growing_xor.noma",
        peers={
            "c": CPeer(PEERS_DIR / "xor_growth.c", xor_growth_headers, "xor_growth_train_timed"),
            "numpy": PythonPeer(PEERS_DIR / "xor_growth_numpy.py"),
        },
        expected_stderr=max_iterations_warning(200),
        details={
            "network": "2-2-1, grown into 2-16-1",
            "optimizer": "adam(0.05), then adam(0.12)",
            "phase1_steps": 200,
            "phase2_max_iterations": 120,
            "until": "loss < 0.002",
            "optimizer_state": "kept across the growth",
            "dtype": "f64",
        },
        extras=xor_growth_extras,
    ),
    "digits": Benchmark(
        name="digits",
        help="64-128-10 relu MLP on the 8x8 digits (1,437 images), log_softmax cross-entropy, "
        "20 passes of Adam(0.001) in blocks of 32, f64",
        example=ROOT / "examples" / "digits_mlp.noma",
        peers=numpy_and_torch_peers("digits"),
        skipped_peers=torch_skipped(),
        details={
            "network": "64-128-10, relu",
            "loss": "log_softmax cross-entropy",
            "optimizer": "adam(0.001)",
            "batch": 32,
            "epochs": DIGITS_EPOCHS,
            "train_images": 1437,
            "test_images": 360,
            "dtype": "f64",
        },
        extras=digits_extras,
        per_unit=PerUnit("epoch", DIGITS_EPOCHS),
    ),
    "mlp": Benchmark(
        name="mlp",
        help=f"64-128-10 relu MLP, log_softmax cross-entropy, full batch of {MLP_ROWS} drawn rows, "
        f"{MLP_STEPS} steps of Adam(0.01), f64; drawn by the program and read from files; "
        "and the digits benchmark's time per epoch",
        example=HERE / "mlp.noma",
        peers=numpy_and_torch_peers("mlp"),
        skipped_peers=torch_skipped(),
        noma_sides={"noma_files": NomaSide(HERE / "mlp_files.noma", mlp_arg_files)},
        details={
            "network": "64-128-10, relu",
            "loss": "log_softmax cross-entropy (axis reductions)",
            "optimizer": "adam(0.01)",
            "batch": MLP_ROWS,
            "steps": MLP_STEPS,
            "data": "X uniform on [0, 1), labels from a random linear teacher, drawn by the "
            "program (noma_files: the same numbers read from safetensors files with --arg)",
            "dtype": "f64",
        },
        extras=mlp_extras,
        per_unit=PerUnit("step", MLP_STEPS),
    ),
}


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - reported as unknown
        return None


def machine_info() -> dict[str, object]:
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cc = None
    with contextlib.suppress(OSError):
        proc = subprocess.run(["cc", "--version"], capture_output=True, text=True, check=False)
        cc = proc.stdout.splitlines()[0] if proc.returncode == 0 and proc.stdout else None
    return {
        "cpu": cpu or platform.processor() or None,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "llvmlite": _version("llvmlite"),
        "cc": cc,
        "cc_flags": CC_FLAGS,
    }


def git_commit() -> str | None:
    """The commit of the tree measured, with `+dirty` for local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def write_atomically(path: Path, text: str) -> None:
    from noma import atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text)


def _losses_agree(losses: dict[str, float]) -> tuple[bool, float]:
    values = list(losses.values())
    worst = 0.0
    for a in values:
        for b in values:
            scale = max(abs(a), abs(b))
            worst = max(worst, abs(a - b) / scale if scale else 0.0)
    ok = all(math.isfinite(v) for v in values) and all(
        math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0) for a in values for b in values
    )
    return ok, worst


def _peer_summary(timings: dict[str, Timing]) -> str:
    return ", ".join(
        f"{name}: final loss {t.final_loss!r} in {t.median_ms:.3f} ms"
        for name, t in timings.items()
    )


def run_benchmark(bench: Benchmark, options: Options, example: Path) -> dict[str, object]:
    """Measure every side; the report, or BenchmarkError."""
    for name, reason in bench.skipped_peers.items():
        print(f"{TOOL} {bench.name}: note: no {name} side: {reason}", file=sys.stderr)
    trainers = {name: peer.trainer(options) for name, peer in bench.peers.items()}
    noma_stdout: list[str] = []
    try:
        nomas = {"noma": noma_trainer(example, bench.expected_stderr, noma_stdout.append)}
        for name, side in bench.noma_sides.items():
            files = side.arg_files(options.build_dir)
            nomas[name] = noma_trainer(side.example, bench.expected_stderr, arg_files=files)
        trainers = {**nomas, **trainers}
    except NomaUnavailable as e:
        peers = measure_interleaved(trainers, 1)
        raise NomaUnavailable(f"{e}\n(the peers ran: {_peer_summary(peers)})") from None
    timings = measure_interleaved(trainers, options.runs)
    compile_times = measure_compile(example, options.compile_runs)
    noma = timings["noma"]
    peers = {name: t for name, t in timings.items() if name != "noma"}
    losses = {name: t.final_loss for name, t in timings.items()}
    ok, worst = _losses_agree(losses)
    overhead_ms = measure_call_overhead(options.runs)
    measured = Measured(bench, options, example, noma_stdout[0], timings)
    extras = bench.extras(measured) if bench.extras else {}
    report: dict[str, object] = {
        "benchmark": bench.name,
        "description": bench.help,
        **bench.details,
        "noma_ms": noma.median_ms,
        **{f"{name}_ms": t.median_ms for name, t in peers.items()},
        "compile_s": statistics.median(compile_times),
        **{f"{name}_over_noma": t.median_ms / noma.median_ms for name, t in peers.items()},
        **(
            {
                f"{name}_ms_per_{bench.per_unit.unit}": t.median_ms / bench.per_unit.count
                for name, t in timings.items()
            }
            if bench.per_unit
            else {}
        ),
        "noma_call_overhead_ms": overhead_ms,
        "final_loss": losses,
        "losses_agree": ok,
        "max_rel_loss_diff": worst,
        "rel_tol": REL_TOL,
        **extras,
        "skipped_peers": bench.skipped_peers,
        "blas_threads": thread_settings(),
        "runs": {**{name: t.runs for name, t in timings.items()}, "compile": len(compile_times)},
        "min_ms": {name: min(t.times_s) * 1e3 for name, t in timings.items()},
        "times_ms": {name: [s * 1e3 for s in t.times_s] for name, t in timings.items()},
        "compile_times_s": compile_times,
        "quick": options.quick,
        "example": str(example.relative_to(ROOT)) if example.is_relative_to(ROOT) else str(example),
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
    }
    return report


AGREEMENTS = [
    ("losses_agree", "final_loss", f"the final losses disagree beyond {REL_TOL:g} relative"),
    ("phase2_steps_agree", "phase2_steps", "the sides take different numbers of phase-2 steps"),
    ("test_accuracies_agree", "test_accuracy", "the sides' test accuracies differ"),
]
"""(flag, values, message): a report whose `flag` is false fails the run,
its `values` (side -> value) are listed after the message."""


def disagreements(report: dict[str, object], name: str) -> list[str]:
    """The error lines for the AGREEMENTS flags that are false, in the
    report and in the reports of other benchmarks it holds (mlp's `digits`)."""
    found = [
        f"{TOOL} {name}: error: {what}: "
        + ", ".join(f"{k} {v!r}" for k, v in report[values].items())  # type: ignore[attr-defined]
        for flag, values, what in AGREEMENTS
        if report.get(flag, True) is False
    ]
    for value in report.values():
        if isinstance(value, dict) and "benchmark" in value:
            found += disagreements(value, f"{name} ({value['benchmark']})")
    return found


def note_missed_targets(report: dict[str, object], name: str) -> None:
    """A note on stderr for each target of the report not met (None, a
    target with a side that did not run, is not a miss). Not an error."""
    targets = report.get("targets", {})
    assert isinstance(targets, dict)
    missed = [target for target, met in targets.items() if met is False]
    if missed:
        print(f"{TOOL} {name}: note: targets not met: {', '.join(missed)}", file=sys.stderr)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=TOOL,
        description="Time NOMA against hand-written C and NumPy peers of the same training.",
    )
    commands = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for bench in BENCHMARKS.values():
        sub = commands.add_parser(bench.name, help=bench.help, description=bench.help)
        sub.add_argument(
            "--runs",
            type=positive_int,
            default=None,
            help=f"timed runs of each side; the median is reported "
            f"(default {DEFAULT_RUNS}, {QUICK_RUNS} with --quick)",
        )
        sub.add_argument(
            "--compile-runs",
            type=positive_int,
            default=None,
            help=f"fresh processes timed for compile_s (default {DEFAULT_COMPILE_RUNS}, "
            f"{QUICK_COMPILE_RUNS} with --quick)",
        )
        sub.add_argument(
            "--quick",
            action="store_true",
            help="a smoke test: few runs, and the results file is not written",
        )
        sub.add_argument(
            "--output",
            type=Path,
            default=None,
            help=f"write the JSON report here (default: benchmarks/results/{bench.name}.json, "
            "not written with --quick)",
        )
        sub.add_argument(
            "--example",
            type=Path,
            default=bench.example,
            help=f"the NOMA program to time (default: {bench.example.relative_to(ROOT)})",
        )
        sub.add_argument(
            "--build-dir",
            type=Path,
            default=BUILD_DIR,
            help="where the C peers and generated files are written (default: benchmarks/build)",
        )
    add_report_command(
        commands,
        "compile",
        "whole-process times of noma run (cold, cache miss, cache hit) and noma-opt",
        compile_times.__doc__,
        "processes timed per case; the median is reported",
    )
    add_report_command(
        commands,
        "print",
        "ns to format one f64: NOMA's shortest repr against C's %%.17g",
        print_format.__doc__,
        "timed passes over 10^6 numbers; the median is reported",
    )
    add_report_command(
        commands,
        "gemm",
        "GFLOP/s of C = A . B (256, 512, f64): NOMA against NumPy's BLAS on one thread",
        gemm.__doc__,
        "timed runs of each side",
    )
    return parser


def add_report_command(
    commands: argparse._SubParsersAction, name: str, summary: str, doc: str | None, runs_help: str
) -> None:
    """A subcommand with its own harness: --runs, --quick, --output."""
    sub = commands.add_parser(name, help=summary, description=(doc or "").split("\n\n")[0])
    sub.add_argument(
        "--runs",
        type=positive_int,
        default=None,
        help=f"{runs_help} (default {DEFAULT_RUNS}, {QUICK_RUNS} with --quick)",
    )
    sub.add_argument(
        "--quick", action="store_true", help="few runs, and the results file is not written"
    )
    sub.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"write the JSON report here (default: benchmarks/results/{name}.json, "
        "not written with --quick)",
    )


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    runs = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    if args.benchmark == "compile":
        return main_compile(args, runs)
    if args.benchmark == "print":
        return main_print(args, runs)
    if args.benchmark == "gemm":
        return main_gemm(args, runs)
    bench = BENCHMARKS[args.benchmark]
    if runs < 7 and not args.quick:
        print(f"{TOOL}: note: fewer than 7 runs; medians will be noisy", file=sys.stderr)
    options = Options(
        runs=runs,
        compile_runs=args.compile_runs
        or (QUICK_COMPILE_RUNS if args.quick else DEFAULT_COMPILE_RUNS),
        build_dir=args.build_dir,
        quick=args.quick,
    )
    if not args.example.is_file():
        print(f"{TOOL}: error: no such NOMA program: {args.example}", file=sys.stderr)
        return 1
    try:
        report = run_benchmark(bench, options, args.example.resolve())
    except BenchmarkError as e:
        print(f"{TOOL} {bench.name}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{TOOL}: interrupted", file=sys.stderr)
        return 1
    note_missed_targets(report, bench.name)
    return finish(report, bench.name, args.output, args.quick)


def main_compile(args: argparse.Namespace, runs: int) -> int:
    """`run.py compile`: see benchmarks/compile_times.py."""
    try:
        report = compile_times.run_compile_benchmark(runs)
    except compile_times.CompileBenchmarkError as e:
        print(f"{TOOL} compile: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{TOOL}: interrupted", file=sys.stderr)
        return 1
    stamp(report, args.quick)
    missed = [key for key, met in report["targets_met"].items() if not met]  # type: ignore[union-attr]
    if missed:
        print(f"{TOOL} compile: note: targets not met: {', '.join(missed)}", file=sys.stderr)
    return finish(report, "compile", args.output, args.quick)


def main_print(args: argparse.Namespace, runs: int) -> int:
    """`run.py print`: see benchmarks/print_format.py."""
    try:
        report = print_format.run_print_benchmark(runs)
    except print_format.PrintBenchmarkError as e:
        print(f"{TOOL} print: error: {e}", file=sys.stderr)
        return 1
    stamp(report, args.quick)
    return finish(report, "print", args.output, args.quick)


def main_gemm(args: argparse.Namespace, runs: int) -> int:
    """`run.py gemm`: see benchmarks/gemm.py."""
    try:
        report = gemm.run_gemm_benchmark(runs)
    except gemm.GemmBenchmarkError as e:
        print(f"{TOOL} gemm: error: {e}", file=sys.stderr)
        return 1
    stamp(report, args.quick)
    return finish(report, "gemm", args.output, args.quick)


def stamp(report: dict[str, object], quick: bool) -> None:
    """Add what every report records: the mode, the commit, the date and the machine."""
    report.update(
        quick=quick,
        commit=git_commit(),
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        machine=machine_info(),
    )


def finish(report: dict[str, object], name: str, output: Path | None, quick: bool) -> int:
    """Print the report as the last line of stdout and save it, or fail
    when its sides disagree."""
    text = json.dumps(report)
    errors = disagreements(report, name)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print(text)
        return 1
    output = output or (None if quick else RESULTS_DIR / f"{name}.json")
    if output is not None:
        write_atomically(output, json.dumps(report, indent=1) + "\n")
        print(f"{TOOL}: wrote {display_path(output)}", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
