"""Tensor ops of the `noma` dialect: building, indexing, reductions, linear
algebra, and the broadcasting helpers that derivative rules use. Each op has
its verifier and its derivative rule here; its loop nest over memrefs is in
`noma/lowering/noma_to_loops/tensor_ops.py`.

    %t = noma.from_elements %a, %b, %c, %d : tensor<2x2xf64>
    %r = noma.index %m, %i : tensor<3x2xf64>, f64 -> tensor<2xf64>
    %s = noma.sum %m : tensor<3x2xf64> -> f64
    %c = noma.matmul %a, %b : tensor<4x2xf64>, tensor<2x16xf64> -> tensor<4x16xf64>
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import TensorType, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.dialects.noma.shapes import (
    ShapeError,
    broadcast_shapes,
    format_shape,
    join_shapes,
    num_elements,
    row_major_strides,
    shape_of,
    type_of,
)
from noma.dialects.noma.types import ValueType


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise VerifyException(message)


def _rank(value: SSAValue) -> int:
    return len(shape_of(value.type))


def _compatible(a: Attribute, b: Attribute) -> bool:
    """Same rank and no dimension that is static and different on both."""
    joined = join_shapes(shape_of(a), shape_of(b))
    if joined is None:
        return False
    return all(
        x is None or y is None or x == y
        for x, y in zip(shape_of(a), shape_of(b), strict=True)
    )


@irdl_op_definition
class FromElementsOp(IRDLOperation, DifferentiableOp):
    """A tensor from its scalar elements in row-major order.

        %t = noma.from_elements %a, %b, %c, %d : tensor<2x2xf64>
    """

    name = "noma.from_elements"

    elements = var_operand_def(f64)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$elements attr-dict `:` type($result)"

    def __init__(self, elements: Sequence[SSAValue], result_type: TensorType):
        super().__init__(operands=[elements], result_types=[result_type])

    def verify_(self) -> None:
        shape = shape_of(self.result.type)
        count = num_elements(shape)
        _require(count is not None, "'noma.from_elements' needs a static shape")
        _require(
            count == len(self.elements),
            f"a tensor of shape {format_shape(shape)} has {count} elements, got "
            f"{len(self.elements)}",
        )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b = ctx.b
        shape = shape_of(self.result.type)
        adjoints: list[SSAValue | None] = []
        for flat in range(len(self.elements)):
            if not ctx.needs(flat):
                adjoints.append(None)
                continue
            value, rest = g, flat
            for extent in row_major_strides(shape):
                value = b.insert(IndexOp(value, b.constant(float(rest // extent)))).result
                rest %= extent
            adjoints.append(value)
        return adjoints



@irdl_op_definition
class IndexOp(IRDLOperation, DifferentiableOp):
    """`m[i]`: row `i` of `m` (an element when `m` is 1-D). The index is an
    f64 truncated toward zero; a negative index counts from the end, as in
    NumPy; out of bounds is a run-time error.

        %row = noma.index %m, %i : tensor<3x2xf64>, f64 -> tensor<2xf64>
        %x = noma.index %v, %i : tensor<2xf64>, f64 -> f64
    """

    name = "noma.index"

    source = operand_def(TensorType)
    index = operand_def(f64)
    result = result_def(ValueType)

    traits = traits_def(Pure())

    assembly_format = (
        "$source `,` $index attr-dict `:` type($source) `,` type($index) `->` type($result)"
    )

    def __init__(self, source: SSAValue | Operation, index: SSAValue | Operation):
        source_v = SSAValue.get(source)
        super().__init__(
            operands=[source_v, index], result_types=[type_of(shape_of(source_v.type)[1:])]
        )

    def verify_(self) -> None:
        expected = type_of(shape_of(self.source.type)[1:])
        _require(
            self.result.type == expected,
            f"indexing a {self.source.type} gives a {expected}, not a {self.result.type}",
        )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        scattered = ctx.b.insert(IndexAdjointOp(g, ctx.operand(1), ctx.operand(0))).result
        return [scattered, None]



@irdl_op_definition
class IndexAdjointOp(IRDLOperation, DifferentiableOp):
    """The adjoint of `noma.index`: a tensor shaped like `like`, zero except
    `value` at index `index`.

        %d = noma.index_adjoint %g, %i, %m : tensor<2xf64>, f64, tensor<3x2xf64> -> tensor<3x2xf64>
    """

    name = "noma.index_adjoint"

    value = operand_def(ValueType)
    index = operand_def(f64)
    like = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = (
        "$value `,` $index `,` $like attr-dict `:` type($value) `,` type($index) `,` type($like) "
        "`->` type($result)"
    )

    def __init__(self, value: SSAValue, index: SSAValue, like: SSAValue):
        super().__init__(operands=[value, index, like], result_types=[like.type])

    def verify_(self) -> None:
        _require(self.result.type == self.like.type, "the result has the type of `like`")
        _require(
            type_of(shape_of(self.like.type)[1:]) == self.value.type,
            f"a row of a {self.like.type} is not a {self.value.type}",
        )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        row = ctx.b.insert(IndexOp(g, ctx.operand(1))).result if ctx.needs(0) else None
        return [row, None, None]



class ReductionOp(IRDLOperation, DifferentiableOp):
    """Base of the reductions of a whole tensor to a scalar."""

    source = operand_def(ValueType)
    result = result_def(f64)

    traits = traits_def(Pure())

    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue | Operation):
        super().__init__(operands=[source], result_types=[f64])


@irdl_op_definition
class SumOp(ReductionOp):
    """The sum of all elements (a scalar is its own sum).

        %s = noma.sum %m : tensor<3x2xf64> -> f64
    """

    name = "noma.sum"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.broadcast_like(g, ctx.operand(0))]



@irdl_op_definition
class MeanOp(ReductionOp):
    """The mean of all elements.

        %s = noma.mean %m : tensor<3x2xf64> -> f64
    """

    name = "noma.mean"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x = ctx.b, ctx.operand(0)
        count = b.insert(NumelOp(x)).result
        return [b.broadcast_like(b.div(g, count), x)]



@irdl_op_definition
class NumelOp(IRDLOperation, DifferentiableOp):
    """The number of elements, as an f64.

        %n = noma.numel %m : tensor<3x?xf64> -> f64
    """

    name = "noma.numel"

    source = operand_def(ValueType)
    result = result_def(f64)

    traits = traits_def(Pure())

    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue | Operation):
        super().__init__(operands=[source], result_types=[f64])

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [None]



@irdl_op_definition
class DotOp(IRDLOperation, DifferentiableOp):
    """The dot product of two 1-D tensors.

        %d = noma.dot %a, %b : tensor<3xf64>, tensor<3xf64> -> f64
    """

    name = "noma.dot"

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(f64)

    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        super().__init__(operands=[lhs, rhs], result_types=[f64])

    def verify_(self) -> None:
        _require(_rank(self.lhs) == 1 and _rank(self.rhs) == 1, "dot needs two 1-D tensors")
        _require(
            _compatible(self.lhs.type, self.rhs.type),
            f"dot of tensors of shapes {format_shape(shape_of(self.lhs.type))} and "
            f"{format_shape(shape_of(self.rhs.type))}",
        )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b = ctx.b
        return [
            b.mul(g, ctx.operand(1)) if ctx.needs(0) else None,
            b.mul(g, ctx.operand(0)) if ctx.needs(1) else None,
        ]



def matmul_shape(lhs: Attribute, rhs: Attribute) -> tuple:
    a, b = shape_of(lhs), shape_of(rhs)
    if len(a) != 2 or len(b) != 2:
        raise ShapeError(
            f"matmul needs two 2-D tensors, got {format_shape(a)} and {format_shape(b)}"
        )
    if a[1] is not None and b[0] is not None and a[1] != b[0]:
        raise ShapeError(
            f"matmul of {format_shape(a)} by {format_shape(b)}: the inner dimensions "
            f"{a[1]} and {b[0]} differ"
        )
    return (a[0], b[1])


@irdl_op_definition
class MatmulOp(IRDLOperation, DifferentiableOp):
    """The matrix product of two 2-D tensors.

        %c = noma.matmul %a, %b : tensor<4x2xf64>, tensor<2x16xf64> -> tensor<4x16xf64>
    """

    name = "noma.matmul"

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = (
        "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        lhs_v, rhs_v = SSAValue.get(lhs), SSAValue.get(rhs)
        super().__init__(
            operands=[lhs_v, rhs_v], result_types=[type_of(matmul_shape(lhs_v.type, rhs_v.type))]
        )

    def verify_(self) -> None:
        try:
            expected = type_of(matmul_shape(self.lhs.type, self.rhs.type))
        except ShapeError as e:
            raise VerifyException(str(e)) from None
        _require(self.result.type == expected, f"matmul gives a {expected}, not {self.result.type}")

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, x, y = ctx.b, ctx.operand(0), ctx.operand(1)
        d_x = b.insert(MatmulOp(g, b.insert(TransposeOp(y)))).result if ctx.needs(0) else None
        d_y = b.insert(MatmulOp(b.insert(TransposeOp(x)), g)).result if ctx.needs(1) else None
        return [d_x, d_y]



@irdl_op_definition
class TransposeOp(IRDLOperation, DifferentiableOp):
    """The transpose of a 2-D tensor.

        %t = noma.transpose %a : tensor<4x2xf64> -> tensor<2x4xf64>
    """

    name = "noma.transpose"

    source = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue | Operation):
        source_v = SSAValue.get(source)
        shape = shape_of(source_v.type)
        super().__init__(operands=[source_v], result_types=[type_of(shape[::-1])])

    def verify_(self) -> None:
        shape = shape_of(self.source.type)
        _require(len(shape) == 2, "transpose needs a 2-D tensor")
        _require(self.result.type == type_of(shape[::-1]), "transpose swaps the dimensions")

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.insert(TransposeOp(g)).result]



class LikeShapedOp(IRDLOperation, DifferentiableOp):
    """Base of the ops whose result has the type of their `like` operand
    (only its shape is used)."""

    value = operand_def(ValueType)
    like = operand_def(ValueType)
    result = result_def(ValueType)

    traits = traits_def(Pure())

    assembly_format = (
        "$value `,` $like attr-dict `:` type($value) `,` type($like) `->` type($result)"
    )

    def __init__(self, value: SSAValue, like: SSAValue):
        super().__init__(operands=[value, like], result_types=[like.type])


@irdl_op_definition
class BroadcastToOp(LikeShapedOp):
    """`value` broadcast to the shape of `like` (whose values are not used).

        %b = noma.broadcast_to %x, %m : f64, tensor<3x2xf64> -> tensor<3x2xf64>
    """

    name = "noma.broadcast_to"

    def verify_(self) -> None:
        try:
            target = broadcast_shapes(shape_of(self.value.type), shape_of(self.like.type))
        except ShapeError as e:
            raise VerifyException(str(e)) from None
        _require(
            self.result.type == self.like.type and _compatible(type_of(target), self.like.type),
            f"cannot broadcast a {self.value.type} to a {self.like.type}",
        )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.unbroadcast(g, ctx.operand(0)), None]



@irdl_op_definition
class ReduceToOp(LikeShapedOp):
    """`value` summed over the axes along which `like` would be broadcast to
    it: the adjoint of a broadcast.

        %r = noma.reduce_to %g, %bias : tensor<2x3xf64>, tensor<3xf64> -> tensor<3xf64>
    """

    name = "noma.reduce_to"

    def verify_(self) -> None:
        _require(self.result.type == self.like.type, "the result has the type of `like`")
        try:
            broadcast_shapes(shape_of(self.like.type), shape_of(self.value.type))
        except ShapeError as e:
            raise VerifyException(str(e)) from None

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.broadcast_like(g, ctx.operand(0)), None]



@irdl_op_definition
class CastOp(IRDLOperation, DifferentiableOp):
    """Changes static dimensions to dynamic ones or back (checked at run
    time), keeping the rank.

        %d = noma.cast %t : tensor<3xf64> -> tensor<?xf64>
    """

    name = "noma.cast"

    source = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue | Operation, result_type: Attribute):
        super().__init__(operands=[source], result_types=[result_type])

    def verify_(self) -> None:
        _require(
            _compatible(self.source.type, self.result.type),
            f"cannot cast a {self.source.type} to a {self.result.type}",
        )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [ctx.b.insert(CastOp(g, self.source.type)).result]



TENSOR_OPS = (
    FromElementsOp,
    IndexOp,
    IndexAdjointOp,
    SumOp,
    MeanOp,
    NumelOp,
    DotOp,
    MatmulOp,
    TransposeOp,
    BroadcastToOp,
    ReduceToOp,
    CastOp,
)
