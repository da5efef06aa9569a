#!/usr/bin/env python3
"""Benchmarks: the same training as compiled NOMA and as hand-written peers.

    python benchmarks/run.py xor            # 9 timed runs of each, results saved
    python benchmarks/run.py xor --quick    # a smoke test: few runs, nothing saved
    python benchmarks/run.py xor --runs 15 --output /tmp/xor.json

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

Exit status: 0 on success, 1 when a side cannot run (NOMA cannot compile the
program, no C compiler, ...) or the final losses disagree, 2 for bad usage.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

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


def load_module(path: Path) -> ModuleType:
    """Import a peer written in Python from its file (benchmarks/ is not a
    package), once per process."""
    name = "noma_bench_" + path.stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


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

    def trainer(self, options: Options) -> Callable[[], tuple[float, float]]:
        """One timed training per call, in this process: the library's own
        clock times it, so the ctypes call is not counted."""
        library = ctypes.CDLL(str(self.build(options.build_dir, shared=True)))
        train = getattr(library, self.entry)
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
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def noma_trainer(
    example: Path, expected_stderr: Callable[[str], bool]
) -> Callable[[], tuple[float, float]]:
    """Compile once in this process (`p.jit`) and run once to warm up, its
    stderr checked with `expected_stderr`; then each call of the trainer
    times one `p.run()` (with the program's output sent wherever the caller
    redirected fd 1 and 2)."""
    shown = display_path(example)
    try:
        import noma

        program = noma.compile(Path(shown))  # diagnostics name the path as shown
        program.jit  # noqa: B018 - compiles to machine code
    except Exception as e:  # noqa: BLE001 - reported, not raised
        raise NomaUnavailable(
            f"NOMA cannot compile {shown} yet, so there is nothing to compare:\n"
            + describe_compile_error(e)
        ) from None

    def run_once() -> float:
        try:
            result = program.run()
        except Exception as e:  # noqa: BLE001 - ProgramError, or worse
            raise NomaUnavailable(
                f"{shown} compiled, but running it failed: {type(e).__name__}: {e}"
            ) from None
        if not isinstance(result, float):
            raise NomaUnavailable(f"{shown} must return the final loss, a scalar")
        return result

    with tempfile.TemporaryFile("w+") as err, open(os.devnull, "w") as null:
        failure = None
        with redirected_output(null.fileno(), err.fileno()):
            try:
                run_once()
            except NomaUnavailable as e:
                failure = e
        err.seek(0)
        captured = err.read()
    if failure is not None:
        raise NomaUnavailable(f"{failure}\n{captured.rstrip()}".rstrip()) from None
    if not expected_stderr(captured):
        sys.stderr.write(
            f"{TOOL}: note: {shown} did not print what was expected on stderr; it printed:\n"
            + (captured or "(nothing)\n")
        )

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
    machine code: interpreter start-up, importing NOMA, every pass, LLVM."""
    code = "import sys, noma; noma.compile(sys.argv[1]).jit"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, display_path(example)],
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
class Benchmark:
    name: str
    help: str
    example: Path
    peers: dict[str, CPeer | PythonPeer]
    expected_stderr: Callable[[str], bool] = field(default=lambda text: text == "")
    details: dict[str, object] = field(default_factory=dict)


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


def xor_warning(text: str) -> bool:
    """The program stops at max_iterations = 320 with exactly that warning."""
    lines = text.splitlines()
    return len(lines) == 1 and "warning" in lines[0] and "max_iterations = 320" in lines[0]


BENCHMARKS: dict[str, Benchmark] = {
    "xor": Benchmark(
        name="xor",
        help="2-16-1 sigmoid network on XOR, 320 Adam steps, f64",
        example=ROOT / "examples" / "xor_2_16_1.noma",
        peers={
            "c": CPeer(PEERS_DIR / "xor.c", xor_headers),
            "numpy": PythonPeer(PEERS_DIR / "xor_numpy.py"),
        },
        expected_stderr=xor_warning,
        details={"network": "2-16-1", "optimizer": "adam(0.05)", "steps": 320, "dtype": "f64"},
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
    trainers = {name: peer.trainer(options) for name, peer in bench.peers.items()}
    try:
        trainers = {"noma": noma_trainer(example, bench.expected_stderr), **trainers}
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
    report: dict[str, object] = {
        "benchmark": bench.name,
        "description": bench.help,
        **bench.details,
        "noma_ms": noma.median_ms,
        **{f"{name}_ms": t.median_ms for name, t in peers.items()},
        "compile_s": statistics.median(compile_times),
        **{f"{name}_over_noma": t.median_ms / noma.median_ms for name, t in peers.items()},
        "noma_call_overhead_ms": overhead_ms,
        "final_loss": losses,
        "losses_agree": ok,
        "max_rel_loss_diff": worst,
        "rel_tol": REL_TOL,
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
            help="where the C peer is built (default: benchmarks/build)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    bench = BENCHMARKS[args.benchmark]
    runs = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
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
    text = json.dumps(report)
    if not report["losses_agree"]:
        print(
            f"{TOOL} {bench.name}: error: the final losses disagree beyond {REL_TOL:g} relative: "
            + ", ".join(f"{k} {v!r}" for k, v in report["final_loss"].items()),  # type: ignore[union-attr]
            file=sys.stderr,
        )
        print(text)
        return 1
    output = args.output or (None if args.quick else RESULTS_DIR / f"{bench.name}.json")
    if output is not None:
        write_atomically(output, json.dumps(report, indent=1) + "\n")
        print(f"{TOOL}: wrote {display_path(output)}", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
