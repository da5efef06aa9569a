"""The oracle of the robustness tests: what NOMA may do with any input.

Whatever the program, `noma check` and `noma run` end with status 0 or 1;
every diagnostic is located (`file:line:col: error: ...`, a warning likewise,
`[file:line:col: ]runtime error: ...` when the program runs), followed only
by the indented source line and caret of a compile-time error. Never a
Python traceback, an "internal compiler error", an unlocated message, death
by a signal, or a hang. Each checker gives a list of the problems it saw
(empty when the outcome is acceptable), so a fuzz test can collect them all.

Two ways to get an outcome:
- `compile_problems`: the path `noma check` takes (`noma.compiler.compile`
  of a file, down to LLVM IR that LLVM verifies), in this process, with a
  time limit: much faster than a process per program;
- `run_limited` + `cli_problems`: the real command line in a subprocess
  with a time limit and small resource limits, in a given working directory.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import llvmlite.binding as llvm

from noma.compiler import compile as compile_program
from noma.frontend.diagnostics import NomaError

LOCATED_DIAGNOSTIC = re.compile(r"^.+?:\d+:\d+: (error|warning): \S")
"""A compile-time diagnostic with its location (diagnostics.NomaError.render)."""

RUNTIME_ERROR = re.compile(r"^(.+?:\d+:\d+: )?runtime error: \S")
"""A run-time error, located at its statement, or without a location for the
few that have no statement (docs/language.md section 11)."""

SOURCE_EXCERPT = "    "
"""The source line and caret after a compile-time error are indented so."""

NOMA = (sys.executable, "-m", "noma.tools.noma_cli")
"""The `noma` command of this checkout (not whichever `noma` is on PATH)."""

MEMORY_LIMIT = 1 << 30
"""RLIMIT_AS of `run_limited`: well above what `noma run` needs (about
0.5 GiB of address space), far below what a wrapped-around size asks for."""

FILE_SIZE_LIMIT = 1 << 20
"""RLIMIT_FSIZE of `run_limited`: files a program writes stay small."""


class CompileTimeout(BaseException):
    """Raised in the compiling thread when it runs past its time limit (a
    BaseException, so that no `except Exception` in the compiler swallows
    it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raises `CompileTimeout` in the main thread after `seconds` of wall
    time, also out of a blocking system call such as opening a FIFO, and
    again every second after that: an exception raised while a finalizer
    runs (`__del__` during garbage collection) is printed and dropped by
    Python, and the hang would go on."""

    def expire(signum: int, frame: object) -> None:
        raise CompileTimeout(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def compile_problems(path: Path, timeout: float = 20.0) -> list[str]:
    """What is wrong with compiling the program at `path` as `noma check`
    does: a hang, an exception other than a located `NomaError` (the CLI
    prints those without a location, or as an internal compiler error), or
    LLVM IR that LLVM rejects."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))  # as noma_cli.main does
    try:
        with time_limit(timeout):
            llvm_ir = compile_program(path).llvm_ir
        llvm.parse_assembly(llvm_ir).verify()
    except CompileTimeout as e:
        return [f"hang: compiling gave {e}"]
    except NomaError as e:
        if e.loc is None:
            return [f"unlocated error: {e.message}"]
        if e.loc.filename != str(path) or e.loc.line < 1 or e.loc.col < 1:
            return [f"error at a location outside the source: {e.loc}: {e.message}"]
        return []
    except RecursionError:
        return ["unlocated error: RecursionError (the CLI says 'nested too deeply')"]
    except Exception as e:  # noqa: BLE001 - every other exception is a finding
        return [f"unlocated error or internal compiler error: {type(e).__name__}: {e}"]
    finally:
        sys.setrecursionlimit(limit)
    return []


@dataclass(frozen=True)
class CliRun:
    """A finished (or stopped) command."""

    args: Sequence[str]
    returncode: int | None
    """None when the command was stopped at its time limit."""
    stdout: str
    stderr: str


def _limit_resources(cpu_seconds: int) -> None:
    """In the child, before exec: small limits, so a runaway allocation fails
    instead of taking the machine, and a runaway loop ends."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_limited(args: Sequence[str], cwd: Path, timeout: float = 20.0) -> CliRun:
    """`args` (e.g. `[*NOMA, "run", "p.noma"]`) in `cwd`, with no stdin,
    under `timeout` seconds of wall time and the resource limits above."""
    cpu = int(timeout) + 5  # the wall-clock limit comes first; this is a backstop
    try:
        proc = subprocess.run(
            list(args), cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL,
            timeout=timeout, check=False, preexec_fn=lambda: _limit_resources(cpu),
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        return CliRun(args, None, _text(e.stdout), _text(e.stderr))
    return CliRun(args, proc.returncode, _text(proc.stdout), _text(proc.stderr))


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="backslashreplace")


def cli_problems(run: CliRun, *, may_run_long: bool = False) -> list[str]:
    """What is wrong with the way a `noma` command ended. `may_run_long`: the
    program itself may legitimately run past the time limit (a mutated
    `while` that never ends), so being stopped there is not a finding (the
    caller counts such runs); a compile (`noma check`) never may."""
    problems: list[str] = []
    code = run.returncode
    if code is None:
        if not may_run_long:
            problems.append("hang: stopped at the time limit")
    elif code < 0:
        problems.append(f"killed by signal {signal.Signals(-code).name}")
    elif code >= 128:
        problems.append(f"exit status {code} (a signal, 128+{code - 128})")
    elif code not in (0, 1):
        problems.append(f"exit status {code}, not 0 or 1")
    problems += stderr_problems(run.stderr)
    if code == 1 and not run.stderr.strip():
        problems.append("exit status 1 without an error message")
    return problems


def stderr_problems(stderr: str) -> list[str]:
    """Lines of stderr that are not located diagnostics (or the source
    excerpt of one), and the marks of a crash of the compiler itself."""
    problems: list[str] = []
    if "Traceback (most recent call last)" in stderr:
        problems.append("Python traceback")
    if "internal compiler error" in stderr:
        problems.append("internal compiler error: " + _line_with(stderr, "internal compiler error"))
    after_compile_error = False
    for line in stderr.split("\n"):
        if line == "":
            continue
        if LOCATED_DIAGNOSTIC.match(line):
            after_compile_error = True
            continue
        if after_compile_error and line.startswith(SOURCE_EXCERPT):
            continue
        after_compile_error = False
        if RUNTIME_ERROR.match(line):
            continue
        problems.append(f"unlocated message: {line[:200]!r}")
        break  # the first one says it; the rest is usually its continuation
    return problems


def _line_with(text: str, needle: str) -> str:
    return next(line for line in text.split("\n") if needle in line)[:200]
