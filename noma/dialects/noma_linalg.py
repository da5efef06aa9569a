"""The `noma_linalg` dialect: linear algebra on buffers, between
`convert-noma-to-loops` (which emits it) and `noma-lower-matmul` (which
lowers it to vectorised, tiled loops).

    noma_linalg.matmul %a, %b into %c {transpose_b}
        : memref<?x?xf64>, memref<?x?xf64> into memref<?x?xf64>

is C = op(A) . op(B), where op(X) is X, or X read transposed when the op
carries `transpose_a` / `transpose_b` (a transpose used only by matmuls is
read in place, never built). C is overwritten; every C[i, j] is the sum of
the products A[i, k] * B[k, j] for k = 0, 1, ... in that order, starting
from 0.0, each product rounded before it is added (no fused multiply-add
unless the lowering is told to): the bits do not depend on how the lowering
tiles the loops.

Why an op of our own rather than `linalg.generic`: the lowering needs only
"which operand is transposed", which two unit flags say directly, where a
generic op would have to be recognised from its indexing maps and body; and
it keeps xDSL's linalg dialect out of the compiler's imports. It is a
separate dialect from `noma` because `noma` ops must all be gone after
`convert-noma-to-loops`, while this one is meant to outlive it.
"""

from __future__ import annotations

from xdsl.dialects.builtin import DYNAMIC_INDEX, MemRefType, UnitAttr
from xdsl.ir import Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
)
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """C = op(A) . op(B) on 2-D f64 buffers (see the module docstring)."""

    name = "noma_linalg.matmul"

    lhs = operand_def(MemRefType)
    rhs = operand_def(MemRefType)
    out = operand_def(MemRefType)
    transpose_a = opt_prop_def(UnitAttr)
    transpose_b = opt_prop_def(UnitAttr)

    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = (
        "$lhs `,` $rhs `into` $out attr-dict `:` type($lhs) `,` type($rhs) `into` type($out)"
    )

    def __init__(
        self,
        lhs: SSAValue,
        rhs: SSAValue,
        out: SSAValue,
        transpose_a: bool = False,
        transpose_b: bool = False,
    ):
        properties = {}
        if transpose_a:
            properties["transpose_a"] = UnitAttr()
        if transpose_b:
            properties["transpose_b"] = UnitAttr()
        super().__init__(operands=[lhs, rhs, out], properties=properties)

    def logical_shapes(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """Static (rows, cols) of op(A), op(B) and C, -1 where dynamic."""
        a, b, c = (
            tuple(-1 if d == DYNAMIC_INDEX else d for d in v.type.get_shape())  # type: ignore[attr-defined]
            for v in (self.lhs, self.rhs, self.out)
        )
        if self.transpose_a is not None:
            a = a[::-1]
        if self.transpose_b is not None:
            b = b[::-1]
        return a, b, c  # type: ignore[return-value]

    def verify_(self) -> None:
        for value in (self.lhs, self.rhs, self.out):
            t = value.type
            assert isinstance(t, MemRefType)
            if t.get_num_dims() != 2:
                raise VerifyException(f"noma_linalg.matmul needs 2-D buffers, got {t}")
        (m, k), (k2, n), (cm, cn) = self.logical_shapes()

        def clash(x: int, y: int) -> bool:
            return x != -1 and y != -1 and x != y

        if clash(k, k2) or clash(m, cm) or clash(n, cn):
            raise VerifyException(
                f"noma_linalg.matmul of {m}x{k} by {k2}x{n} into {cm}x{cn}: the shapes do not agree"
            )


NomaLinalg = Dialect("noma_linalg", [MatmulOp])
