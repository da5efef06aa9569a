"""Blocks of consecutive rows: what a `batch` loop walks a tensor with
(LANGUAGE.md section 4), and the adjoint that scatters a block's gradient
back into the tensor it came from.

    %xb = noma.rows %X [%start, %count] : tensor<6x2xf64> -> tensor<?x2xf64>
    %dX = noma.rows_adjoint %g [%start] like %X : tensor<?x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>

Row indices are f64 operands holding whole numbers, as every NOMA value is
an f64; the lowering converts them and checks at run time that the block
lies inside the tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import TensorType, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.dialects.noma.shapes import format_shape, shape_of


def _verify_block_of(block: Attribute, whole: Attribute, op_name: str) -> None:
    """`block` is a block of rows of `whole`: same rank (at least 1), same
    trailing dimensions, and no more rows where both row counts are known."""
    block_shape, whole_shape = shape_of(block), shape_of(whole)
    if not whole_shape:
        raise VerifyException(f"'{op_name}' needs a tensor of rank 1 or more, got {whole}")
    if len(block_shape) != len(whole_shape) or block_shape[1:] != whole_shape[1:]:
        raise VerifyException(
            f"a block of rows of a {format_shape(whole_shape)} tensor keeps its rank and "
            f"trailing dimensions, got {format_shape(block_shape)}"
        )
    rows, total = block_shape[0], whole_shape[0]
    if rows is not None and total is not None and rows > total:
        raise VerifyException(f"a block of {rows} rows of a tensor of {total} rows")


@irdl_op_definition
class RowsOp(IRDLOperation, DifferentiableOp):
    """Rows `start` to `start + count - 1` of `source` (along axis 0): the
    block a `batch` loop binds. The first dimension of the result is the
    block's row count, static when it is known; the others are the
    source's. Its derivative scatters the block's adjoint back into zeros of
    the source's shape (`noma.rows_adjoint`).

        %xb = noma.rows %X [%start, %count] : tensor<6x2xf64> -> tensor<?x2xf64>
    """

    name = "noma.rows"

    source = operand_def(TensorType)
    start = operand_def(f64)
    count = operand_def(f64)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = (
        "$source `[` $start `,` $count `]` attr-dict `:` type($source) `->` type($result)"
    )

    def __init__(
        self,
        source: SSAValue | Operation,
        start: SSAValue | Operation,
        count: SSAValue | Operation,
        result_type: Attribute,
    ):
        super().__init__(operands=[source, start, count], result_types=[result_type])

    def verify_(self) -> None:
        _verify_block_of(self.result.type, self.source.type, self.name)

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        scattered = ctx.b.insert(RowsAdjointOp(g, ctx.operand(1), ctx.operand(0))).result
        return [scattered, None, None]



@irdl_op_definition
class RowsAdjointOp(IRDLOperation, DifferentiableOp):
    """The adjoint of `noma.rows`: a tensor shaped like `like`, zero except
    rows `start` to `start + n - 1`, which are `value` (of `n` rows).

        %dX = noma.rows_adjoint %g [%start] like %X : tensor<?x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>
    """

    name = "noma.rows_adjoint"

    value = operand_def(TensorType)
    start = operand_def(f64)
    like = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = (
        "$value `[` $start `]` `like` $like attr-dict `:` type($value) `,` type($like) "
        "`->` type($result)"
    )

    def __init__(
        self, value: SSAValue | Operation, start: SSAValue | Operation, like: SSAValue | Operation
    ):
        super().__init__(operands=[value, start, like], result_types=[SSAValue.get(like).type])

    def verify_(self) -> None:
        if self.result.type != self.like.type:
            raise VerifyException("the result has the type of `like`")
        _verify_block_of(self.value.type, self.like.type, self.name)

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        from noma.dialects.noma.creation import DimOp

        (g,) = result_adjoints
        assert g is not None
        if not ctx.needs(0):
            return [None, None, None]
        b, value, start = ctx.b, ctx.operand(0), ctx.operand(1)
        count = b.insert(DimOp(value, 0)).result
        return [b.insert(RowsOp(g, start, count, value.type)).result, None, None]



SLICING_OPS = (RowsOp, RowsAdjointOp)
