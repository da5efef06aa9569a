"""Shared state and helpers of IR generation for one function instance.

`FunctionGen` (in `function.py`) is assembled from mixins that each handle a
part of the language; they all work on the state defined here: the insertion
point, the current scope, the current source location, and the optimize loop
being generated, if any.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, f64
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.frontend import ast
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.irgen.scope import Scope

if TYPE_CHECKING:
    from noma.frontend.irgen.growth import DeferredGrowth
    from noma.frontend.irgen.module import ModuleGen

OpT = TypeVar("OpT", bound=Operation)

RETURNED = "$returned"
"""Pseudo-variable: 1.0 once a `return` ran (only in functions that return
from inside control flow)."""
RESULT = "$result"
"""Pseudo-variable: the value of the `return` that ran."""


@dataclass
class OptimizeContext:
    """What the generator knows about the optimize body it is inside."""

    loc: SourceLoc
    minimize_loc: SourceLoc | None = None
    nesting: int = 0
    """How many if/while bodies deep inside the optimize body we are."""
    deferred: dict[int, DeferredGrowth] = field(default_factory=dict)
    """The body's `realloc` sites of parameters (by id of the statement),
    applied after the step."""


@dataclass
class GenState:
    module: ModuleGen
    builder: NomaBuilder
    scope: Scope
    uses_return_flag: bool = False
    optimize: OptimizeContext | None = None
    final_return: tuple[SSAValue | None, SourceLoc] | None = None
    """The value of the last top-level `return` when no flag is used."""
    returns_value: bool | None = None
    """Whether the function's returns carry a value (None: no return seen)."""
    return_guards: int = 0
    """How many `gen_unless_returned` guards enclose the code being generated."""
    result_type: Attribute | None = None
    """The type of the result variable used with the returned flag: None
    until a `return` fixed it (the variable starts as an f64 then)."""


class GenBase:
    state: GenState
    fn: ast.Function
    """The function being generated."""

    # -- emission ------------------------------------------------------------

    @property
    def b(self) -> NomaBuilder:
        return self.state.builder

    @property
    def scope(self) -> Scope:
        return self.state.scope

    def emit(self, op: OpT) -> OpT:
        return self.b.insert(op)

    def constant(self, value: float) -> SSAValue:
        return self.emit(arith.ConstantOp(FloatAttr(value, f64))).result

    def truthy(self, value: SSAValue) -> SSAValue:
        """An f64 condition as i1: any non-zero value is true."""
        return self.emit(arith.CmpfOp(value, self.constant(0.0), "une")).result

    @contextmanager
    def at(self, loc: SourceLoc) -> Iterator[None]:
        """Stamp the ops emitted inside with `loc`."""
        saved = self.b.location
        self.b.location = loc.to_attr()
        try:
            yield
        finally:
            self.b.location = saved

    @contextmanager
    def inside(self, block: Block, scope: Scope) -> Iterator[None]:
        """Emit into `block` with `scope` as the current scope."""
        saved_builder, saved_scope = self.state.builder, self.state.scope
        self.state.builder = NomaBuilder(InsertPoint.at_end(block), saved_builder.location)
        self.state.scope = scope
        try:
            yield
        finally:
            self.state.builder, self.state.scope = saved_builder, saved_scope

    # -- errors --------------------------------------------------------------

    @staticmethod
    def error(loc: SourceLoc, message: str) -> NomaError:
        return NomaError(loc, message)

    @staticmethod
    def not_supported(loc: SourceLoc, what: str, why: str) -> NomaError:
        return NomaError(loc, f"{what} is not supported yet: {why}")

    # -- hooks the mixins implement ------------------------------------------

    def gen_expr(self, expr: ast.Expr) -> SSAValue:
        raise NotImplementedError

    def gen_block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        raise NotImplementedError
