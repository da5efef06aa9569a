"""Loop temporaries of dynamic shape kept from one iteration to the next:
what `noma-hoist-temporaries{reuse-dynamic=true}` does with a buffer whose
dimensions are only known when the loop runs (data read from files, grown
parameters).

Each such allocation site gets one flat buffer, held in a cell at the
function's entry with its capacity; an iteration that needs more than the
capacity frees it and allocates what it needs, every other iteration reuses
it through a view of the iteration's shape. So once the shapes stop
growing, a step allocates nothing.

    scf.for ... {                                   %cell, %capacity at entry
      %t = memref.alloc(%n, %m) : memref<?x?xf64>   scf.for ... {
      ... use %t ...                         ->       scf.if %capacity < %n*%m { grow %cell }
      memref.dealloc %t                               %t = memref.reinterpret_cast (load %cell) ...
    }                                                 ... use %t ...
                                                    }
                                                    memref.dealloc (load %cell)   before the return
"""

from __future__ import annotations

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, IntegerAttr, MemRefType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma.builder import NomaBuilder

INDEX = IndexType()


def _index(b: NomaBuilder, n: int) -> SSAValue:
    return b.insert(arith.ConstantOp(IntegerAttr(n, INDEX))).result


def reuse_across_iterations(
    alloc: memref.AllocOp, dealloc: memref.DeallocOp, entry: Block, terminator: Operation
) -> None:
    """Replace the loop temporary `alloc` (freed by `dealloc` in its block)
    by a view of one buffer per site, grown when too small."""
    t = alloc.memref.type
    assert isinstance(t, MemRefType)
    element = t.get_element_type()
    flat_type = MemRefType(element, [DYNAMIC_INDEX])
    location = alloc.location

    # At the entry: an empty buffer and its capacity, in cells.
    at_entry = NomaBuilder(InsertPoint.at_start(entry), location)
    zero = _index(at_entry, 0)
    empty = at_entry.insert(memref.AllocOp.get(element, shape=[DYNAMIC_INDEX], dynamic_sizes=[zero]))
    cell = at_entry.insert(memref.AllocaOp.get(flat_type, shape=[])).memref
    capacity = at_entry.insert(memref.AllocaOp.get(INDEX, shape=[])).memref
    at_entry.insert(memref.StoreOp.get(empty.memref, cell, []))
    at_entry.insert(memref.StoreOp.get(zero, capacity, []))
    at_end = NomaBuilder(InsertPoint.before(terminator), location)
    at_end.insert(memref.DeallocOp.get(at_end.insert(memref.LoadOp.get(cell, [])).res))

    # In the loop: grow if needed, then view the buffer in this iteration's shape.
    b = NomaBuilder(InsertPoint.before(alloc), location)
    dynamic = iter(alloc.dynamic_sizes)
    sizes = [next(dynamic) if d == DYNAMIC_INDEX else _index(b, d) for d in t.get_shape()]
    count = _index(b, 1)
    for size in sizes:
        count = b.insert(arith.MuliOp(count, size)).result
    have = b.insert(memref.LoadOp.get(capacity, [])).res
    small = b.insert(arith.CmpiOp(have, count, "ult")).result
    grow = Block()
    gb = NomaBuilder(InsertPoint.at_end(grow), location)
    gb.insert(memref.DeallocOp.get(gb.insert(memref.LoadOp.get(cell, [])).res))
    grown = gb.insert(memref.AllocOp.get(element, shape=[DYNAMIC_INDEX], dynamic_sizes=[count]))
    gb.insert(memref.StoreOp.get(grown.memref, cell, []))
    gb.insert(memref.StoreOp.get(count, capacity, []))
    gb.insert(scf.YieldOp())
    b.insert(scf.IfOp(small, [], Region(grow), Region(Block([scf.YieldOp()]))))
    flat = b.insert(memref.LoadOp.get(cell, [])).res
    # Row-major strides: static where the dimensions after them are.
    static_sizes = list(t.get_shape())
    static_strides: list[int] = []
    dynamic_strides: list[SSAValue] = []
    known: int | None = 1
    stride = _index(b, 1)
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
    view = b.insert(cast)
    alloc.memref.replace_all_uses_with(view.results[0])
    Rewriter.erase_op(dealloc)
    Rewriter.erase_op(alloc)
