"""A small builder for emitting `noma` ops, shared by derivative rules, the
optimizer expansion and IR generation.

It wraps xDSL's `Builder` with a default source location, so that generated
code (gradients, optimizer updates) points back at the statement it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    Float64Type,
    FloatAttr,
    TensorType,
    f64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.shapes import is_static, shape_of

if TYPE_CHECKING:
    from noma.dialects.noma.elementwise import BinaryOp, UnaryOp

OpT = TypeVar("OpT", bound=Operation)


@dataclass
class NomaBuilder(Builder):
    """An xDSL `Builder` that stamps inserted ops with `location` and has
    helpers for the `noma` ops that generated code uses most."""

    location: Attribute | None = None

    def __init__(self, insertion_point: InsertPoint, location: Attribute | None = None):
        super().__init__(insertion_point)
        self.location = location

    def handle_operation_insertion(self, op: Operation) -> None:
        if self.location is not None:
            op.location = self.location
        super().handle_operation_insertion(op)

    def insert_as_is(self, op: OpT) -> OpT:
        """Insert without changing the op's location (e.g. a clone)."""
        saved, self.location = self.location, None
        try:
            return self.insert(op)
        finally:
            self.location = saved

    # -- constants ----------------------------------------------------------

    def constant(self, value: float, like: SSAValue | Attribute = f64) -> SSAValue:
        """The constant `value` with the type of `like`: a scalar, a splat
        tensor constant for a static tensor type, or `value` broadcast to the
        shape of the value `like` (which also covers dynamic shapes)."""
        target = like if isinstance(like, Attribute) else like.type
        if isinstance(target, Float64Type):
            return self.insert(arith.ConstantOp(FloatAttr(value, f64))).result
        if isinstance(like, SSAValue):
            return self.broadcast_like(self.constant(value), like)
        assert isinstance(target, TensorType)
        if any(d == DYNAMIC_INDEX for d in target.get_shape()):
            raise ValueError(f"a constant of the dynamic type {target} needs a value to copy the shape of")
        splat = DenseIntOrFPElementsAttr.from_list(target, [value] * _count(target))
        return self.insert(arith.ConstantOp(splat)).result

    def zeros_like(self, value: SSAValue) -> SSAValue:
        return self.constant(0.0, value)

    # -- elementwise arithmetic ----------------------------------------------

    def binary(self, op_type: type[BinaryOp], lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.insert(op_type(lhs, rhs)).result

    def unary(self, op_type: type[UnaryOp], operand: SSAValue) -> SSAValue:
        return self.insert(op_type(operand)).result

    def add(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        from noma.dialects.noma.elementwise import AddOp

        return self.binary(AddOp, lhs, rhs)

    def sub(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        from noma.dialects.noma.elementwise import SubOp

        return self.binary(SubOp, lhs, rhs)

    def mul(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        from noma.dialects.noma.elementwise import MulOp

        return self.binary(MulOp, lhs, rhs)

    def div(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        from noma.dialects.noma.elementwise import DivOp

        return self.binary(DivOp, lhs, rhs)

    def neg(self, operand: SSAValue) -> SSAValue:
        from noma.dialects.noma.elementwise import NegOp

        return self.unary(NegOp, operand)

    def cmp(self, predicate: str, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        from noma.dialects.noma.elementwise import CmpOp

        return self.insert(CmpOp(predicate, lhs, rhs)).result

    def sum_all(self, values: Sequence[SSAValue]) -> SSAValue:
        """The sum of one or more values (a left fold of `noma.add`)."""
        total = values[0]
        for v in values[1:]:
            total = self.add(total, v)
        return total

    def broadcast_like(self, value: SSAValue, like: SSAValue) -> SSAValue:
        """`value` broadcast to the shape of `like`."""
        if value.type == like.type:
            return value
        from noma.dialects.noma.tensor_ops import BroadcastToOp

        return self.insert(BroadcastToOp(value, like)).result

    def unbroadcast(self, grad: SSAValue, like: SSAValue) -> SSAValue:
        """Reduce `grad`, the adjoint of a broadcast result, to the type of
        the operand `like` by summing over the broadcast axes. Equal types
        with a dynamic dimension do not mean equal shapes (a `[1, n]` file
        broadcast onto `[m, n]` data: both `tensor<?x?xf64>`), so then the
        reduction is kept and decided at run time."""
        if grad.type == like.type and is_static(shape_of(like.type)):
            return grad
        from noma.dialects.noma.tensor_ops import ReduceToOp

        return self.insert(ReduceToOp(grad, like)).result


def _count(t: TensorType) -> int:
    total = 1
    for d in t.get_shape():
        total *= d
    return total
