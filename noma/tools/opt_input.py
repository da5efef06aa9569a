"""Where each op of `noma-opt`'s MLIR input was written.

xDSL's parser gives an op no location unless the text has `loc(...)`, so a
diagnostic about an op of hand-written `.mlir` could not say where it is.
`LocatingParser` records the line and column of every op it parses, and
`input_position` answers for an op (or its closest ancestor: an op a pass
created inside a parsed one)."""

from __future__ import annotations

from typing import NamedTuple

from xdsl.context import Context
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError, VerifyException


class Position(NamedTuple):
    line: int
    col: int


class LocatingParser(Parser):
    """A parser that records in `positions` where each op starts; lines are
    counted from `first_line` (the chunk's first line in the file)."""

    def __init__(
        self,
        ctx: Context,
        text: str,
        name: str,
        positions: dict[Operation, Position],
        first_line: int = 1,
    ):
        super().__init__(ctx, text, name)
        self.positions = positions
        self.first_line = first_line

    def parse_operation(self) -> Operation:
        start_span = self._current_token.span
        start = start_span.get_location()
        try:
            op = super().parse_operation()
        except VerifyException as e:
            # An attribute or type that does not verify (checked as it is
            # built, while parsing): an error at the op that holds it.
            raise ParseError(start_span, _first_line(str(e))) from e
        self.positions[op] = Position(start.line + self.first_line - 1, start.col)
        return op


def input_position(op: Operation, positions: dict[Operation, Position]) -> Position | None:
    current: Operation | None = op
    while current is not None:
        if current in positions:
            return positions[current]
        current = current.parent_op()
    return None


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "does not verify"
