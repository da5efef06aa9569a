"""Derivative rules of `arith` float ops, registered like any foreign op's.

The adjoint code of an upstream op is upstream code: the rules emit `arith`
ops, so that differentiating hand-written `arith`/`math` IR adds no `noma`
op but the sweep's accumulating `noma.add`. They work on any float type and
on static tensors of floats (elementwise, as `arith` defines them).

Constants, comparisons and integer casts have a zero derivative; adjoints
stop there.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, FloatAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.interfaces import VJPContext
from noma.passes.autodiff.rules import DerivativeRules, VJPRule

Adjoints = Sequence[SSAValue | None]


# -- emitting arith ------------------------------------------------------------


def constant_like(b: NomaBuilder, value: float, like: SSAValue) -> SSAValue:
    """The constant `value` of `like`'s float or static tensor type."""
    t: Attribute = like.type
    if isinstance(t, TensorType):
        count = 1
        for d in t.get_shape():
            count *= d
        return b.insert(arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [value] * count))).result
    return b.insert(arith.ConstantOp(FloatAttr(value, t))).result  # type: ignore[arg-type]


def addf(b: NomaBuilder, x: SSAValue, y: SSAValue) -> SSAValue:
    return b.insert(arith.AddfOp(x, y)).result


def subf(b: NomaBuilder, x: SSAValue, y: SSAValue) -> SSAValue:
    return b.insert(arith.SubfOp(x, y)).result


def mulf(b: NomaBuilder, x: SSAValue, y: SSAValue) -> SSAValue:
    return b.insert(arith.MulfOp(x, y)).result


def divf(b: NomaBuilder, x: SSAValue, y: SSAValue) -> SSAValue:
    return b.insert(arith.DivfOp(x, y)).result


def negf(b: NomaBuilder, x: SSAValue) -> SSAValue:
    return b.insert(arith.NegfOp(x)).result


def cmpf(b: NomaBuilder, predicate: str, x: SSAValue, y: SSAValue) -> SSAValue:
    return b.insert(arith.CmpfOp(x, y, predicate)).result


def select(b: NomaBuilder, condition: SSAValue, if_true: SSAValue, if_false: SSAValue) -> SSAValue:
    return b.insert(arith.SelectOp(condition, if_true, if_false)).result


def _single(result_adjoints: Adjoints) -> SSAValue:
    (dz,) = result_adjoints
    assert dz is not None, "the sweep calls a rule only when a result has an adjoint"
    return dz


# -- the rules -----------------------------------------------------------------


def addf_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    dz = _single(result_adjoints)
    return [dz, dz]


def subf_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    dz = _single(result_adjoints)
    return [dz, negf(ctx.b, dz) if ctx.needs(1) else None]


def mulf_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    dz, b = _single(result_adjoints), ctx.b
    x, y = ctx.operand(0), ctx.operand(1)
    return [
        mulf(b, dz, y) if ctx.needs(0) else None,
        mulf(b, dz, x) if ctx.needs(1) else None,
    ]


def divf_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    dz, b = _single(result_adjoints), ctx.b
    dz_over_y = divf(b, dz, ctx.operand(1))
    # d(x/y)/dy = -x/y^2 = -z/y
    dy = negf(b, mulf(b, dz_over_y, ctx.result(0))) if ctx.needs(1) else None
    return [dz_over_y if ctx.needs(0) else None, dy]


def negf_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    return [negf(ctx.b, _single(result_adjoints))]


def _routed(ctx: VJPContext, dz: SSAValue, take_lhs: SSAValue) -> Adjoints:
    """`dz` to the left operand where `take_lhs` holds, else to the right."""
    b = ctx.b
    zero = constant_like(b, 0.0, dz)
    return [
        select(b, take_lhs, dz, zero) if ctx.needs(0) else None,
        select(b, take_lhs, zero, dz) if ctx.needs(1) else None,
    ]


def maximum_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    # At a tie the left operand takes the adjoint, as for noma.max.
    dz = _single(result_adjoints)
    return _routed(ctx, dz, cmpf(ctx.b, "oge", ctx.operand(0), ctx.operand(1)))


def minimum_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    dz = _single(result_adjoints)
    return _routed(ctx, dz, cmpf(ctx.b, "ole", ctx.operand(0), ctx.operand(1)))


def select_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    # The condition is an i1: no adjoint. Each value gets dz where chosen.
    dz, b = _single(result_adjoints), ctx.b
    condition = ctx.operand(0)
    zero = constant_like(b, 0.0, dz)
    return [
        None,
        select(b, condition, dz, zero) if ctx.needs(1) else None,
        select(b, condition, zero, dz) if ctx.needs(2) else None,
    ]


VJP_RULES: dict[type[Operation], VJPRule] = {
    arith.AddfOp: addf_vjp,
    arith.SubfOp: subf_vjp,
    arith.MulfOp: mulf_vjp,
    arith.DivfOp: divf_vjp,
    arith.NegfOp: negf_vjp,
    arith.MaximumfOp: maximum_vjp,
    arith.MaxnumfOp: maximum_vjp,
    arith.MinimumfOp: minimum_vjp,
    arith.MinnumfOp: minimum_vjp,
    arith.SelectOp: select_vjp,
}

NON_DIFFERENTIABLE: tuple[type[Operation], ...] = (
    arith.ConstantOp,
    arith.CmpfOp,
    arith.CmpiOp,
    arith.SIToFPOp,
    arith.UIToFPOp,
    arith.FPToSIOp,
    arith.FPToUIOp,
    arith.IndexCastOp,
    arith.BitcastOp,
)
"""Ops whose result does not vary smoothly with their operands (or whose
operands are integers): zero derivative."""


def register(rules: DerivativeRules) -> None:
    for op_type, rule in VJP_RULES.items():
        rules.register_vjp(op_type, rule)
    rules.register_non_differentiable(*NON_DIFFERENTIABLE)
