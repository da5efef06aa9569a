"""The commands of `noma` (see noma.tools.noma_cli, which runs them), as a
typer application.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from noma import atomic, pipeline
from noma.compiler import DEFAULT_SEED, Program, compile
from noma.tools.errors import reported_errors, stdout_failure_exit
from noma.tools.noma_cli import run_program, seed_value

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


VerifyEachOption = Annotated[
    bool,
    typer.Option(
        "--verify-each",
        help="Verify the IR after every compiler pass (a compiler-debugging aid; "
        "also NOMA_VERIFY_EACH=1).",
    ),
]


def _verify_each(flag: bool) -> bool | None:
    """The flag turns verification on; without it the environment decides."""
    return True if flag else None


def _load(path: Path, verify_each: bool = False) -> Program:
    return compile(path, verify_each=_verify_each(verify_each))


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


def parse_seed(text: str | int) -> int:
    """`--seed N` exactly as executables take it (noma_exe_main.c): decimal
    or 0x hexadecimal, optionally signed, from -2^63 to 2^64 - 1; anything
    else is a usage error (exit status 2) with the executables' words."""
    if isinstance(text, int):  # the default
        return text
    value = seed_value(text)
    if value is None:
        raise typer.BadParameter(
            f"'{text}' is not an integer from -2^63 to 2^64 - 1 (decimal or 0x hexadecimal)"
        )
    return value


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
            "--seed",
            parser=parse_seed,
            metavar="N",
            help="Seed of the random generator (random built-ins, `realloc` init): an "
            "integer from -2^63 to 2^64 - 1, decimal or 0x hexadecimal (its 64-bit two's "
            "complement bits: -1 and 2^64 - 1 are one seed).",
        ),
    ] = DEFAULT_SEED,
    arg: ArgOption = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Compile the program even if the compile cache has it, and leave the cache "
            "alone (also NOMA_NO_CACHE=1).",
        ),
    ] = False,
    verify_each: VerifyEachOption = False,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress",
            help="Show the progress line of optimize loops that run over a second even "
            "when stderr is not a terminal (on a terminal it is always shown).",
        ),
    ] = False,
) -> None:
    """Compile a program to machine code and run it: prints what the program
    prints, then main's result on the last line. A program compiled before
    runs from the compile cache (see `noma cache`)."""
    run_program(
        source,
        seed,
        _parse_args(arg),
        cache=not no_cache,
        verify_each=_verify_each(verify_each),
        progress=True if progress else None,
    )


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
    verify_each: VerifyEachOption = False,
) -> None:
    """Compile a program into a standalone native executable that needs no
    Python: it prints what `noma run` prints and accepts `--seed N` and
    `--arg NAME=FILE` (see docs/executables.md)."""
    from noma.executable import build_executable

    args = _parse_args(arg)

    def action() -> None:
        program = compile(source, arg_files=args, verify_each=_verify_each(verify_each))
        program.check_arg_names(args)
        build_executable(program, output, opt_level)

    _guarded(action)


@app.command()
def check(source: SourceArg, verify_each: VerifyEachOption = False) -> None:
    """Compile a program through every stage of the pipeline without running
    it: prints the diagnostics, if any."""
    # Down to the llvm dialect: every diagnostic of a program comes from the
    # stages; translating to LLVM IR text could only find a compiler bug,
    # and would load LLVM for nothing.
    _guarded(lambda: _load(source, verify_each).ir("llvm"))


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
    verify_each: VerifyEachOption = False,
) -> None:
    """Print the IR of a program after a stage of the pipeline."""
    if stage not in STAGE_NAMES:
        _fail(f"noma: error: unknown stage '{stage}' (expected one of {', '.join(STAGE_NAMES)})")

    def action() -> str:
        program = _load(source, verify_each)
        if stage == "llvm-ir":
            return program.llvm_ir
        from io import StringIO

        from xdsl.printer import Printer

        text = StringIO()
        Printer(stream=text, print_debuginfo=debuginfo).print_op(program.ir(stage))
        return text.getvalue() + "\n"

    text = _guarded(action)
    if output is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as exc:
            stdout_failure_exit(exc)
    else:
        _guarded(lambda: atomic.write_text(output, text))


@app.command("cache")
def cache_command(
    clear: Annotated[
        bool,
        typer.Option(
            "--clear",
            help="Remove the compiled programs and runtime builds NOMA keeps there.",
        ),
    ] = False,
    info: Annotated[
        bool, typer.Option("--info", help="Say where the cache is and what it holds (default).")
    ] = False,
) -> None:
    """The compile cache: compiled programs and runtime builds, in
    $NOMA_CACHE_DIR, else $XDG_CACHE_HOME/noma or ~/.cache/noma."""
    from noma.runtime import program_cache

    def action() -> None:
        if clear:
            removed = program_cache.clear_cache()
            print(
                f"removed {removed.programs} compiled programs and {removed.runtime_files} "
                f"runtime files ({_size_text(removed.program_bytes + removed.runtime_bytes)}) "
                f"from {removed.directory}"
            )
        if info or not clear:
            held = program_cache.cache_info()
            print(f"directory: {held.directory}")
            print(f"compiled programs: {held.programs} ({_size_text(held.program_bytes)})")
            print(f"runtime files: {held.runtime_files} ({_size_text(held.runtime_bytes)})")

    _guarded(action)


def _size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1 << 20:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1 << 20):.1f} MiB"
