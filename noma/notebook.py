"""NOMA in IPython and Jupyter: the `%%noma` cell magic and `%noma_info`.

    %load_ext noma

    %%noma --seed 7 --arg X=X_train --out fit
    learn w = 0.0;
    optimize(w) with adam(0.1) until loss < 1e-6 {
        let loss = (w - 3.0) * (w - 3.0);
        minimize loss;
    }
    return w;

A cell is a program in script mode: its statements outside functions are
main's body, after the cell's functions. What the program prints appears
in the cell, main's result is the cell's value, and errors are the located
messages of `noma run` (`<cell>:LINE:COL: error: ...`, lines counted from
the cell's first line under `%%noma`), never a traceback. See
docs/notebooks.md.

IPython is an optional dependency (`pip install -e '.[notebook]'`); this
module is imported only by `%load_ext noma`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from noma.compiler import Program

CELL_FILENAME = "<cell>"
"""The file name that messages about a cell's source carry."""


class CellError(Exception):
    """A mistake in the magic's own options: reported in one line."""


@dataclass(frozen=True)
class CellArguments:
    """What the options of a `%%noma` line ask for."""

    seed: int | None
    args: dict[str, Any]
    out: str | None
    stage: str | None
    cache: bool
    timed: bool
    progress: bool = True


@magics_class
class NomaMagics(Magics):
    """The `%%noma` cell magic and the `%noma_info` line magic."""

    @magic_arguments()
    @argument("--seed", type=int, default=None, help="seed of the random generator")
    @argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="main's parameter NAME: a variable of the notebook (a NumPy array, "
        "a list, a number) or, if no variable has that name, a file path",
    )
    @argument(
        "--out",
        default=None,
        metavar="NAME",
        help="store main's result as NAME and "
        "the learnt parameters as NAME_parameters (a dict of arrays)",
    )
    @argument(
        "--stage",
        default=None,
        help="show the IR after this stage instead of running "
        "(noma, autodiff, optimizers, growth, loops, llvm, llvm-ir)",
    )
    @argument("--no-cache", action="store_true", help="compile even if the compile cache has it")
    @argument("--time", action="store_true", help="report the time of compiling and running")
    @argument(
        "--no-progress",
        action="store_true",
        help="no progress line for optimize loops that run over a second",
    )
    @cell_magic
    def noma(self, line: str, cell: str) -> Any:
        """Compile and run the cell as a NOMA program (see docs/notebooks.md)."""
        try:
            options = self._options(line)
        except CellError as error:
            print(f"%%noma: error: {error}", file=sys.stderr)
            return None
        return run_cell(cell, options)

    @line_magic
    def noma_info(self, line: str) -> None:
        """Versions, the compile cache's directory and the target CPU."""
        for name, value in environment_info().items():
            print(f"{name:<12} {value}")

    def _options(self, line: str) -> CellArguments:
        try:
            parsed = parse_argstring(self.noma, line)
        except UsageError as error:
            raise CellError(str(error).strip() or "bad options") from None
        namespace = self.shell.user_ns if self.shell is not None else {}
        args = {}
        for item in parsed.arg:
            name, sep, value = item.partition("=")
            if not sep or not name or not value:
                raise CellError(f"--arg {item!r}: expected NAME=VARIABLE or NAME=FILE")
            args[name] = _argument_value(name, value, namespace)
        if parsed.out is not None and not parsed.out.isidentifier():
            raise CellError(f"--out {parsed.out!r} is not a Python name")
        return CellArguments(
            seed=parsed.seed,
            args=args,
            out=parsed.out,
            stage=parsed.stage,
            cache=not parsed.no_cache,
            timed=parsed.time,
            progress=not parsed.no_progress,
        )


def _argument_value(name: str, value: str, namespace: dict[str, Any]) -> Any:
    """A notebook variable named `value`, else the path `value`."""
    if value.isidentifier() and value in namespace:
        return namespace[value]
    if os.path.isfile(value):
        return value
    raise CellError(f"--arg {name}={value}: no variable or file named {value!r}")


def run_cell(cell: str, options: CellArguments, namespace: dict[str, Any] | None = None) -> Any:
    """Compile `cell` and run it (or show a stage's IR); main's result, or
    None after an error, which is printed, located, on stderr."""
    from noma.compiler import Program, ProgramError
    from noma.diagnostics import NomaError

    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
    started = time.perf_counter()
    program = Program(cell, CELL_FILENAME, cache=options.cache, script=tuple(options.args))
    try:
        if options.stage is not None:
            print(_stage_text(program, options.stage))
            return None
        if options.seed is None:
            result = program.run(args=options.args, progress=options.progress)
        else:
            result = program.run(seed=options.seed, args=options.args, progress=options.progress)
        finished = time.perf_counter()
    except NomaError as error:
        print(error.render(cell), file=sys.stderr)
        return None
    except ProgramError:
        return None  # the runtime has printed its message in the cell
    except (TypeError, ValueError, OSError) as error:
        print(f"%%noma: error: {error}", file=sys.stderr)
        return None
    if options.timed:
        print(f"noma: {finished - started:.3f} s (compiling, or the compile cache, and running)")
    if options.out is not None:
        namespace[options.out] = result
        namespace[f"{options.out}_parameters"] = program.parameters
    return result


def _stage_text(program: Program, stage: str) -> str:
    from noma.pipeline import STAGES

    if stage == "llvm-ir":
        return program.llvm_ir
    names = [s.name for s in STAGES]
    if stage not in names:
        raise ValueError(f"unknown stage {stage!r}; the stages are {', '.join(names)}, llvm-ir")
    return str(program.ir(stage))


def environment_info() -> dict[str, str]:
    """What `%noma_info` shows."""
    import llvmlite
    import llvmlite.binding as llvm

    from noma.runtime.build import cache_dir

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "noma": version("noma"),
        "python": sys.version.split()[0],
        "xdsl": version("xdsl"),
        "llvmlite": llvmlite.__version__,
        "LLVM": ".".join(map(str, llvm.llvm_version_info)),
        "numpy": version("numpy"),
        "cache": str(cache_dir()),
        "target CPU": llvm.get_host_cpu_name(),
        "triple": llvm.get_process_triple(),
    }


def load_ipython_extension(shell: InteractiveShell) -> None:
    shell.register_magics(NomaMagics)
