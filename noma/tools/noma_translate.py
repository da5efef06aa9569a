"""`noma-translate`: LLVM dialect MLIR in, LLVM IR out (like `mlir-translate`).

    noma-translate prog.mlir --mlir-to-llvmir              LLVM IR on stdout
    noma-translate prog.mlir --mlir-to-llvmir -o prog.ll   written atomically
    noma-translate - --mlir-to-llvmir < prog.mlir          read stdin

The input must hold only `llvm` ops inside `builtin.module` (the output of
`noma-opt -p noma-to-llvm`). Translation uses xDSL's LLVM backend; the result
parses with llvmlite or any LLVM 22 tool. Errors are one line on stderr and exit
status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from xdsl.utils.exceptions import DiagnosticException, ParseError

from noma import atomic
from noma.pipeline import verify_each_requested

PROG = "noma-translate"


class ToolError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


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
    from xdsl.parser import Parser

    from noma.frontend.diagnostics import NomaError
    from noma.lowering.translate import translate_to_llvmir
    from noma.pipeline import make_context

    try:
        module = Parser(make_context(), source, name).parse_module()
        module.verify()
        return translate_to_llvmir(module, legalize_in_place=True, verify_each=verify_each)
    except ParseError as e:
        raise ToolError(_parse_error(e)) from e
    except DiagnosticException as e:
        raise ToolError(f"{name}: {_one_line(str(e))}") from e
    except NomaError as e:  # --verify-each found invalid IR: a located internal error
        raise ToolError(f"{name}: {e}") from e


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
    parser.add_argument("input", metavar="FILE", help="input .mlir file, or - for stdin")
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
    except ToolError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
