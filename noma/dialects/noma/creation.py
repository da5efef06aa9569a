"""Tensors of run-time shape: filled, random, and the overlap of two. These
are what growth is made of (`legalize-growth` turns a `noma.realloc` into
them) and what the random built-ins build on.

Dimensions are f64 operands, truncated toward zero at run time; each must be
at least 1 (checked at run time where it is not a constant).

    %d = noma.dim %t 1 : tensor<?x?xf64>
    %z = noma.fill [%r, %c] %zero : tensor<?x?xf64>
    %n = noma.random "normal" [%r, %c] (%mean, %std) : tensor<?x?xf64>
    %g = noma.insert_overlap %old into %new : tensor<2x2xf64> into tensor<?x?xf64>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import I64, IntegerAttr, StringAttr, TensorType, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import MemoryReadEffect, MemoryWriteEffect, Pure
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.dialects.noma.shapes import shape_of
from noma.dialects.noma.types import ValueType


def _verify_dims(op: IRDLOperation, dims: Sequence[SSAValue], result: Attribute) -> None:
    rank = len(shape_of(result))
    if len(dims) != rank:
        raise VerifyException(
            f"'{op.name}' of a rank-{rank} tensor needs {rank} dimensions, got {len(dims)}"
        )


@irdl_op_definition
class DimOp(IRDLOperation, DifferentiableOp):
    """The run-time size of one axis of a tensor, as an f64. Shapes carry no
    gradient.

        %d = noma.dim %t 1 : tensor<?x?xf64>
    """

    name = "noma.dim"

    source = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(f64)

    traits = traits_def(Pure())

    assembly_format = "$source $axis attr-dict `:` type($source)"

    def __init__(self, source: SSAValue | Operation, axis: int):
        super().__init__(
            operands=[source], result_types=[f64], properties={"axis": IntegerAttr(axis, 64)}
        )

    def verify_(self) -> None:
        rank = len(shape_of(self.source.type))
        if not 0 <= self.axis.value.data < rank:
            raise VerifyException(f"axis {self.axis.value.data} of a rank-{rank} tensor")

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [None]



@irdl_op_definition
class FillOp(IRDLOperation, DifferentiableOp):
    """A tensor of the given dimensions, every element `value`.

        %z = noma.fill [%r, %c] %zero : tensor<?x?xf64>
    """

    name = "noma.fill"

    dims = var_operand_def(f64)
    value = operand_def(f64)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "`[` $dims `]` $value attr-dict `:` type($result)"

    def __init__(
        self, dims: Sequence[SSAValue | Operation], value: SSAValue | Operation, result_type: Attribute
    ):
        super().__init__(operands=[dims, value], result_types=[result_type])

    def verify_(self) -> None:
        _verify_dims(self, self.dims, self.result.type)

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        from noma.dialects.noma.tensor_ops import SumOp

        (g,) = result_adjoints
        assert g is not None
        value_adjoint = ctx.b.insert(SumOp(g)).result if ctx.needs(len(self.dims)) else None
        return [*([None] * len(self.dims)), value_adjoint]



DISTRIBUTIONS = ("uniform", "normal")
"""`uniform`(lo, hi) and `normal`(mean, std), from the runtime's generator."""


@irdl_op_definition
class RandomOp(IRDLOperation, DifferentiableOp):
    """A tensor of the given dimensions drawn from the program's seeded
    generator, element by element in row-major order: `uniform`(lo, hi) or
    `normal`(mean, std); with an `f64` result and no dimensions, one draw.
    It advances the generator, so it is not pure. A random draw carries no
    gradient.

        %n = noma.random "normal" [%r, %c] (%mean, %std) : tensor<?x?xf64>
        %u = noma.random "uniform" [] (%lo, %hi) : f64
    """

    name = "noma.random"

    distribution = prop_def(StringAttr)
    dims = var_operand_def(f64)
    a = operand_def(f64)
    b = operand_def(f64)
    result = result_def(ValueType)

    # The generator's state is memory that every draw reads and writes.
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = "$distribution `[` $dims `]` `(` $a `,` $b `)` attr-dict `:` type($result)"

    def __init__(
        self,
        distribution: str,
        dims: Sequence[SSAValue | Operation],
        a: SSAValue | Operation,
        b: SSAValue | Operation,
        result_type: Attribute,
    ):
        super().__init__(
            operands=[dims, a, b],
            result_types=[result_type],
            properties={"distribution": StringAttr(distribution)},
        )

    def verify_(self) -> None:
        _verify_dims(self, self.dims, self.result.type)
        if self.distribution.data not in DISTRIBUTIONS:
            raise VerifyException(
                f"unknown distribution '{self.distribution.data}', expected one of "
                f"{', '.join(DISTRIBUTIONS)}"
            )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [None] * len(self.operands)



@irdl_op_definition
class InsertOverlapOp(IRDLOperation):
    """`dest` with the index block it shares with `source` taken from
    `source`: element [i, j] of the result is source[i, j] wherever both
    shapes have that index, else dest[i, j]. Index preserving, whatever the
    two shapes: how a grown or shrunk buffer keeps what it held.

        %g = noma.insert_overlap %old into %new : tensor<2x2xf64> into tensor<?x?xf64>
    """

    name = "noma.insert_overlap"

    T: ClassVar = VarConstraint("T", base(TensorType))
    source = operand_def(TensorType)
    dest = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure())

    assembly_format = "$source `into` $dest attr-dict `:` type($source) `into` type($dest)"

    def __init__(self, source: SSAValue | Operation, dest: SSAValue | Operation):
        super().__init__(operands=[source, dest], result_types=[SSAValue.get(dest).type])

    def verify_(self) -> None:
        if len(shape_of(self.source.type)) != len(shape_of(self.dest.type)):
            raise VerifyException(
                f"'noma.insert_overlap' needs tensors of one rank, got {self.source.type} "
                f"and {self.dest.type}"
            )



CREATION_OPS = (DimOp, FillOp, RandomOp, InsertOverlapOp)
