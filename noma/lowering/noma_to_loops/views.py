"""Slices and transposes as strided views of their source's buffer.

`noma.rows` (`X[a:b]`), `noma.index` of a row (`X[i]`, and so `X[:, j]`,
which the frontend writes as a row of the transpose), `noma.transpose` and
`noma.permute` move no data when every consumer only reads their elements
with `memref.load` (`reads_in_place`): their result is a
`memref.reinterpret_cast` of the identity-layout buffer at the bottom of the
chain, with the offset and strides of the composed view, e.g.

    %c = memref.reinterpret_cast %W to offset: [%j], sizes: [3], strides: [4]
        : memref<3x4xf64> to memref<3xf64, strided<[4], offset: ?>>

Views of views compose here (each is a cast of the one base buffer), so the
bufferizer's aliasing (`buffers.aliases`) sees every view as a use of the
base: the base lives while a view is used, and a view is never freed.
Where a consumer needs the identity layout (a copy, a call, a terminator,
the runtime, a reshape, a parameter write), the op keeps its copy loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IntegerAttr,
    MemRefType,
    NoneAttr,
    StridedLayoutAttr,
    f64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from noma.dialects.noma import reductions as red
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.interfaces import ScalarLowerable
from noma.dialects.noma.shape_ops import PermuteOp
from noma.dialects.noma.shapes import shape_of
from noma.dialects.noma.slicing import RowsAdjointOp, RowsOp
from noma.lowering.noma_to_loops.loops import INDEX, LoopLowering, is_tensor

Extent = int | SSAValue
"""An offset, size or stride: a compile-time int or a run-time index."""

_VIEW_CANDIDATES = (RowsOp, tops.IndexOp, tops.TransposeOp, PermuteOp)

_READERS = (
    ScalarLowerable,
    tops.BroadcastToOp,
    tops.SumOp,
    tops.MeanOp,
    tops.DotOp,
    # Not matmul: noma-lower-matmul's kernels take row-major buffers (a
    # transpose used only by matmuls is read in place by a flag instead).
    tops.ReduceToOp,
    tops.IndexAdjointOp,
    RowsAdjointOp,
    red.BroadcastAxisOp,
    *red.FUSING_CONSUMERS,
    *_VIEW_CANDIDATES,
)
"""Ops whose loops only `memref.load` (and `memref.dim`) their tensor
operands, so a strided view serves them as well as a buffer of its own."""


def reads_in_place(user: Operation) -> bool:
    return isinstance(user, _READERS)


def is_view_candidate(op: Operation) -> bool:
    """An op that is lowered as a view when its consumers allow it: a slice,
    a row, a transpose or a permutation whose every user only reads it."""
    if not isinstance(op, _VIEW_CANDIDATES) or not is_tensor(op.results[0]):
        return False
    return all(reads_in_place(use.operation) for use in op.results[0].uses)


@dataclass
class StridedView:
    """Where the elements of a tensor lie in `base` (identity layout):
    element `i` at `offset + sum(i_k * strides[k])`."""

    base: SSAValue
    offset: Extent
    sizes: list[Extent]
    strides: list[Extent]


def _index(lw: LoopLowering, x: Extent) -> SSAValue:
    if isinstance(x, int):
        return lw.b.insert(arith.ConstantOp(IntegerAttr(x, INDEX))).result
    return x


def _mul(lw: LoopLowering, x: Extent, y: Extent) -> Extent:
    if isinstance(x, int) and isinstance(y, int):
        return x * y
    if x == 1:
        return y
    if y == 1:
        return x
    return lw.b.insert(arith.MuliOp(_index(lw, x), _index(lw, y))).result


def _add(lw: LoopLowering, x: Extent, y: Extent) -> Extent:
    if isinstance(x, int) and isinstance(y, int):
        return x + y
    if x == 0:
        return y
    if y == 0:
        return x
    return lw.b.insert(arith.AddiOp(_index(lw, x), _index(lw, y))).result


def view_of(lw: LoopLowering, value: SSAValue) -> StridedView | None:
    """The view a tensor's buffer is: one built here, or the whole of an
    identity-layout buffer (row-major strides). None for other layouts."""
    buffer = lw.buffer(value)
    known = lw.bz.views.get(buffer)
    if known is not None:
        return known
    t = buffer.type
    if not isinstance(t, MemRefType) or not isinstance(t.layout, NoneAttr):
        return None
    shape = shape_of(value.type)
    dims = lw.dims(value) if None in shape else []
    sizes: list[Extent] = [d if d is not None else dims[axis] for axis, d in enumerate(shape)]
    strides: list[Extent] = [1] * len(sizes)
    for axis in range(len(sizes) - 2, -1, -1):
        strides[axis] = _mul(lw, strides[axis + 1], sizes[axis + 1])
    return StridedView(buffer, 0, sizes, strides)


def rows_of(lw: LoopLowering, view: StridedView, start: SSAValue, count: Extent) -> StridedView:
    """Rows `start` to `start + count - 1`."""
    offset = _add(lw, view.offset, _mul(lw, start, view.strides[0]))
    return StridedView(view.base, offset, [count, *view.sizes[1:]], view.strides)


def row_of(lw: LoopLowering, view: StridedView, row: SSAValue) -> StridedView:
    """Row `row`: the first axis dropped."""
    offset = _add(lw, view.offset, _mul(lw, row, view.strides[0]))
    return StridedView(view.base, offset, view.sizes[1:], view.strides[1:])


def permuted(view: StridedView, axes: Sequence[int]) -> StridedView:
    """Result axis `i` is axis `axes[i]` of `view`."""
    return StridedView(
        view.base, view.offset, [view.sizes[a] for a in axes], [view.strides[a] for a in axes]
    )


def _static(x: Extent) -> int:
    return x if isinstance(x, int) else DYNAMIC_INDEX


def materialize(lw: LoopLowering, view: StridedView, result_type: Attribute) -> SSAValue:
    """The view as a `memref.reinterpret_cast` of its base, of the result's
    shape; remembered so that a view of it composes with it."""
    shape = [DYNAMIC_INDEX if d is None else d for d in shape_of(result_type)]
    sizes: list[Extent] = [
        d if d != DYNAMIC_INDEX else s for d, s in zip(shape, view.sizes, strict=True)
    ]
    layout = StridedLayoutAttr(
        [None if isinstance(s, SSAValue) else s for s in view.strides],
        None if isinstance(view.offset, SSAValue) else view.offset,
    )
    cast = memref.ReinterpretCastOp(
        view.base,
        [x for x in [view.offset] if isinstance(x, SSAValue)],
        [x for x in sizes if isinstance(x, SSAValue)],
        [x for x in view.strides if isinstance(x, SSAValue)],
        [_static(view.offset)],
        [_static(x) for x in sizes],
        [_static(x) for x in view.strides],
        MemRefType(f64, shape, layout),
    )
    result = lw.b.insert(cast).results[0]
    lw.bz.views[result] = StridedView(view.base, view.offset, sizes, view.strides)
    return result


def lowered_as_view(lw: LoopLowering, op: Operation) -> bool:
    """Whether `op` becomes a view here: its users allow it, views are on
    (with fusion), and its source's buffer is a view or has the identity
    layout."""
    return lw.bz.fuse_elementwise and is_view_candidate(op)
