"""`noma-translate`: LLVM dialect MLIR in, LLVM IR out (like `mlir-translate`).

    noma-translate prog.mlir --mlir-to-llvmir              LLVM IR on stdout
    noma-translate prog.mlir --mlir-to-llvmir -o prog.ll   written atomically
    noma-translate --mlir-to-llvmir < prog.mlir            read stdin (or `-`)

The input must hold only `llvm` ops inside `builtin.module` (the output of
`noma-opt -p noma-to-llvm`). Translation uses xDSL's LLVM backend; the result
parses with llvmlite or any LLVM 22 tool. Errors are one line on stderr
(`file:line:col: error: ...` at the op they are about) and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from xdsl.utils.exceptions import DiagnosticException, ParseError

from noma.diagnostics import NomaError

from noma import atomic
from noma.pipeline import verify_each_requested

if TYPE_CHECKING:
    from xdsl.ir import Operation

PROG = "noma-translate"


class ToolError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


class LocatedError(ToolError):
    """A diagnostic at a place in a file: `file:line:col: error: ...`, printed
    as it is."""


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _parse_error(e: ParseError) -> str:
    return f"{e.span.get_location()}: {_one_line(e.msg)}"


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    except OSError as e:
        raise ToolError(f"cannot read {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ToolError(f"cannot read {path}: not UTF-8 text ({e.reason})") from e


def _write_atomically(path: str, text: str) -> None:
    try:
        atomic.write_text(path, text)
    except OSError as e:
        raise ToolError(f"cannot write {path}: {e.strerror or e}") from e


def translate_text(source: str, name: str, *, verify_each: bool = False) -> str:
    """LLVM IR text of the LLVM-dialect MLIR `source`; `verify_each` also
    verifies the module after legalization."""
    # Imported here, so that a usage error or an unreadable file costs no
    # import of the parser, the dialects or the LLVM backend.
    from noma.lowering.translate import translate_to_llvmir
    from noma.pipeline import make_context
    from noma.tools.opt_input import LocatingParser, Position, input_position

    positions: dict[Operation, Position] = {}
    try:
        module = LocatingParser(make_context(), source, name, positions).parse_module()
        module.verify()
        return translate_to_llvmir(module, legalize_in_place=True, verify_each=verify_each)
    except ParseError as e:
        raise ToolError(_parse_error(e)) from e
    except NomaError as e:
        # Not translatable, or (--verify-each) invalid after legalization:
        # at the op's own location, else where the op is in the input.
        if e.loc is None and e.op is not None:
            position = input_position(e.op, positions)
            if position is not None:
                raise LocatedError(f"{name}:{position.line}:{position.col}: {e.severity}: {e.message}") from e
        if e.loc is not None:
            raise LocatedError(str(e)) from e
        raise ToolError(f"{name}: {e.message}") from e
    except DiagnosticException as e:
        raise ToolError(f"{name}: {_one_line(str(e))}") from e


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors are one line and exit status 1, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{PROG}: error: {message} (see --help)\n")


def _arg_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog=PROG,
        description=(
            "Translate MLIR in the LLVM dialect (only llvm.* ops inside builtin.module, "
            "e.g. the output of `noma-opt -p noma-to-llvm`) to LLVM IR text, using "
            "xDSL's LLVM backend."
        ),
        epilog="example: noma-translate prog.mlir --mlir-to-llvmir -o prog.ll",
    )
    parser.add_argument(
        "input", metavar="FILE", nargs="?", default="-",
        help="input .mlir file; - or none for stdin",
    )
    parser.add_argument(
        "--mlir-to-llvmir",
        action="store_true",
        required=True,
        help="translate the LLVM dialect to LLVM IR (the only translation)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the LLVM IR to OUT (atomically) instead of stdout",
    )
    parser.add_argument(
        "--verify-each",
        action="store_true",
        help="also verify the module after legalization for export (default: "
        "NOMA_VERIFY_EACH=1 in the environment; the input is always verified)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _arg_parser().parse_args(argv)
    try:
        source, name = _read(args.input)
        verify_each = args.verify_each or verify_each_requested()
        llvm_ir = translate_text(source, name, verify_each=verify_each)
        if args.output:
            _write_atomically(args.output, llvm_ir)
        else:
            sys.stdout.write(llvm_ir)
    except LocatedError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
    except ToolError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
