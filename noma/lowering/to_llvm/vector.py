"""`vector` -> `llvm`: the few vector ops the matmul micro-kernel emits
(`noma-lower-matmul`), on 1-D vectors of scalars.

    vector.load %m[%i, %j] : memref<?x?xf64>, vector<8xf64>
        -> llvm.load (the address of element [%i, %j], as memref.load) : vector<8xf64>
    vector.store %v, %m[%i, %j]   -> llvm.store of the whole vector there
    vector.broadcast %x : f64 to vector<8xf64>
        -> llvm.insertelement into undef at lane 0, llvm.shufflevector with mask 0s
    vector.fma %a, %b, %c : vector<8xf64> -> llvm.intr.fma

A vector load or store reads consecutive elements from the addressed one:
the memref's innermost stride must be 1, as upstream requires (the matmul
lowering uses them only on buffers it allocated or packed). They are aligned
to the element only, since an index may be any element.
"""

from __future__ import annotations

from xdsl.dialects import llvm, vector
from xdsl.dialects.builtin import DenseArrayBase, VectorType, i32
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from noma.lowering.to_llvm.memref import _descriptor, _index
from noma.lowering.to_llvm.types import (
    constant,
    element_alignment,
    element_type,
    emit,
    lowering_error,
    replace_with_llvm,
    to_llvm,
)


def _vector_of_scalars(
    t: object, op: vector.LoadOp | vector.StoreOp | vector.BroadcastOp
) -> VectorType:
    if not isinstance(t, VectorType) or t.get_num_dims() != 1:
        raise lowering_error(op, f"only 1-D vectors are supported, got {t}")
    return t


class VectorLoadLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.LoadOp, rewriter: PatternRewriter) -> None:
        vtype = _vector_of_scalars(op.result.type, op)
        desc = _descriptor(op.base, op, rewriter)
        elem = element_type(desc.type, op)
        address = desc.element_ptr(rewriter, [_index(i, op, rewriter) for i in op.indices], elem)
        load = llvm.LoadOp(address, vtype, alignment=element_alignment(elem, op))
        replace_with_llvm(op, rewriter, [emit(rewriter, load)])


class VectorStoreLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.StoreOp, rewriter: PatternRewriter) -> None:
        vtype = _vector_of_scalars(op.vector.type, op)
        desc = _descriptor(op.base, op, rewriter)
        elem = element_type(desc.type, op)
        address = desc.element_ptr(rewriter, [_index(i, op, rewriter) for i in op.indices], elem)
        # A pointer to the vector type: xDSL's backend stores through typed pointers.
        vector_address = emit(rewriter, llvm.GEPOp.from_mixed_indices(address, [0], vtype))
        value = to_llvm(op.vector, op, rewriter)
        store = llvm.StoreOp(value, vector_address, alignment=element_alignment(elem, op))
        rewriter.replace(op, store)


class BroadcastLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.BroadcastOp, rewriter: PatternRewriter) -> None:
        vtype = _vector_of_scalars(op.vector.type, op)
        if isinstance(op.source.type, VectorType):
            raise lowering_error(op, "only a scalar can be broadcast")
        scalar = to_llvm(op.source, op, rewriter)
        undef = emit(rewriter, llvm.UndefOp(vtype))
        lane0 = constant(rewriter, 0, i32)
        first = emit(rewriter, llvm.InsertElementOp(undef, scalar, lane0))
        mask = DenseArrayBase.from_list(i32, [0] * vtype.get_shape()[0])
        splat = emit(rewriter, llvm.ShuffleVectorOp(first, undef, mask, vtype))
        replace_with_llvm(op, rewriter, [splat])


class FMALowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.FMAOp, rewriter: PatternRewriter) -> None:
        a, b, c = (to_llvm(v, op, rewriter) for v in (op.lhs, op.rhs, op.acc))
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.FMAOp(a, b, c))])


VECTOR_PATTERNS: tuple[RewritePattern, ...] = (
    VectorLoadLowering(),
    VectorStoreLowering(),
    BroadcastLowering(),
    FMALowering(),
)
