"""`noma`: compile and run NOMA programs.

noma run prog.noma                 run it; print its output, then main's result
noma build-exe prog.noma -o prog   a standalone executable that runs it, without Python
noma check prog.noma               compile-time diagnostics only
noma emit --stage loops prog.noma  the IR after a stage of the pipeline
noma cache [--clear]               the compile cache: where, how big; or empty it

The commands are a typer application (noma.tools.noma_commands). The
plainest `noma run PROG [--seed N]` is recognised here and run without it:
a program from the compile cache runs in a few milliseconds, and typer
alone (its import, and pydantic, which it imports to convert arguments)
costs 130 ms, most of a cached run. Every other command line, including any
argument that is not exactly understood here, goes to typer, which parses it
and reports its errors; both ways end in `run_program`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from noma.tools.errors import reported_errors, reserve_standard_descriptors, stdout_failure_exit

_SEED_SYNTAX = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)")
SEED_MIN, SEED_END = -(2**63), 2**64
"""Seeds are the integers in [SEED_MIN, SEED_END): every int64 and every
uint64, as the generator takes their 64-bit two's-complement bits."""


def seed_value(text: str) -> int | None:
    """The seed `--seed text` means (decimal or 0x hexadecimal, optionally
    signed, from -2^63 to 2^64 - 1, as executables take it), or None."""
    if _SEED_SYNTAX.fullmatch(text):
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        value = sign * int(digits, 16 if digits[:2].lower() == "0x" else 10)
        if SEED_MIN <= value < SEED_END:
            return value
    return None


def run_program(
    source: Path,
    seed: int,
    args: Mapping[str, str],
    *,
    cache: bool = True,
    verify_each: bool | None = None,
    progress: bool | None = None,
) -> None:
    """`noma run`: compile (or take from the compile cache) and run the
    program, print its output, then main's result; exit status 1 after an
    error, reported as every NOMA tool reports it. `verify_each` as in
    `noma.compile`, `progress` as in `Program.run`."""
    from noma.compiler import compile

    with reported_errors("noma"):
        # The files give the ranks of main's parameters (docs/language.md 13.3).
        program = compile(source, arg_files=args, cache=cache, verify_each=verify_each)
        try:
            result = program.run_as(seed, args, progress, command_line=True)
            if isinstance(result, float):
                program.jit.print_f64(result)
            elif result is not None:
                program.jit.runtime.print_tensor(result)
        finally:
            # Also after a run-time error: what was printed may be lost
            # too. (No JIT yet after a compile-time error.)
            if "jit" in program.__dict__:
                program.jit.flush()
                if program.jit.runtime.check_stdout():
                    stdout_failure_exit()


def plain_run(argv: Sequence[str]) -> tuple[Path, int] | None:
    """The program and seed of `run PROG [--seed N]...` (in any order, the
    last seed winning, as typer takes them), or None for any other command
    line, which typer then parses."""
    if not argv or argv[0] != "run":
        return None
    from noma.compiler import DEFAULT_SEED

    source: str | None = None
    seed = DEFAULT_SEED
    rest = iter(argv[1:])
    for token in rest:
        if token == "--seed":
            value = seed_value(next(rest, ""))
            if value is None:
                return None
            seed = value
        elif token.startswith("-") or source is not None:
            return None
        else:
            source = token
    return None if source is None else (Path(source), seed)


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    reserve_standard_descriptors()
    if sys.stdout is None:  # fd 1 was closed when Python started
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - lives as long as we do
    try:
        plain = plain_run(sys.argv[1:])
        if plain is not None:
            run_program(*plain, {})
        else:
            from noma.tools.noma_commands import app

            app(standalone_mode=True)
    except OSError as exc:  # only writes to stdout (--help) are not guarded
        stdout_failure_exit(exc)
    finally:
        # Output the tools wrote through Python (emit, --help) is flushed
        # here, so that a full disk or a closed stdout is an error (exit 1),
        # not a message from the interpreter at exit.
        try:
            sys.stdout.flush()
        except (OSError, ValueError) as exc:
            stdout_failure_exit(exc)


def __getattr__(name: str) -> Any:
    # The typer application and its helpers (`app`, `parse_seed`, ...),
    # imported on first use (not for the import system's own questions,
    # such as `__path__` on `from noma.tools.noma_cli import main`).
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from noma.tools import noma_commands

    try:
        return getattr(noma_commands, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


if __name__ == "__main__":
    main()
