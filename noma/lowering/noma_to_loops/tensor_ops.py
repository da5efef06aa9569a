"""Loops of the tensor ops (`dialects/noma/tensor_ops.py`): indexing,
reductions, dot and matrix products, transposes, broadcasts and casts.

A transpose whose only users are matmuls is not materialised: the matmuls
read its source with swapped indices (`LoopLowering.transposed_source`).
Reductions and `reduce_to` compute fused elementwise producers inline.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.ir import SSAValue

from noma.dialects import noma_linalg
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import row_major_strides, shape_of
from noma.lowering.noma_to_loops import views
from noma.lowering.noma_to_loops.loops import LoopLowering, is_tensor, memref_type
from noma.lowering.noma_to_loops.rule import LoopsRule


def _from_elements(lw: LoopLowering, op: tops.FromElementsOp) -> SSAValue:
    shape = shape_of(op.result.type)
    out = lw.alloc(op.result.type, [lw.index_constant(d) for d in shape])  # type: ignore[arg-type]
    for flat, element in enumerate(op.elements):
        indices, rest = [], flat
        for stride in row_major_strides(shape):
            indices.append(lw.index_constant(rest // stride))
            rest %= stride
        lw.b.insert(memref.StoreOp.get(element, out, indices))
    return out


def _index(lw: LoopLowering, op: tops.IndexOp) -> SSAValue:
    dims = lw.dims(op.source)
    i = lw.index_from_f64(op.index, dims[0])
    source = lw.buffer(op.source)
    if not is_tensor(op.result):
        return lw.b.insert(memref.LoadOp.get(source, [i])).res
    if views.lowered_as_view(lw, op):
        whole = views.view_of(lw, op.source)
        if whole is not None:
            return views.materialize(lw, views.row_of(lw, whole, i), op.result.type)
    out = lw.alloc(op.result.type, dims[1:])

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        value = b.insert(memref.LoadOp.get(source, [i, *ivs])).res
        b.insert(memref.StoreOp.get(value, out, ivs))

    lw.loop_nest(dims[1:], body)
    return out


def _index_adjoint(lw: LoopLowering, op: tops.IndexAdjointOp) -> SSAValue:
    dims = lw.dims(op.like)
    out = lw.alloc(op.result.type, dims)
    lw.fill(out, dims, 0.0)
    i = lw.index_from_f64(op.index, dims[0])
    if not is_tensor(op.value):
        lw.b.insert(memref.StoreOp.get(op.value, out, [i]))
        return out
    value = lw.buffer(op.value)

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        element = b.insert(memref.LoadOp.get(value, ivs)).res
        b.insert(memref.StoreOp.get(element, out, [i, *ivs]))

    lw.loop_nest(dims[1:], body)
    return out


def _reduce(lw: LoopLowering, op: tops.ReductionOp, mean: bool) -> SSAValue:
    source = op.source
    if not is_tensor(source):
        return source
    count = lw.try_flat(source.type, [source])
    dims = [lw.index_constant(count)] if count is not None else lw.dims(source)
    total = lw.accumulate(dims, lambda b, ivs: lw.scalar_at(b, source, ivs))
    if not mean:
        return total
    return lw.b.insert(arith.DivfOp(total, lw.numel(source))).result


def _dot(lw: LoopLowering, op: tops.DotOp) -> SSAValue:
    (n,), (m,) = lw.dims(op.lhs), lw.dims(op.rhs)
    if None in (*shape_of(op.lhs.type), *shape_of(op.rhs.type)):
        lw.check_same(n, m, "dot of tensors of lengths {0} and {1}")

    def product(b: NomaBuilder, ivs: list[SSAValue]) -> SSAValue:
        x = b.insert(memref.LoadOp.get(lw.buffer(op.lhs), ivs)).res
        y = b.insert(memref.LoadOp.get(lw.buffer(op.rhs), ivs)).res
        return b.insert(arith.MulfOp(x, y)).result

    return lw.accumulate([n], product)


def _matmul_operand(lw: LoopLowering, value: SSAValue) -> tuple[SSAValue, bool]:
    """The buffer a matmul reads for `value`, and whether it reads it
    transposed (a transpose used only by matmuls is never built)."""
    source = lw.transposed_source(value)
    if source is not None:
        return lw.buffer(source), True
    return lw.buffer(value), False


def _matmul(lw: LoopLowering, op: tops.MatmulOp) -> SSAValue:
    """A `noma_linalg.matmul` into a new buffer; `noma-lower-matmul` makes
    it tiled, vectorised loops."""
    rows, inner = lw.dims(op.lhs)
    inner_b, cols = lw.dims(op.rhs)
    if shape_of(op.lhs.type)[1] is None or shape_of(op.rhs.type)[0] is None:
        same = lw.b.insert(arith.CmpiOp(inner, inner_b, "eq")).result
        lw.check_shapes(
            same,
            "matmul of {0} by {1}: the inner dimensions differ",
            [rows, inner],
            [inner_b, cols],
        )
    out = lw.alloc(op.result.type, [rows, cols])
    (a, transpose_a), (b, transpose_b) = _matmul_operand(lw, op.lhs), _matmul_operand(lw, op.rhs)
    lw.b.insert(noma_linalg.MatmulOp(a, b, out, transpose_a, transpose_b))
    return out


def _transpose(lw: LoopLowering, op: tops.TransposeOp) -> SSAValue:
    """A strided view of the source with its strides swapped when the
    consumers only read it (`views.py`), else a copy."""
    if views.lowered_as_view(lw, op):
        whole = views.view_of(lw, op.source)
        if whole is not None:
            return views.materialize(lw, views.permuted(whole, [1, 0]), op.result.type)
    rows, cols = lw.dims(op.source)
    out = lw.alloc(op.result.type, [cols, rows])
    source = lw.buffer(op.source)

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        i, j = ivs
        value = b.insert(memref.LoadOp.get(source, [i, j])).res
        b.insert(memref.StoreOp.get(value, out, [j, i]))

    lw.loop_nest([rows, cols], body)
    return out


def _reduce_to(lw: LoopLowering, op: tops.ReduceToOp) -> SSAValue:
    """Sum `value` into a zeroed buffer shaped like `like`, each element
    landing at its broadcast index."""
    like = op.like
    if not is_tensor(like):
        return _sum_all(lw, op.value)
    out = lw.alloc(like.type, lw.dims(like))
    lw.fill(out, lw.dims(like), 0.0)
    value = op.value

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        element = lw.scalar_at(b, value, ivs)
        target = lw.broadcast_indices(b, like, ivs)
        old = b.insert(memref.LoadOp.get(out, target)).res
        b.insert(memref.StoreOp.get(b.insert(arith.AddfOp(old, element)).result, out, target))

    lw.loop_nest(lw.dims(value), body)
    return out


def _sum_all(lw: LoopLowering, value: SSAValue) -> SSAValue:
    return lw.accumulate(lw.dims(value), lambda b, ivs: lw.scalar_at(b, value, ivs))


def _cast(lw: LoopLowering, op: tops.CastOp) -> SSAValue:
    """A view of the source with the target type (`memref.cast`), its
    dimensions checked against the static ones of the target."""
    target = shape_of(op.result.type)
    static = [lw.index_constant(d) if d is not None else None for d in target]
    source_dims = lw.dims(op.source)
    expected = [s if s is not None else d for s, d in zip(static, source_dims, strict=True)]
    lw.check_same_shape(op.source, expected, target, "a {0} tensor where {1} is needed")
    cast = memref.CastOp.get(lw.buffer(op.source), memref_type(op.result.type))  # type: ignore[arg-type]
    return lw.b.insert(cast).results[0]


def _sum(lw: LoopLowering, op: tops.SumOp) -> SSAValue:
    return _reduce(lw, op, mean=False)


def _mean(lw: LoopLowering, op: tops.MeanOp) -> SSAValue:
    return _reduce(lw, op, mean=True)


def _numel(lw: LoopLowering, op: tops.NumelOp) -> SSAValue:
    return lw.numel(op.source)


def _broadcast_to(lw: LoopLowering, op: tops.BroadcastToOp) -> SSAValue:
    return lw.elementwise(op)


RULES = {
    tops.FromElementsOp: LoopsRule(on_tensors=_from_elements),
    tops.IndexOp: LoopsRule(on_tensors=_index),
    tops.IndexAdjointOp: LoopsRule(on_tensors=_index_adjoint),
    tops.SumOp: LoopsRule(on_tensors=_sum),
    tops.MeanOp: LoopsRule(on_tensors=_mean),
    tops.NumelOp: LoopsRule(on_tensors=_numel),
    tops.DotOp: LoopsRule(on_tensors=_dot),
    tops.MatmulOp: LoopsRule(on_tensors=_matmul),
    tops.TransposeOp: LoopsRule(on_tensors=_transpose),
    tops.BroadcastToOp: LoopsRule(on_tensors=_broadcast_to),
    tops.ReduceToOp: LoopsRule(on_tensors=_reduce_to),
    tops.CastOp: LoopsRule(on_tensors=_cast),
}
