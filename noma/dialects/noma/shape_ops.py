"""Selection and reshaping ops of the `noma` dialect: `where` (an
elementwise select), `reshape` (the same elements, row-major, in another
shape), `concat` (tensors joined along an axis) and `permute` (axes
reordered, the transpose of any rank). Their loops are in
`noma/lowering/noma_to_loops/shape_ops.py`.

    %w = noma.where %c, %a, %b : tensor<2x3xf64>, tensor<3xf64>, f64 -> tensor<2x3xf64>
    %r = noma.reshape %x [%d0, %d1] : tensor<2x3xf64> -> tensor<3x2xf64>
    %j = noma.concat %a, %b axis 1 : tensor<2x1xf64>, tensor<2x3xf64> -> tensor<2x4xf64>

Transpose, row blocks and row indexing are in `tensor_ops.py` and
`slicing.py`; the frontend builds `X[a:b, c:d]` and `transpose(X)` from them.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import I64, ArrayAttr, FloatAttr, IntegerAttr, TensorType, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from noma.diagnostics import NomaError
from noma.dialects.noma.interfaces import DifferentiableOp, ScalarLowerable, VJPContext
from noma.dialects.noma.shapes import (
    ShapeError,
    broadcast_types,
    Shape,
    format_shape,
    num_elements,
    shape_of,
    type_of,
)
from noma.dialects.noma.types import ValueType


def where_result_type(condition: Attribute, lhs: Attribute, rhs: Attribute) -> Attribute:
    """The broadcast of the three operand types (NumPy rules)."""
    try:
        return broadcast_types(broadcast_types(condition, lhs), rhs)
    except (ShapeError, ValueError) as e:
        raise VerifyException(f"operand types {condition}, {lhs} and {rhs}: {e}") from None


@irdl_op_definition
class WhereOp(IRDLOperation, DifferentiableOp, ScalarLowerable):
    """Elementwise `condition != 0 ? lhs : rhs`, broadcasting the three
    operands together. A real select, not `c * a + (1 - c) * b`: the side
    not taken may be infinite or NaN without spoiling the result. The
    adjoint goes to the side taken; the condition has none.

        %w = noma.where %c, %a, %b : tensor<2x3xf64>, tensor<3xf64>, f64 -> tensor<2x3xf64>
    """

    name = "noma.where"

    condition = operand_def(ValueType)
    lhs = operand_def(ValueType)
    rhs = operand_def(ValueType)
    result = result_def(ValueType)

    traits = traits_def(Pure())

    assembly_format = (
        "$condition `,` $lhs `,` $rhs attr-dict `:` type($condition) `,` type($lhs) `,` "
        "type($rhs) `->` type($result)"
    )

    def __init__(
        self,
        condition: SSAValue | Operation,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
    ):
        c, a, b = SSAValue.get(condition), SSAValue.get(lhs), SSAValue.get(rhs)
        super().__init__(
            operands=[c, a, b], result_types=[where_result_type(c.type, a.type, b.type)]
        )

    def verify_(self) -> None:
        expected = where_result_type(self.condition.type, self.lhs.type, self.rhs.type)
        if self.result.type != expected:
            raise VerifyException(
                f"'noma.where' result type {self.result.type} does not match the broadcast "
                f"of its operands, {expected}"
            )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, c = ctx.b, ctx.operand(0)
        zero = b.constant(0.0)
        d_lhs = d_rhs = None
        if ctx.needs(1):
            d_lhs = b.unbroadcast(b.insert(WhereOp(c, g, zero)).result, ctx.operand(1))
        if ctx.needs(2):
            d_rhs = b.unbroadcast(b.insert(WhereOp(c, zero, g)).result, ctx.operand(2))
        return [None, d_lhs, d_rhs]

    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        condition, lhs, rhs = operands
        zero = b.insert(arith.ConstantOp(FloatAttr(0.0, f64))).result
        # Unordered not-equal: NaN counts as true, as everywhere in NOMA.
        taken = b.insert(arith.CmpfOp(condition, zero, "une")).result
        return b.insert(arith.SelectOp(taken, lhs, rhs)).result


@irdl_op_definition
class ReshapeOp(IRDLOperation, DifferentiableOp):
    """The elements of `source` in row-major order, in the shape of the
    result, whose dimensions are the f64 operands (whole numbers). Static
    sizes must agree here; the lowering checks dynamic ones at run time.
    The adjoint is the result's adjoint reshaped back.

        %r = noma.reshape %x [%d0, %d1] : tensor<2x3xf64> -> tensor<3x2xf64>
    """

    name = "noma.reshape"

    source = operand_def(TensorType)
    dims = var_operand_def(f64)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$source `[` $dims `]` attr-dict `:` type($source) `->` type($result)"

    def __init__(
        self,
        source: SSAValue | Operation,
        dims: Sequence[SSAValue | Operation],
        result_type: Attribute,
    ):
        super().__init__(operands=[source, list(dims)], result_types=[result_type])

    def verify_(self) -> None:
        result_shape = shape_of(self.result.type)
        if len(self.dims) != len(result_shape):
            raise VerifyException(
                f"a reshape to rank {len(result_shape)} needs {len(result_shape)} dimensions, "
                f"got {len(self.dims)}"
            )
        source_count = num_elements(shape_of(self.source.type))
        result_count = num_elements(result_shape)
        if source_count is not None and result_count is not None and source_count != result_count:
            raise VerifyException(
                f"cannot reshape {format_shape(shape_of(self.source.type))} "
                f"({source_count} elements) to {format_shape(result_shape)} "
                f"({result_count} elements)"
            )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        from noma.dialects.noma.creation import DimOp

        (g,) = result_adjoints
        assert g is not None
        b, x = ctx.b, ctx.operand(0)
        rank = len(shape_of(x.type))
        dims = [b.insert(DimOp(x, axis)).result for axis in range(rank)]
        return [b.insert(ReshapeOp(g, dims, x.type)).result, *([None] * len(self.dims))]


def concat_shape(shapes: Sequence[Shape], axis: int) -> Shape:
    """The shape of `shapes` joined along `axis`: the sum of their lengths
    there (dynamic if one is), their common extent elsewhere."""
    if not shapes:
        raise ShapeError("concat needs at least one tensor")
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(
            "concat needs tensors of one rank, got " + ", ".join(format_shape(s) for s in shapes)
        )
    if not 0 <= axis < rank:
        raise ShapeError(f"axis {axis} of a rank-{rank} tensor")
    result: list[int | None] = []
    for i in range(rank):
        extents = [s[i] for s in shapes]
        if i == axis:
            result.append(None if None in extents else sum(extents))  # type: ignore[arg-type]
            continue
        known = {e for e in extents if e is not None}
        if len(known) > 1:
            raise ShapeError(
                f"concat along axis {axis} of "
                + ", ".join(format_shape(s) for s in shapes)
                + f": their extents along axis {i} differ"
            )
        result.append(known.pop() if known else None)  # the others are checked when run
    return tuple(result)


@irdl_op_definition
class ConcatOp(IRDLOperation, DifferentiableOp):
    """The tensors joined along `axis`, in order; the other extents must
    agree (checked at run time where dynamic). The adjoint of each input is
    its block of the result's adjoint (`noma.rows`, on the transpose for the
    second axis of a matrix).

        %j = noma.concat %a, %b axis 1 : tensor<2x1xf64>, tensor<2x3xf64> -> tensor<2x4xf64>
    """

    name = "noma.concat"

    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$inputs `axis` $axis attr-dict `:` type($inputs) `->` type($result)"

    def __init__(self, inputs: Sequence[SSAValue], axis: int):
        shape = concat_shape([shape_of(v.type) for v in inputs], axis)
        super().__init__(
            operands=[list(inputs)],
            result_types=[type_of(shape)],
            properties={"axis": IntegerAttr(axis, 64)},
        )

    def verify_(self) -> None:
        try:
            expected = type_of(
                concat_shape([shape_of(v.type) for v in self.inputs], self.axis.value.data)
            )
        except ShapeError as e:
            raise VerifyException(str(e)) from None
        if self.result.type != expected:
            raise VerifyException(f"concat gives a {expected}, not a {self.result.type}")

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        from noma.dialects.noma.creation import DimOp
        from noma.dialects.noma.slicing import RowsOp
        from noma.dialects.noma.tensor_ops import TransposeOp

        (g,) = result_adjoints
        assert g is not None
        b, axis = ctx.b, self.axis.value.data
        rank = len(shape_of(g.type))
        if axis not in (0, rank - 1) or (axis > 0 and rank != 2):
            raise NomaError.at_op(
                self,
                "the derivative of concat is implemented along the first axis, and along "
                "the second of matrices",
            )
        source = g if axis == 0 else b.insert(TransposeOp(g)).result
        adjoints: list[SSAValue | None] = []
        offset = b.constant(0.0)
        for i in range(len(self.inputs)):
            x = ctx.operand(i)
            count = b.insert(DimOp(x, axis)).result
            if ctx.needs(i):
                block_shape = shape_of(x.type) if axis == 0 else shape_of(x.type)[::-1]
                block = b.insert(RowsOp(source, offset, count, type_of(block_shape))).result
                adjoints.append(block if axis == 0 else b.insert(TransposeOp(block)).result)
            else:
                adjoints.append(None)
            offset = b.add(offset, count)
        return adjoints


def permuted_shape(shape: Shape, permutation: Sequence[int]) -> Shape:
    if sorted(permutation) != list(range(len(shape))):
        raise ShapeError(
            f"{list(permutation)} is not a permutation of the {len(shape)} axes of a "
            f"{format_shape(shape)} tensor"
        )
    return tuple(shape[axis] for axis in permutation)


@irdl_op_definition
class PermuteOp(IRDLOperation, DifferentiableOp):
    """The axes reordered: axis `i` of the result is axis `permutation[i]`
    of the source, as `numpy.transpose(x, permutation)`. The adjoint is the
    result's adjoint permuted back (by the inverse permutation).

        %p = noma.permute %x [2 : i64, 0 : i64, 1 : i64] : tensor<2x3x4xf64> -> tensor<4x2x3xf64>
    """

    name = "noma.permute"

    source = operand_def(TensorType)
    permutation = prop_def(ArrayAttr[IntegerAttr[I64]])
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$source $permutation attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue | Operation, permutation: Sequence[int]):
        source_v = SSAValue.get(source)
        shape = permuted_shape(shape_of(source_v.type), permutation)
        super().__init__(
            operands=[source_v],
            result_types=[type_of(shape)],
            properties={"permutation": ArrayAttr([IntegerAttr(a, 64) for a in permutation])},
        )

    def axes(self) -> list[int]:
        return [a.value.data for a in self.permutation.data]

    def verify_(self) -> None:
        try:
            expected = type_of(permuted_shape(shape_of(self.source.type), self.axes()))
        except ShapeError as e:
            raise VerifyException(str(e)) from None
        if self.result.type != expected:
            raise VerifyException(f"this permutation gives a {expected}, not a {self.result.type}")

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        inverse = [0] * len(self.axes())
        for position, axis in enumerate(self.axes()):
            inverse[axis] = position
        return [ctx.b.insert(PermuteOp(g, inverse)).result]


SHAPE_OPS = (WhereOp, ReshapeOp, ConcatOp, PermuteOp)
