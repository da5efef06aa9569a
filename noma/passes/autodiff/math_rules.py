"""Derivative rules of `math` float ops, registered like any foreign op's.

Each unary rule is `dz * f'(x)`, with `f'` written in `arith`/`math` from
the forward operand `x` and result `z` (`exp`: z, `tanh`: 1 - z*z, ...).
Rounding ops have a zero derivative. `math` ops without a rule here (cbrt,
erf, ...) stay "no derivative rule" errors until one is registered.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence

from xdsl.dialects import math
from xdsl.ir import Operation, SSAValue

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.interfaces import VJPContext
from noma.passes.autodiff.arith_rules import (
    addf,
    cmpf,
    constant_like,
    divf,
    mulf,
    negf,
    select,
    subf,
)
from noma.passes.autodiff.rules import DerivativeRules, VJPRule

Adjoints = Sequence[SSAValue | None]

Derivative = Callable[[NomaBuilder, SSAValue, SSAValue], SSAValue]
"""`f'(x)` for `z = f(x)`, emitted with the builder from x and z."""


def _emit(b: NomaBuilder, op_type: type[Operation], *operands: SSAValue) -> SSAValue:
    return b.insert(op_type(*operands)).results[0]


def _unary(derivative: Derivative) -> VJPRule:
    """The VJP rule `dz * derivative(x, z)` of a unary op."""

    def vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
        (dz,) = result_adjoints
        assert dz is not None
        return [mulf(ctx.b, dz, derivative(ctx.b, ctx.operand(0), ctx.result(0)))]

    return vjp


def _one_plus(b: NomaBuilder, v: SSAValue) -> SSAValue:
    return addf(b, constant_like(b, 1.0, v), v)


def _one_minus_square(b: NomaBuilder, v: SSAValue) -> SSAValue:
    return subf(b, constant_like(b, 1.0, v), mulf(b, v, v))


def _d_sqrt(b: NomaBuilder, x: SSAValue, z: SSAValue) -> SSAValue:
    return divf(b, constant_like(b, 0.5, z), z)


def _d_rsqrt(b: NomaBuilder, x: SSAValue, z: SSAValue) -> SSAValue:
    # z = x^(-1/2): z' = -z^3 / 2
    return mulf(b, constant_like(b, -0.5, z), mulf(b, z, mulf(b, z, z)))


def _d_abs(b: NomaBuilder, x: SSAValue, z: SSAValue) -> SSAValue:
    # sign(x), with sign(0) = 0 as for noma.abs (NumPy, JAX and PyTorch).
    zero, one = constant_like(b, 0.0, x), constant_like(b, 1.0, x)
    negative = select(b, cmpf(b, "olt", x, zero), negf(b, one), zero)
    return select(b, cmpf(b, "ogt", x, zero), one, negative)


UNARY_DERIVATIVES: dict[type[Operation], Derivative] = {
    math.ExpOp: lambda b, x, z: z,
    math.Exp2Op: lambda b, x, z: mulf(b, z, constant_like(b, pymath.log(2.0), z)),
    math.ExpM1Op: lambda b, x, z: _one_plus(b, z),
    math.LogOp: lambda b, x, z: divf(b, constant_like(b, 1.0, x), x),
    math.Log2Op: lambda b, x, z: divf(b, constant_like(b, 1.0 / pymath.log(2.0), x), x),
    math.Log10Op: lambda b, x, z: divf(b, constant_like(b, 1.0 / pymath.log(10.0), x), x),
    math.Log1pOp: lambda b, x, z: divf(b, constant_like(b, 1.0, x), _one_plus(b, x)),
    math.SqrtOp: _d_sqrt,
    math.RsqrtOp: _d_rsqrt,
    math.SinOp: lambda b, x, z: _emit(b, math.CosOp, x),
    math.CosOp: lambda b, x, z: negf(b, _emit(b, math.SinOp, x)),
    math.TanOp: lambda b, x, z: _one_plus(b, mulf(b, z, z)),
    math.TanhOp: lambda b, x, z: _one_minus_square(b, z),
    math.SinhOp: lambda b, x, z: _emit(b, math.CoshOp, x),
    math.CoshOp: lambda b, x, z: _emit(b, math.SinhOp, x),
    math.AsinOp: lambda b, x, z: divf(
        b, constant_like(b, 1.0, x), _emit(b, math.SqrtOp, _one_minus_square(b, x))
    ),
    math.AcosOp: lambda b, x, z: divf(
        b, constant_like(b, -1.0, x), _emit(b, math.SqrtOp, _one_minus_square(b, x))
    ),
    math.AtanOp: lambda b, x, z: divf(b, constant_like(b, 1.0, x), _one_plus(b, mulf(b, x, x))),
    math.AbsFOp: _d_abs,
}


def powf_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    (dz,) = result_adjoints
    assert dz is not None
    b, x, y, z = ctx.b, ctx.operand(0), ctx.operand(1), ctx.result(0)
    dx = dy = None
    if ctx.needs(0):
        # y * x^(y-1), a power rather than y*z/x so that x = 0 works.
        x_pow = _emit(b, math.PowFOp, x, subf(b, y, constant_like(b, 1.0, y)))
        dx = mulf(b, dz, mulf(b, y, x_pow))
    if ctx.needs(1):
        dy = mulf(b, dz, mulf(b, z, _emit(b, math.LogOp, x)))
    return [dx, dy]


def atan2_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    # z = atan2(y, x): dz/dy = x / (x^2 + y^2), dz/dx = -y / (x^2 + y^2).
    (dz,) = result_adjoints
    assert dz is not None
    b, y, x = ctx.b, ctx.operand(0), ctx.operand(1)
    scaled = divf(b, dz, addf(b, mulf(b, x, x), mulf(b, y, y)))
    return [
        mulf(b, scaled, x) if ctx.needs(0) else None,
        negf(b, mulf(b, scaled, y)) if ctx.needs(1) else None,
    ]


def fma_vjp(op: Operation, ctx: VJPContext, result_adjoints: Adjoints) -> Adjoints:
    # z = a * b + c
    (dz,) = result_adjoints
    assert dz is not None
    b = ctx.b
    return [
        mulf(b, dz, ctx.operand(1)) if ctx.needs(0) else None,
        mulf(b, dz, ctx.operand(0)) if ctx.needs(1) else None,
        dz,
    ]


ROUNDING: tuple[type[Operation], ...] = (
    math.FloorOp,
    math.CeilOp,
    math.RoundOp,
    math.RoundEvenOp,
    math.TruncOp,
)
"""Piecewise constant: zero derivative."""


def register(rules: DerivativeRules) -> None:
    for op_type, derivative in UNARY_DERIVATIVES.items():
        rules.register_vjp(op_type, _unary(derivative))
    rules.register_vjp(math.PowFOp, powf_vjp)
    rules.register_vjp(math.Atan2Op, atan2_vjp)
    rules.register_vjp(math.FmaOp, fma_vjp)
    rules.register_non_differentiable(*ROUNDING)
