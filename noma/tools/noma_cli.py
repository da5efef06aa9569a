"""`noma`: compile and run NOMA programs.

noma run prog.noma                 run it; print its output, then main's result
noma build-exe prog.noma -o prog   a standalone executable that runs it, without Python
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


def _parse_args(values: list[str] | None) -> dict[str, str]:
    """`--arg NAME=FILE` options as a mapping (the last FILE for a NAME wins,
    as in executables); a malformed one is a usage error (exit status 2)."""
    args: dict[str, str] = {}
    for value in values or []:
        name, eq, path = value.partition("=")
        if not eq or not name:
            raise typer.BadParameter(f"expected NAME=FILE, got {value!r}", param_hint="'--arg'")
        args[name] = path
    return args


ArgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        metavar="NAME=FILE",
        help="The file for main's parameter NAME (repeatable).",
        show_default=False,
    ),
]


@app.command()
def run(
    source: SourceArg,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", help="Seed of the random generator (random built-ins, `realloc` init)."
        ),
    ] = DEFAULT_SEED,
    arg: ArgOption = None,
) -> None:
    """Compile a program to machine code and run it: prints what the program
    prints, then main's result on the last line."""
    args = _parse_args(arg)

    def action() -> None:
        # The files give the ranks of main's parameters (docs/language.md 13.3).
        program = compile(source, arg_files=args)
        result = program.run(seed=seed, args=args)
        if isinstance(result, float):
            program.jit.print_f64(result)
        elif result is not None:
            program.jit.runtime.print_tensor(result)
        program.jit.flush()

    _guarded(action)


@app.command("build-exe")
def build_exe(
    source: SourceArg,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The executable to write.", show_default=False),
    ],
    opt_level: Annotated[
        int,
        typer.Option(
            "--opt-level", "-O", min=0, max=3, help="LLVM optimisation level of the program, 0-3."
        ),
    ] = 2,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            metavar="NAME=FILE",
            help="A file like those main's parameter NAME will be given: its rank is compiled "
            "in (default 2-D). The executable reads the file passed to it when it runs.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compile a program into a standalone native executable that needs no
    Python: it prints what `noma run` prints and accepts `--seed N` and
    `--arg NAME=FILE` (see docs/executables.md)."""
    from noma.executable import build_executable

    args = _parse_args(arg)
    _guarded(lambda: build_executable(compile(source, arg_files=args), output, opt_level))


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
