"""The `autodiff` pass: reverse-mode differentiation as an IR transformation.

For each `noma.minimize`, the pass emits the gradient of the objective with
respect to every parameter it depends on, right after the forward code of the
optimize body, and records the parameters and gradients on the op:

    noma.minimize %loss : f64
  becomes
    ... reverse sweep ...
    noma.minimize %loss wrt(%W : !noma.param<f64>) grads(%dW : f64) : f64

The pass is generic: it finds each op's derivative rule in a
`DerivativeRules` table (rules.py). A noma op defines its rule next to
itself (`DifferentiableOp.vjp`); `arith` and `math` ops, `scf.if`,
`scf.while` and `func.call` have registered rules (arith_rules.py,
math_rules.py, regions.py, calls.py), and a rule for an op of any other
dialect is registered the same way (docs/autodiff.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.storage import ReadOp
from noma.dialects.noma.training import MinimizeOp, OptimizeOp
from noma.dialects.noma.types import ParamType
from noma.diagnostics import NomaError
from noma.passes.autodiff.activity import Activity
from noma.passes.autodiff.rules import DerivativeRules, default_rules
from noma.passes.autodiff.sweep import AutodiffContext, Sweep


def _enclosing_optimize(op: MinimizeOp) -> OptimizeOp:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, OptimizeOp):
        parent = parent.parent_op()
    assert parent is not None, "verified by MinimizeOp's HasAncestor trait"
    return parent


def differentiate(ctx: AutodiffContext, minimize: MinimizeOp) -> None:
    block = minimize.parent_block()
    assert block is not None
    forward = []
    for op in block.ops:
        if op is minimize:
            break
        forward.append(op)

    handles: dict[SSAValue, None] = {p: None for p in _enclosing_optimize(minimize).params}
    for op in forward:
        for inner in op.walk():
            if isinstance(inner, ReadOp) and isinstance(inner.handle.type, ParamType):
                handles.setdefault(inner.handle, None)
    activity = Activity(handles)
    activity.analyze(forward)
    if minimize.objective not in activity:
        raise NomaError.at_op(minimize, "the objective does not depend on any learnable parameter")

    b = NomaBuilder(InsertPoint.before(minimize), minimize.location)
    sweep = Sweep(ctx, b, activity)
    sweep.accumulate(minimize.objective, b.constant(1.0))
    sweep.run(forward)
    params = [h for h in handles if h in sweep.adjoints]
    b.insert(MinimizeOp(minimize.objective, params, [sweep.adjoints[p] for p in params]))
    minimize.detach()
    minimize.erase()


@dataclass(frozen=True)
class AutodiffPass(ModulePass):
    """Emit the gradients of every `noma.minimize` not yet differentiated."""

    name = "autodiff"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        differentiate_module(op, default_rules())


def differentiate_module(module: ModuleOp, rules: DerivativeRules) -> None:
    """Differentiate every `noma.minimize` of `module` not yet differentiated,
    with the derivative rules of `rules` (the pass uses the default table)."""
    ad = AutodiffContext(module, rules)
    for minimize in [m for m in module.walk() if isinstance(m, MinimizeOp)]:
        if not minimize.is_differentiated:
            differentiate(ad, minimize)
    ad.generate_pending()
