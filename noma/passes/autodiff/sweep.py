"""The reverse sweep: walks ops backwards and propagates adjoints.

The sweep is generic: it asks the pass's `DerivativeRules` table (rules.py)
for each op's rule, and an op without one is an error naming it. Adjoints
are kept for varied values only, and a value used several times accumulates
the adjoints of all its uses.

Adjoints of parameter handles are the gradients: `noma.read` passes the
adjoint of the value read to the handle it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import is_static, shape_of
from noma.dialects.noma.storage import ReadOp
from noma.dialects.noma.tensor_ops import CastOp
from noma.dialects.noma.types import ParamType
from noma.diagnostics import NomaError
from noma.passes.autodiff.activity import Activity
from noma.passes.autodiff.rules import DerivativeRules, default_rules


def adjoint_type(value: SSAValue) -> Attribute:
    """Adjoints of parameter handles have the type of the parameter's value."""
    t = value.type
    return t.value_type if isinstance(t, ParamType) else t


@dataclass
class AutodiffContext:
    """Module-level state shared by every sweep of one pass run."""

    module: ModuleOp
    rules: DerivativeRules = field(default_factory=default_rules)
    """Where the sweep finds each op's derivative rule."""
    vjp_functions: dict[str, str] = field(default_factory=dict)
    """callee -> the function computing its vector-Jacobian product"""
    pure_functions: dict[str, str] = field(default_factory=dict)
    """callee -> its copy without printing, used when recomputing (a copy
    maps to itself)"""
    functions: dict[str, func.FuncOp] = field(default_factory=dict)
    """The module's functions by name, kept up to date as functions are
    added (a scan of the module per lookup is quadratic on long programs)."""
    reserved: set[str] = field(default_factory=set)
    """Names given to functions still to be generated."""
    pending: list[Callable[[], None]] = field(default_factory=list)
    """Functions to generate: a callee's derivative is generated after its
    caller's, from this work list, not by recursion, so a chain of
    thousands of calls costs no Python stack."""
    origins: dict[Operation, Operation] = field(default_factory=dict)
    """Recomputed op -> the op of the input it copies, so that an error
    about a copy is reported where the original is (noma-opt locates ops
    of `.mlir` input by identity)."""

    def __post_init__(self) -> None:
        for op in self.module.ops:
            if isinstance(op, func.FuncOp):
                self.functions.setdefault(op.sym_name.data, op)

    def add_function(self, op: func.FuncOp) -> None:
        self.module.body.block.add_op(op)
        self.functions[op.sym_name.data] = op
        self.reserved.discard(op.sym_name.data)

    def origin(self, op: Operation) -> Operation:
        """The op of the input `op` is a recomputed copy of, or `op`."""
        return self.origins.get(op, op)

    def generate_pending(self) -> None:
        while self.pending:
            self.pending.pop()()


class Sweep:
    def __init__(self, ctx: AutodiffContext, builder: NomaBuilder, activity: Activity):
        self.ctx = ctx
        self.b = builder
        self.activity = activity
        self.adjoints: dict[SSAValue, SSAValue] = {}

    def accumulate(self, value: SSAValue, adjoint: SSAValue) -> None:
        if value not in self.activity:
            return
        target = adjoint_type(value)
        if (
            adjoint.type != target
            and isinstance(adjoint.type, TensorType)
            and isinstance(target, TensorType)
        ):
            # A rule may know less of a shape than the primal does (the
            # gradient of W in matmul(X, W) with X of dynamic shape): the
            # adjoint has the primal's type, checked at run time.
            adjoint = self.b.insert(CastOp(adjoint, target)).result
        existing = self.adjoints.get(value)
        self.adjoints[value] = adjoint if existing is None else self.b.add(existing, adjoint)

    def adjoint_or_zero(self, value: SSAValue) -> SSAValue:
        adjoint = self.adjoints.get(value)
        if adjoint is not None:
            return adjoint
        t = adjoint_type(value)
        if isinstance(t, TensorType) and not is_static(shape_of(t)):
            # Zeros of a shape known only at run time: shaped like the value
            # (a parameter's current value).
            like = (
                self.b.insert(ReadOp(value)).value if isinstance(value.type, ParamType) else value
            )
            return self.b.constant(0.0, like)
        return self.b.constant(0.0, t)

    def run(self, ops: Sequence[Operation]) -> None:
        for op in reversed(ops):
            self.reverse(op)

    def reverse(self, op: Operation) -> None:
        result_adjoints = [self.adjoints.get(r) for r in op.results]
        if all(a is None for a in result_adjoints):
            return
        rule = self.ctx.rules.rule_for(op)
        if rule is None:
            raise NomaError.at_op(
                self.ctx.origin(op), f"autodiff: no derivative rule for '{op.name}'"
            )
        saved = self.b.location
        self.b.location = op.location
        try:
            rule(self, op, result_adjoints)
        finally:
            self.b.location = saved
