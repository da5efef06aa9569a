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
from xdsl.dialects.builtin import DYNAMIC_INDEX, MemRefType
from xdsl.ir import Block, Operation, Region
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma.builder import NomaBuilder
from noma.lowering.noma_to_loops.flat_views import (
    INDEX,
    allocated_sizes,
    element_count,
    index_constant,
    row_major_view,
)


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
    zero = index_constant(at_entry, 0)
    empty = at_entry.insert(
        memref.AllocOp.get(element, shape=[DYNAMIC_INDEX], dynamic_sizes=[zero])
    )
    cell = at_entry.insert(memref.AllocaOp.get(flat_type, shape=[])).memref
    capacity = at_entry.insert(memref.AllocaOp.get(INDEX, shape=[])).memref
    at_entry.insert(memref.StoreOp.get(empty.memref, cell, []))
    at_entry.insert(memref.StoreOp.get(zero, capacity, []))
    at_end = NomaBuilder(InsertPoint.before(terminator), location)
    at_end.insert(memref.DeallocOp.get(at_end.insert(memref.LoadOp.get(cell, [])).res))

    # In the loop: grow if needed, then view the buffer in this iteration's shape.
    b = NomaBuilder(InsertPoint.before(alloc), location)
    sizes = allocated_sizes(b, alloc)
    count = element_count(b, sizes)
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
    view = row_major_view(b, b.insert(memref.LoadOp.get(cell, [])).res, t, sizes)
    alloc.memref.replace_all_uses_with(view)
    Rewriter.erase_op(dealloc)
    Rewriter.erase_op(alloc)
