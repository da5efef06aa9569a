"""Source locations and located diagnostics: NOMA's one diagnostics type.

Every user-facing error of the compiler, from the frontend and from every
pass, is a `NomaError`: a message tied to a `SourceLoc` and, when a pass
raises it, to the op it is about. It is an xDSL `DiagnosticException`, so
xDSL's drivers (`xdsl-opt`, `--verify-diagnostics`) treat it as a
diagnostic and not as a crash. `render` formats it the way LANGUAGE.md section 9 asks for:

    prog.noma:3:9: error: unknown variable 'y'
        let x = y + 1;
                ^

Locations travel on IR operations as xDSL `FileLineColLoc` attributes, so a
pass can raise a `NomaError` for an op and still name the source line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# The one xDSL module a cache hit of `noma run` imports: it defines only
# exception classes (no IR, no dialects).
from xdsl.utils.exceptions import DiagnosticException

if TYPE_CHECKING:
    # xDSL only where IR is involved: reading a source file and reporting an
    # error in it (`noma run` from the compile cache) import no xDSL.
    from xdsl.dialects.builtin import FileLineColLoc
    from xdsl.ir import Attribute, Operation


@dataclass(frozen=True)
class SourceLoc:
    """A 1-based line and column in a named source file."""

    filename: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}"

    def to_attr(self) -> FileLineColLoc:
        from xdsl.dialects.builtin import FileLineColLoc, IntAttr, StringAttr

        return FileLineColLoc(StringAttr(self.filename), IntAttr(self.line), IntAttr(self.col))

    @staticmethod
    def from_attr(attr: Attribute) -> SourceLoc | None:
        from xdsl.dialects.builtin import FileLineColLoc

        if isinstance(attr, FileLineColLoc):
            return SourceLoc(attr.filename.data, attr.line.data, attr.column.data)
        return None


def op_loc(op: Operation) -> SourceLoc | None:
    """The source location of `op`, or of its closest located ancestor."""
    current: Operation | None = op
    while current is not None:
        loc = SourceLoc.from_attr(current.location)
        if loc is not None:
            return loc
        current = current.parent_op()
    return None


class NomaError(DiagnosticException):
    """A compile-time error at a source location (or without one when the
    input had none, e.g. hand-written IR). `op` is the op it is about, when
    a pass raised it: a driver that knows where that op was in its input
    (`noma-opt` on `.mlir`) locates the error there, or prints the op."""

    def __init__(
        self,
        loc: SourceLoc | None,
        message: str,
        severity: str = "error",
        op: Operation | None = None,
    ):
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.severity = severity
        self.op = op

    def __str__(self) -> str:
        """`file:line:col: error: message`: what a Python caller of
        `noma.compile` sees (`render` adds the quoted source line)."""
        if self.loc is None:
            return self.message
        return f"{self.loc}: {self.severity}: {self.message}"

    @staticmethod
    def at_op(op: Operation, message: str) -> NomaError:
        return NomaError(op_loc(op), message, op=op)

    def render(self, source: str | None = None) -> str:
        """`file:line:col: error: message`, then the source line and a caret
        when the source text is available."""
        if self.loc is None:
            return f"{self.severity}: {self.message}"
        text = f"{self.loc}: {self.severity}: {self.message}"
        if source is None:
            source = _read_source(self.loc.filename)
        if source is not None:
            lines = source.splitlines()
            if 1 <= self.loc.line <= len(lines):
                line = lines[self.loc.line - 1]
                # Keep tabs in the padding so the caret lines up however the
                # terminal renders them.
                pad = "".join("\t" if c == "\t" else " " for c in line[: self.loc.col - 1])
                text += f"\n    {line}\n    {pad}^"
        return text


def _read_source(filename: str) -> str | None:
    from noma.frontend.source import read_source_or_none

    return read_source_or_none(filename)
