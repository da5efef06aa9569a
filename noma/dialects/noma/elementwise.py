"""Elementwise arithmetic of the `noma` dialect.

Each op works on f64 scalars and (from the tensor milestone on) on f64 tensors
with NumPy broadcasting. Next to each op are its two hooks:

- `vjp`: its reverse-mode derivative rule, written with `noma` ops so that the
  gradient code is itself ordinary, printable IR;
- `lower_scalar`: what it computes on one f64 element, in `arith`/`math`
  (its meaning, which any lowering can use; the loops lowering is in
  `noma/lowering/noma_to_loops/elementwise.py`).

Generic syntax shared by the binary ops:

    %z = noma.add %x, %y : f64, f64 -> f64

and by the unary ones:

    %z = noma.exp %x : f64 -> f64
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, StringAttr, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.canonicalization import IdentityCanonicalization
from noma.dialects.noma.interfaces import DifferentiableOp, ScalarLowerable, VJPContext
from noma.dialects.noma.shapes import ShapeError, broadcast_types
from noma.dialects.noma.types import ValueType, verify_value_type

# ---------------------------------------------------------------------------
# Scalar helpers for `lower_scalar`
# ---------------------------------------------------------------------------


def _f64(b: Builder, value: float) -> SSAValue:
    return b.insert(arith.ConstantOp(FloatAttr(value, f64))).result


def _as_f64(b: Builder, flag: SSAValue) -> SSAValue:
    """i1 -> 1.0 / 0.0"""
    return b.insert(arith.UIToFPOp(flag, f64)).result


def _is_true(b: Builder, value: SSAValue) -> SSAValue:
    """f64 -> i1: any non-zero value (NaN included) is true."""
    return b.insert(arith.CmpfOp(value, _f64(b, 0.0), "une")).result


def broadcast_result_type(lhs: Attribute, rhs: Attribute) -> Attribute:
    """The result type of an elementwise op on `lhs` and `rhs` (NumPy
    broadcasting)."""
    try:
        return broadcast_types(lhs, rhs)
    except (ShapeError, ValueError) as e:
        raise VerifyException(f"operand types {lhs} and {rhs}: {e}") from None


# ---------------------------------------------------------------------------
# Binary ops
# ---------------------------------------------------------------------------


class BinaryOp(IRDLOperation, DifferentiableOp, ScalarLowerable):
    """Base of the binary elementwise ops."""

    lhs = operand_def(ValueType)
    rhs = operand_def(ValueType)
    result = result_def(ValueType)

    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        lhs_v, rhs_v = SSAValue.get(lhs), SSAValue.get(rhs)
        super().__init__(
            operands=[lhs_v, rhs_v],
            result_types=[broadcast_result_type(lhs_v.type, rhs_v.type)],
        )

    def verify_(self) -> None:
        expected = broadcast_result_type(self.lhs.type, self.rhs.type)
        if self.result.type != expected:
            raise VerifyException(
                f"'{self.name}' result type {self.result.type} does not match the "
                f"broadcast of its operands, {expected}"
            )


@irdl_op_definition
class AddOp(BinaryOp):
    """Elementwise `lhs + rhs`.

    %z = noma.add %x, %y : f64, f64 -> f64
    """

    name = "noma.add"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b = ctx.b
        return [
            b.unbroadcast(g, ctx.operand(0)) if ctx.needs(0) else None,
            b.unbroadcast(g, ctx.operand(1)) if ctx.needs(1) else None,
        ]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.AddfOp(operands[0], operands[1])).result


@irdl_op_definition
class SubOp(BinaryOp):
    """Elementwise `lhs - rhs`.

    %z = noma.sub %x, %y : f64, f64 -> f64
    """

    name = "noma.sub"

    traits = traits_def(Pure(), IdentityCanonicalization())

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b = ctx.b
        return [
            b.unbroadcast(g, ctx.operand(0)) if ctx.needs(0) else None,
            b.unbroadcast(b.neg(g), ctx.operand(1)) if ctx.needs(1) else None,
        ]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.SubfOp(operands[0], operands[1])).result


@irdl_op_definition
class MulOp(BinaryOp):
    """Elementwise `lhs * rhs`.

    %z = noma.mul %x, %y : f64, f64 -> f64
    """

    name = "noma.mul"

    traits = traits_def(Pure(), IdentityCanonicalization())

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x, y = ctx.b, ctx.operand(0), ctx.operand(1)
        return [
            b.unbroadcast(b.mul(g, y), x) if ctx.needs(0) else None,
            b.unbroadcast(b.mul(g, x), y) if ctx.needs(1) else None,
        ]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.MulfOp(operands[0], operands[1])).result


@irdl_op_definition
class DivOp(BinaryOp):
    """Elementwise `lhs / rhs` (IEEE: division by zero gives inf or NaN).

    %z = noma.div %x, %y : f64, f64 -> f64
    """

    name = "noma.div"

    traits = traits_def(Pure(), IdentityCanonicalization())

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x, y, z = ctx.b, ctx.operand(0), ctx.operand(1), ctx.result(0)
        g_over_y = b.div(g, y)
        return [
            b.unbroadcast(g_over_y, x) if ctx.needs(0) else None,
            # d(x/y)/dy = -x/y^2 = -z/y
            b.unbroadcast(b.neg(b.mul(g_over_y, z)), y) if ctx.needs(1) else None,
        ]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.DivfOp(operands[0], operands[1])).result


@irdl_op_definition
class RemOp(BinaryOp):
    """Floored remainder `lhs % rhs`, with the sign of `rhs` as in NumPy and
    PyTorch: `lhs - rhs * floor(lhs / rhs)`.

        %z = noma.rem %x, %y : f64, f64 -> f64
    """

    name = "noma.rem"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x, y = ctx.b, ctx.operand(0), ctx.operand(1)
        d_y = None
        if ctx.needs(1):
            quotient = b.unary(FloorOp, b.div(x, y))
            d_y = b.unbroadcast(b.neg(b.mul(g, quotient)), y)
        return [b.unbroadcast(g, x) if ctx.needs(0) else None, d_y]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        from xdsl.dialects import math

        x, y = operands
        quotient = b.insert(arith.DivfOp(x, y)).result
        floored = b.insert(math.FloorOp(quotient)).result
        return b.insert(arith.SubfOp(x, b.insert(arith.MulfOp(y, floored)).result)).result


@irdl_op_definition
class PowOp(BinaryOp):
    """Elementwise `lhs ** rhs`.

    %z = noma.pow %x, %y : f64, f64 -> f64
    """

    name = "noma.pow"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x, y, z = ctx.b, ctx.operand(0), ctx.operand(1), ctx.result(0)
        d_x = d_y = None
        if ctx.needs(0):
            # y * x^(y-1), computed as a power (not z/x) so that x = 0 works.
            x_pow = b.binary(PowOp, x, b.sub(y, b.constant(1.0, y)))
            d_x = b.unbroadcast(b.mul(g, b.mul(y, x_pow)), x)
        if ctx.needs(1):
            d_y = b.unbroadcast(b.mul(g, b.mul(z, b.unary(LogOp, x))), y)
        return [d_x, d_y]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        from xdsl.dialects import math

        return b.insert(math.PowFOp(operands[0], operands[1])).result


def _select_adjoint(ctx: VJPContext, g: SSAValue, take_lhs: SSAValue) -> list[SSAValue | None]:
    """Adjoints of min/max: `g` flows to the operand that was selected
    (`take_lhs` is 1.0 where it was the left one)."""
    b, x, y = ctx.b, ctx.operand(0), ctx.operand(1)
    d_x = b.unbroadcast(b.mul(g, take_lhs), x) if ctx.needs(0) else None
    d_y = None
    if ctx.needs(1):
        take_rhs = b.sub(b.constant(1.0, take_lhs), take_lhs)
        d_y = b.unbroadcast(b.mul(g, take_rhs), y)
    return [d_x, d_y]


@irdl_op_definition
class MinOp(BinaryOp):
    """Elementwise minimum; NaN if either operand is NaN.

    %z = noma.min %x, %y : f64, f64 -> f64
    """

    name = "noma.min"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return _select_adjoint(ctx, g, ctx.b.cmp("le", ctx.operand(0), ctx.operand(1)))

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.MinimumfOp(operands[0], operands[1])).result


@irdl_op_definition
class MaxOp(BinaryOp):
    """Elementwise maximum; NaN if either operand is NaN.

    %z = noma.max %x, %y : f64, f64 -> f64
    """

    name = "noma.max"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return _select_adjoint(ctx, g, ctx.b.cmp("ge", ctx.operand(0), ctx.operand(1)))

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.MaximumfOp(operands[0], operands[1])).result


class NonDifferentiableBinaryOp(BinaryOp):
    """A binary op whose result is piecewise constant: its gradient is zero."""

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [None, None]


CMP_PREDICATES: dict[str, str] = {
    "lt": "olt",
    "le": "ole",
    "gt": "ogt",
    "ge": "oge",
    "eq": "oeq",
    # `!=` is true when either side is NaN, as in C and NumPy.
    "ne": "une",
}


@irdl_op_definition
class CmpOp(NonDifferentiableBinaryOp):
    """Elementwise comparison giving 1.0 (true) or 0.0 (false).
    Predicates: lt le gt ge eq ne.

        %c = noma.cmp "lt", %x, %y : f64, f64 -> f64
    """

    name = "noma.cmp"

    predicate = prop_def(StringAttr)

    assembly_format = (
        "$predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def __init__(self, predicate: str, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        lhs_v, rhs_v = SSAValue.get(lhs), SSAValue.get(rhs)
        IRDLOperation.__init__(
            self,
            operands=[lhs_v, rhs_v],
            result_types=[broadcast_result_type(lhs_v.type, rhs_v.type)],
            properties={"predicate": StringAttr(predicate)},
        )

    def verify_(self) -> None:
        super().verify_()
        if self.predicate.data not in CMP_PREDICATES:
            raise VerifyException(
                f"unknown comparison predicate '{self.predicate.data}', expected one "
                f"of {', '.join(CMP_PREDICATES)}"
            )

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        flag = b.insert(
            arith.CmpfOp(operands[0], operands[1], CMP_PREDICATES[self.predicate.data])
        ).result
        return _as_f64(b, flag)


@irdl_op_definition
class AndOp(NonDifferentiableBinaryOp):
    """Elementwise logical and: 1.0 where both operands are non-zero.

    %z = noma.and %x, %y : f64, f64 -> f64
    """

    name = "noma.and"

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        both = b.insert(arith.AndIOp(_is_true(b, operands[0]), _is_true(b, operands[1])))
        return _as_f64(b, both.result)


@irdl_op_definition
class OrOp(NonDifferentiableBinaryOp):
    """Elementwise logical or: 1.0 where either operand is non-zero.

    %z = noma.or %x, %y : f64, f64 -> f64
    """

    name = "noma.or"

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        either = b.insert(arith.OrIOp(_is_true(b, operands[0]), _is_true(b, operands[1])))
        return _as_f64(b, either.result)


# ---------------------------------------------------------------------------
# Unary ops
# ---------------------------------------------------------------------------


class UnaryOp(IRDLOperation, DifferentiableOp, ScalarLowerable):
    """Base of the unary elementwise ops."""

    operand = operand_def(ValueType)
    result = result_def(ValueType)

    traits = traits_def(Pure())

    assembly_format = "$operand attr-dict `:` type($operand) `->` type($result)"

    def __init__(self, operand: SSAValue | Operation):
        value = SSAValue.get(operand)
        super().__init__(operands=[value], result_types=[value.type])

    def verify_(self) -> None:
        verify_value_type(self.operand.type, f"'{self.name}' operand")
        if self.result.type != self.operand.type:
            raise VerifyException(
                f"'{self.name}' result type {self.result.type} must match its operand "
                f"type {self.operand.type}"
            )


class SimpleUnaryOp(UnaryOp):
    """A unary op whose derivative is `g * derivative(x, y)` and whose scalar
    lowering is a single `math` op."""

    SCALAR_OP: ClassVar[str]
    """The class name of that `math` op: a name, so that defining the dialect
    does not import `math` (the lowering does)."""

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        """dy/dx in terms of the forward operand and result, or None if zero."""
        raise NotImplementedError

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        derivative = self.derivative(ctx)
        return [None if derivative is None else ctx.b.mul(g, derivative)]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        from xdsl.dialects import math

        scalar_op: type[Operation] = getattr(math, self.SCALAR_OP)
        return b.insert(scalar_op(operands[0])).results[0]


@irdl_op_definition
class NegOp(UnaryOp):
    """Elementwise negation.

    %z = noma.neg %x : f64 -> f64
    """

    name = "noma.neg"

    traits = traits_def(Pure(), IdentityCanonicalization())

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.neg(g)]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.NegfOp(operands[0])).result


@irdl_op_definition
class NotOp(UnaryOp):
    """Logical not: 1.0 where the operand is zero, else 0.0.

    %z = noma.not %x : f64 -> f64
    """

    name = "noma.not"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [None]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        flag = b.insert(arith.CmpfOp(operands[0], _f64(b, 0.0), "oeq")).result
        return _as_f64(b, flag)


@irdl_op_definition
class ExpOp(SimpleUnaryOp):
    """`e ** x`.

    %z = noma.exp %x : f64 -> f64
    """

    name = "noma.exp"
    SCALAR_OP: ClassVar[str] = "ExpOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        return ctx.result(0)


@irdl_op_definition
class LogOp(SimpleUnaryOp):
    """Natural logarithm.

    %z = noma.log %x : f64 -> f64
    """

    name = "noma.log"
    SCALAR_OP: ClassVar[str] = "LogOp"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.div(g, ctx.operand(0))]


@irdl_op_definition
class SqrtOp(SimpleUnaryOp):
    """Square root.

    %z = noma.sqrt %x : f64 -> f64
    """

    name = "noma.sqrt"
    SCALAR_OP: ClassVar[str] = "SqrtOp"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, y = ctx.b, ctx.result(0)
        return [b.div(g, b.mul(b.constant(2.0, y), y))]


@irdl_op_definition
class SinOp(SimpleUnaryOp):
    """Sine.

    %z = noma.sin %x : f64 -> f64
    """

    name = "noma.sin"
    SCALAR_OP: ClassVar[str] = "SinOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        return ctx.b.unary(CosOp, ctx.operand(0))


@irdl_op_definition
class CosOp(SimpleUnaryOp):
    """Cosine.

    %z = noma.cos %x : f64 -> f64
    """

    name = "noma.cos"
    SCALAR_OP: ClassVar[str] = "CosOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        return ctx.b.neg(ctx.b.unary(SinOp, ctx.operand(0)))


@irdl_op_definition
class TanOp(SimpleUnaryOp):
    """Tangent.

    %z = noma.tan %x : f64 -> f64
    """

    name = "noma.tan"
    SCALAR_OP: ClassVar[str] = "TanOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        b, y = ctx.b, ctx.result(0)
        return b.add(b.constant(1.0, y), b.mul(y, y))


@irdl_op_definition
class TanhOp(SimpleUnaryOp):
    """Hyperbolic tangent.

    %z = noma.tanh %x : f64 -> f64
    """

    name = "noma.tanh"
    SCALAR_OP: ClassVar[str] = "TanhOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        b, y = ctx.b, ctx.result(0)
        return b.sub(b.constant(1.0, y), b.mul(y, y))


@irdl_op_definition
class SigmoidOp(UnaryOp):
    """The logistic function `1 / (1 + exp(-x))`.

    %z = noma.sigmoid %x : f64 -> f64
    """

    name = "noma.sigmoid"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, y = ctx.b, ctx.result(0)
        return [b.mul(g, b.mul(y, b.sub(b.constant(1.0, y), y)))]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        from xdsl.dialects import math

        neg = b.insert(arith.NegfOp(operands[0])).result
        denominator = b.insert(arith.AddfOp(_f64(b, 1.0), b.insert(math.ExpOp(neg)).result))
        return b.insert(arith.DivfOp(_f64(b, 1.0), denominator.result)).result


@irdl_op_definition
class ReluOp(UnaryOp):
    """`max(x, 0)`.

    %z = noma.relu %x : f64 -> f64
    """

    name = "noma.relu"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x = ctx.b, ctx.operand(0)
        return [b.mul(g, b.cmp("gt", x, b.constant(0.0, x)))]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        return b.insert(arith.MaximumfOp(operands[0], _f64(b, 0.0))).result


@irdl_op_definition
class AbsOp(SimpleUnaryOp):
    """Absolute value.

    %z = noma.abs %x : f64 -> f64
    """

    name = "noma.abs"
    SCALAR_OP: ClassVar[str] = "AbsFOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        # sign(x), with sign(0) = 0 as in NumPy, JAX and PyTorch
        b, x = ctx.b, ctx.operand(0)
        zero = b.constant(0.0, x)
        return b.sub(b.cmp("gt", x, zero), b.cmp("lt", x, zero))


@irdl_op_definition
class FloorOp(SimpleUnaryOp):
    """Round down; its gradient is zero.

    %z = noma.floor %x : f64 -> f64
    """

    name = "noma.floor"
    SCALAR_OP: ClassVar[str] = "FloorOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        return None


@irdl_op_definition
class CeilOp(SimpleUnaryOp):
    """Round up; its gradient is zero.

    %z = noma.ceil %x : f64 -> f64
    """

    name = "noma.ceil"
    SCALAR_OP: ClassVar[str] = "CeilOp"

    def derivative(self, ctx: VJPContext) -> SSAValue | None:
        return None


BINARY_OPS: tuple[type[BinaryOp], ...] = (
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    RemOp,
    PowOp,
    MinOp,
    MaxOp,
    CmpOp,
    AndOp,
    OrOp,
)

UNARY_OPS: tuple[type[UnaryOp], ...] = (
    NegOp,
    NotOp,
    ExpOp,
    LogOp,
    SqrtOp,
    SinOp,
    CosOp,
    TanOp,
    TanhOp,
    SigmoidOp,
    ReluOp,
    AbsOp,
    FloorOp,
    CeilOp,
)
