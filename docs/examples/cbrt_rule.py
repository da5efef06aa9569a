"""A derivative rule for an op of another dialect, registered from outside
NOMA: `math.cbrt`, which NOMA has no rule for (docs/autodiff.md).

z = cbrt(x), so dz/dx = 1 / (3 z^2): the rule multiplies the result's
adjoint by that, written in plain `arith` at the sweep's builder, from the
forward result `ctx.result(0)` (never `op.results`: inside a branch or a
loop the sweep works on a recomputed copy of the op).

`tests/autodiff/test_external_rule.py` registers it and checks the gradient
against finite differences.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import FloatAttr
from xdsl.ir import Operation, SSAValue

from noma.dialects.noma.interfaces import VJPContext
from noma.passes.autodiff.rules import DerivativeRules, register_vjp


def cbrt_vjp(
    op: Operation, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]
) -> list[SSAValue | None]:
    """The adjoint of `x` in `z = math.cbrt x`: dz / (3 z^2)."""
    (dz,) = result_adjoints
    assert dz is not None  # the sweep calls a rule only when some result has an adjoint
    z = ctx.result(0)
    three = ctx.b.insert(arith.ConstantOp(FloatAttr(3.0, z.type))).result
    z_squared = ctx.b.insert(arith.MulfOp(z, z)).result
    slope = ctx.b.insert(arith.MulfOp(three, z_squared)).result
    return [ctx.b.insert(arith.DivfOp(dz, slope)).result]


def register_in(rules: DerivativeRules) -> None:
    """Add the rule to a private table (passed to `differentiate_module`)."""
    rules.register_vjp(math.CbrtOp, cbrt_vjp)


def register_globally() -> None:
    """Add the rule to the default table, the one `-p autodiff` uses."""
    register_vjp(math.CbrtOp)(cbrt_vjp)
