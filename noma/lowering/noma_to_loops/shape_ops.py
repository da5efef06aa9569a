"""Loops of the selection and reshaping ops (`dialects/noma/shape_ops.py`).

`noma.where` is elementwise: on tensors, one loop applying its
`lower_scalar` (an `arith.select`) with broadcasting, like the arithmetic
ops; on scalars, the select itself. `noma.reshape` to a static shape is a
view of the source's buffer (`memref.reinterpret_cast`; every buffer has the
identity layout, so its row-major elements are contiguous): borrowed, not
owned, so the source lives as long as the view is used (`buffers.aliases`).
To a dynamic shape, whose view would need a strided layout, it copies the
elements into a new buffer, after checking at run time that the element
counts agree. `noma.concat` copies each input into its place in a new
buffer, checking at run time that the extents off the axis agree where they
are dynamic. `noma.permute` is a strided view of its source when its
consumers only read it (`views.py`), else it copies each element to its
permuted place.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import DYNAMIC_INDEX, MemRefType, f64
from xdsl.ir import SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shape_ops import ConcatOp, PermuteOp, ReshapeOp, WhereOp
from noma.dialects.noma.shapes import is_static, num_elements, shape_of
from noma.lowering.noma_to_loops.elementwise import _on_scalars as elementwise_on_scalars
from noma.lowering.noma_to_loops import views
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import Runtime


_COUNT_MISMATCH = "cannot reshape {1} elements into a shape of {0} elements"


def _where(lw: LoopLowering, op: WhereOp) -> SSAValue:
    return lw.elementwise(op)


def _where_on_scalars(op: WhereOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    """On f64 scalars: the select itself, as the arithmetic ops."""
    elementwise_on_scalars(op, rewriter, runtime)


def _count(lw: LoopLowering, dims: list[SSAValue]) -> SSAValue:
    count = lw.index_constant(1)
    for d in dims:
        count = lw.b.insert(arith.MuliOp(count, d)).result
    return count


def _flat(lw: LoopLowering, buffer: SSAValue, count: SSAValue) -> SSAValue:
    """`buffer` (identity layout) as a 1-D memref of `count` elements."""
    view_type = MemRefType(f64, [DYNAMIC_INDEX])
    cast = memref.ReinterpretCastOp(
        buffer, [], [count], [], [0], [DYNAMIC_INDEX], [1], view_type
    )
    return lw.b.insert(cast).results[0]


def row_major_view(lw: LoopLowering, buffer: SSAValue, shape: tuple[int, ...]) -> SSAValue:
    """`buffer` (identity layout, as many elements) seen with static `shape`."""
    strides = [1] * len(shape)
    for axis in range(len(shape) - 2, -1, -1):
        strides[axis] = strides[axis + 1] * shape[axis + 1]
    cast = memref.ReinterpretCastOp(
        buffer, [], [], [], [0], list(shape), strides, MemRefType(f64, list(shape))
    )
    return lw.b.insert(cast).results[0]


def _reshape(lw: LoopLowering, op: ReshapeOp) -> SSAValue:
    result_shape = shape_of(op.result.type)
    source_dims = lw.dims(op.source)
    count = _count(lw, source_dims)
    if is_static(result_shape):
        if not is_static(shape_of(op.source.type)):
            expected = lw.index_constant(num_elements(result_shape) or 0)
            lw.check_same(expected, count, _COUNT_MISMATCH)
        return row_major_view(lw, lw.buffer(op.source), result_shape)  # type: ignore[arg-type]
    dims = lw.shaped_dims(op.result.type, op.dims)
    lw.check_same(_count(lw, dims), count, _COUNT_MISMATCH)
    out = lw.alloc(op.result.type, dims)
    source = _flat(lw, lw.buffer(op.source), count)
    target = _flat(lw, out, count)

    def copy_element(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        element = b.insert(memref.LoadOp.get(source, ivs)).res
        b.insert(memref.StoreOp.get(element, target, ivs))

    lw.loop_nest([count], copy_element)
    return out

def _concat(lw: LoopLowering, op: ConcatOp) -> SSAValue:
    axis = op.axis.value.data
    all_dims = [lw.dims(x) for x in op.inputs]
    result_shape = shape_of(op.result.type)
    # Off the axis, every input has the result's extent: static where one
    # input's is, else the first input's; dynamic ones are checked.
    reference = [
        all_dims[0][i] if extent is None else lw.index_constant(extent)
        for i, extent in enumerate(result_shape)
    ]
    for x, dims in zip(op.inputs, all_dims, strict=True):
        for i, extent in enumerate(shape_of(x.type)):
            if i != axis and extent is None:
                message = f"concat of an extent {{0}} along axis {i} where {{1}} is needed"
                lw.check_same(dims[i], reference[i], message)
    total = all_dims[0][axis]
    for dims in all_dims[1:]:
        total = lw.b.insert(arith.AddiOp(total, dims[axis])).result
    out_dims = [*reference[:axis], total, *reference[axis + 1 :]]
    out = lw.alloc(op.result.type, out_dims)
    offset = lw.index_constant(0)
    for x, dims in zip(op.inputs, all_dims, strict=True):
        source = lw.buffer(x)

        def copy_element(
            b: NomaBuilder, ivs: list[SSAValue], source: SSAValue = source, offset: SSAValue = offset
        ) -> None:
            element = b.insert(memref.LoadOp.get(source, ivs)).res
            shifted = b.insert(arith.AddiOp(ivs[axis], offset)).result
            b.insert(memref.StoreOp.get(element, out, [*ivs[:axis], shifted, *ivs[axis + 1 :]]))

        lw.loop_nest(dims, copy_element)
        offset = lw.b.insert(arith.AddiOp(offset, dims[axis])).result
    return out


def _permute(lw: LoopLowering, op: PermuteOp) -> SSAValue:
    axes = op.axes()
    if views.lowered_as_view(lw, op):
        whole = views.view_of(lw, op.source)
        if whole is not None:
            return views.materialize(lw, views.permuted(whole, axes), op.result.type)
    source_dims = lw.dims(op.source)
    out = lw.alloc(op.result.type, [source_dims[axis] for axis in axes])
    source = lw.buffer(op.source)

    def copy_element(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        element = b.insert(memref.LoadOp.get(source, ivs)).res
        b.insert(memref.StoreOp.get(element, out, [ivs[axis] for axis in axes]))

    lw.loop_nest(source_dims, copy_element)
    return out


RULES = {
    WhereOp: LoopsRule(on_tensors=_where, on_scalars=_where_on_scalars),
    ReshapeOp: LoopsRule(on_tensors=_reshape),
    ConcatOp: LoopsRule(on_tensors=_concat),
    PermuteOp: LoopsRule(on_tensors=_permute),
}
