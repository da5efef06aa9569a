"""The state every generator of one function instance shares.

The generators of `irgen/` are small classes that each handle one area of
the language and reach the other areas only through the collaborators
given to their constructor (`function.py` wires them). What they all work
on lives here, in one `GenContext`: the insertion point (builder), the
current scope, the current source location, the module being generated,
the per-function facts about `return`, and the optimize loop being
generated, if any; plus the basic emission and diagnostic helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, f64
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import shape_of, type_of
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

ExpressionTable = dict[type[ast.Expr], Callable[[Any], SSAValue]]
"""Expression dispatch: AST class -> handler (which takes that class)."""
StatementTable = dict[type[ast.Stmt], Callable[[Any], None]]
"""Statement dispatch: AST class -> handler (which takes that class)."""


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


class GenContext:
    """Builder, scope, diagnostics and module-level state of one function
    instance being generated."""

    def __init__(
        self,
        module: ModuleGen,
        fn: ast.Function,
        builder: NomaBuilder,
        result_type: Attribute | None,
    ) -> None:
        self.module = module
        """The module being generated: user functions and their instances."""
        self.fn = fn
        """The function being generated."""
        self.builder = builder
        self.scope = Scope()
        self.uses_return_flag = False
        self.optimize: OptimizeContext | None = None
        self.final_return: tuple[SSAValue | None, SourceLoc] | None = None
        """The value of the last top-level `return` when no flag is used."""
        self.returns_value: bool | None = None
        """Whether the function's returns carry a value (None: no return seen)."""
        self.return_guards = 0
        """How many `gen_unless_returned` guards enclose the code being generated."""
        self.result_type = result_type
        """The type of the result variable used with the returned flag: None
        until a `return` fixed it (the variable starts as an f64 then)."""

    # -- emission ------------------------------------------------------------

    @property
    def b(self) -> NomaBuilder:
        return self.builder

    def emit(self, op: OpT) -> OpT:
        return self.builder.insert(op)

    def constant(self, value: float) -> SSAValue:
        return self.emit(arith.ConstantOp(FloatAttr(value, f64))).result

    def truthy(self, value: SSAValue) -> SSAValue:
        """An f64 condition as i1: any non-zero value is true."""
        return self.emit(arith.CmpfOp(value, self.constant(0.0), "une")).result

    def cast_to(self, value: SSAValue, target: object) -> SSAValue:
        """`value` with the (more dynamic) type `target`."""
        if value.type == target:
            return value
        return self.emit(tops.CastOp(value, target)).result  # type: ignore[arg-type]

    def placeholder(self, t: Attribute) -> SSAValue:
        """A value of type `t` for a variable nothing has set yet."""
        shape = shape_of(t)
        if all(d is not None for d in shape):
            return self.builder.constant(0.0, t)
        ones = self.builder.constant(0.0, type_of(tuple(1 if d is None else d for d in shape)))
        return self.cast_to(ones, t)

    @contextmanager
    def at(self, loc: SourceLoc) -> Iterator[None]:
        """Stamp the ops emitted inside with `loc`."""
        saved = self.builder.location
        self.builder.location = loc.to_attr()
        try:
            yield
        finally:
            self.builder.location = saved

    @contextmanager
    def inside(self, block: Block, scope: Scope) -> Iterator[None]:
        """Emit into `block` with `scope` as the current scope."""
        saved_builder, saved_scope = self.builder, self.scope
        self.builder = NomaBuilder(InsertPoint.at_end(block), saved_builder.location)
        self.scope = scope
        try:
            yield
        finally:
            self.builder, self.scope = saved_builder, saved_scope

    # -- errors --------------------------------------------------------------

    @staticmethod
    def error(loc: SourceLoc | None, message: str) -> NomaError:
        return NomaError(loc, message)

    @staticmethod
    def not_supported(loc: SourceLoc, what: str, why: str) -> NomaError:
        return NomaError(loc, f"{what} is not supported yet: {why}")
