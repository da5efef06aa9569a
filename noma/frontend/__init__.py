"""NOMA's frontend: source text -> AST -> `noma` dialect IR."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp


def compile_to_ir(
    source: str,
    filename: str,
    arg_ranks: Mapping[str, int] | None = None,
    *,
    script: tuple[str, ...] | None = None,
) -> ModuleOp:
    """Parse, check and lower a NOMA program to the `noma` dialect; `arg_ranks`
    gives the ranks of main's parameters whose files are known; a `script`
    (a notebook cell) may have statements outside functions, the body of
    `main`, whose parameters it names.
    Raises `NomaError` with a source location on bad input."""
    from noma.frontend.irgen import generate_ir
    from noma.frontend.parser import parse_program

    program = parse_program(source, filename, script=script)
    return generate_ir(program, arg_ranks)
