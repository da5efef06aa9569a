"""Typed views of flat buffers: how `noma-hoist-temporaries` and
`noma-recycle-carried-buffers` hand one reused `memref<?xT>` buffer out as
the shaped buffer an allocation would have given."""

from __future__ import annotations

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, IntegerAttr, MemRefType
from xdsl.ir import Block, SSAValue

from noma.dialects.noma.builder import NomaBuilder

INDEX = IndexType()


def index_constant(b: NomaBuilder, n: int) -> SSAValue:
    return b.insert(arith.ConstantOp(IntegerAttr(n, INDEX))).result


def allocated_sizes(b: NomaBuilder, alloc: memref.AllocOp) -> list[SSAValue]:
    """Every dimension of what `alloc` allocates, as index values."""
    t = alloc.memref.type
    assert isinstance(t, MemRefType)
    dynamic = iter(alloc.dynamic_sizes)
    return [next(dynamic) if d == DYNAMIC_INDEX else index_constant(b, d) for d in t.get_shape()]


def element_count(b: NomaBuilder, sizes: list[SSAValue]) -> SSAValue:
    count = index_constant(b, 1)
    for size in sizes:
        count = b.insert(arith.MuliOp(count, size)).result
    return count


def row_major_view(
    b: NomaBuilder, flat: SSAValue, t: MemRefType, sizes: list[SSAValue]
) -> SSAValue:
    """A view of the flat buffer as type `t` (identity layout) of the given
    sizes: strides static where the dimensions after them are, so the
    loops' index arithmetic folds as it would on a fresh allocation."""
    static_sizes = list(t.get_shape())
    static_strides: list[int] = []
    dynamic_strides: list[SSAValue] = []
    known: int | None = 1
    stride = index_constant(b, 1)
    for size, static in zip(reversed(sizes), reversed(static_sizes), strict=True):
        static_strides.insert(0, known if known is not None else DYNAMIC_INDEX)
        if known is None:
            dynamic_strides.insert(0, stride)
        known = known * static if known is not None and static != DYNAMIC_INDEX else None
        stride = b.insert(arith.MuliOp(stride, size)).result
    dynamic_sizes = [s for s, d in zip(sizes, static_sizes, strict=True) if d == DYNAMIC_INDEX]
    cast = memref.ReinterpretCastOp(
        flat, [], dynamic_sizes, dynamic_strides, [0], static_sizes, static_strides, t
    )
    return b.insert(cast).results[0]


def entry_and_return(f: func.FuncOp) -> tuple[Block, func.ReturnOp] | None:
    """The entry block and its return when `f` is that one block: where
    buffers kept across iterations are made and freed; None otherwise."""
    if len(f.body.blocks) != 1:
        return None
    entry = f.body.blocks[0]
    terminator = entry.last_op
    return (entry, terminator) if isinstance(terminator, func.ReturnOp) else None
