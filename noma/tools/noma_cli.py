"""`noma`: compile and run NOMA programs.

noma run prog.noma                 run it; print its output, then main's result
noma check prog.noma               compile-time diagnostics only
noma emit --stage loops prog.noma  the IR after a stage of the pipeline
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from noma import atomic, pipeline
from noma.compiler import DEFAULT_SEED, Program, compile
from noma.tools.errors import reported_errors

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="NOMA: a language for machine learning where autodiff is a compiler pass.",
)

T = TypeVar("T")

STAGE_NAMES = [s.name for s in pipeline.STAGES] + ["llvm-ir"]

SourceArg = Annotated[Path, typer.Argument(help="A .noma program.", show_default=False)]


def _fail(message: str) -> None:
    print(message, file=sys.stderr)
    raise typer.Exit(1)


def _guarded(action: Callable[[], T]) -> T:
    with reported_errors("noma"):
        return action()
    raise AssertionError("unreachable")


def _load(path: Path) -> Program:
    return compile(path)


@app.command()
def run(
    source: SourceArg,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", help="Seed of the random generator (random built-ins, `realloc` init)."
        ),
    ] = DEFAULT_SEED,
) -> None:
    """Compile a program to machine code and run it: prints what the program
    prints, then main's result on the last line."""

    def action() -> None:
        program = _load(source)
        result = program.run(seed=seed)
        if isinstance(result, float):
            program.jit.print_f64(result)
        elif result is not None:
            program.jit.runtime.print_tensor(result)
        program.jit.flush()

    _guarded(action)


@app.command()
def check(source: SourceArg) -> None:
    """Compile a program down to LLVM IR without running it: prints the
    diagnostics, if any."""
    _guarded(lambda: _load(source).llvm_ir)


@app.command()
def emit(
    source: SourceArg,
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            "-s",
            help=f"The stage to stop after: {', '.join(STAGE_NAMES)}.",
        ),
    ] = "noma",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    debuginfo: Annotated[
        bool, typer.Option("--debuginfo", help="Print source locations on the ops.")
    ] = False,
) -> None:
    """Print the IR of a program after a stage of the pipeline."""
    if stage not in STAGE_NAMES:
        _fail(f"noma: error: unknown stage '{stage}' (expected one of {', '.join(STAGE_NAMES)})")

    def action() -> str:
        program = _load(source)
        if stage == "llvm-ir":
            return program.llvm_ir
        from io import StringIO

        from xdsl.printer import Printer

        text = StringIO()
        Printer(stream=text, print_debuginfo=debuginfo).print_op(program.ir(stage))
        return text.getvalue() + "\n"

    text = _guarded(action)
    if output is None:
        sys.stdout.write(text)
    else:
        _guarded(lambda: atomic.write_text(output, text))


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    app()


if __name__ == "__main__":
    main()
