"""The `noma-recycle-carried-buffers` pass: a tensor carried by a loop does
not cost an allocation per iteration.

A loop that carries a tensor (`h = tanh(h * 0.5 + x)` in a `while`) computes
each iteration's value into a new buffer and frees the previous one, as
bufferization and `noma-deallocate` leave it. Each such pair, the buffer
yielded at a position and the carried buffer freed at that same position,
gets one slot at the function's entry: the free puts the buffer in the slot
instead, and the next iteration's allocation takes it back when it is large
enough (else frees it and allocates). The carried value ping-pongs between
two buffers, so a loop in steady state allocates nothing.

    scf.while (%h = %h0) ... do {        %slot, %capacity at entry (capacity 0: empty)
    ^bb0(%h1):                           scf.while (%h = %h0) ... do {
      %n = memref.alloc(...)      ->     ^bb0(%h1):
      ... %n from %h1 ...                  %n = view of (capacity >= size ? take slot : alloc)
      memref.dealloc %h1                   ... %n from %h1 ...
      scf.yield %n                         capacity == 0 ? put %h1 in slot : memref.dealloc %h1
    }                                      scf.yield %n
                                         }
                                         capacity > 0 ? memref.dealloc slot   before the return

Freeing a carried buffer means nothing else uses it, and a buffer in the
slot belongs to no value, so handing it over is safe. Functions of more
than one block are left alone (no single return to free the slot before).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, MemRefType, ModuleOp
from xdsl.ir import Block, BlockArgument, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma.builder import NomaBuilder
from noma.lowering.noma_to_loops.buffers import in_loop
from noma.lowering.noma_to_loops.flat_views import (
    INDEX,
    allocated_sizes,
    element_count,
    entry_and_return,
    index_constant,
    row_major_view,
)


def _yield_position_of_carried(arg: BlockArgument, loop: Operation) -> int | None:
    """The position of the loop's yield whose value `arg` (an argument of
    the loop body) receives in the next iteration, or None if it is not
    passed straight through."""
    if isinstance(loop, scf.ForOp):
        return arg.index - 1 if arg.index > 0 else None
    if isinstance(loop, scf.WhileOp) and arg.block is loop.after_region.block:
        condition = loop.before_region.block.last_op
        if not isinstance(condition, scf.ConditionOp):
            return None
        forwarded = condition.args[arg.index]
        if isinstance(forwarded, BlockArgument) and forwarded.block is loop.before_region.block:
            return forwarded.index
    return None


def _init_position_of_result(loop: Operation, result: int) -> int | None:
    """The position of the loop's initial operands whose buffer (or its
    successors) result number `result` of the loop is, or None."""
    if isinstance(loop, scf.ForOp):
        return result
    if isinstance(loop, scf.WhileOp):
        condition = loop.before_region.block.last_op
        if not isinstance(condition, scf.ConditionOp):
            return None
        forwarded = condition.args[result]
        if isinstance(forwarded, BlockArgument) and forwarded.block is loop.before_region.block:
            return forwarded.index
    return None


def _initial_operands(loop: Operation) -> tuple[SSAValue, ...]:
    return tuple(loop.iter_args) if isinstance(loop, scf.ForOp) else tuple(loop.arguments)


@dataclass(frozen=True)
class CarriedPair:
    """An allocation and a free of buffers of the same loop-carried
    position, which can hand buffers to each other through one slot: the
    buffer allocated for the next iteration and the carried one freed in
    the body; or, when the loop itself runs in a loop, the buffer allocated
    as the initial value and the loop's result freed after it."""

    alloc: memref.AllocOp
    dealloc: memref.DeallocOp


def _same_elements(alloc: Operation, freed: SSAValue) -> bool:
    return (
        isinstance(alloc, memref.AllocOp)
        and not alloc.symbol_operands
        and isinstance(freed.type, MemRefType)
        and freed.type.get_element_type() == alloc.memref.type.get_element_type()
    )


def carried_pairs(loop: Operation) -> list[CarriedPair]:
    body = loop.regions[-1].block
    terminator = body.last_op
    if not isinstance(terminator, scf.YieldOp):
        return []
    pairs: list[CarriedPair] = []
    for dealloc in [op for op in body.ops if isinstance(op, memref.DeallocOp)]:
        freed = dealloc.memref
        if not isinstance(freed, BlockArgument) or freed.block is not body:
            continue
        position = _yield_position_of_carried(freed, loop)
        if position is None or position >= len(terminator.arguments):
            continue
        alloc = terminator.arguments[position].owner
        if _same_elements(alloc, freed) and alloc.parent_block() is body:
            assert isinstance(alloc, memref.AllocOp)
            pairs.append(CarriedPair(alloc, dealloc))
    if in_loop(loop):
        pairs.extend(_initial_and_result_pairs(loop))
    return pairs


def _initial_and_result_pairs(loop: Operation) -> list[CarriedPair]:
    block = loop.parent_block()
    initial = _initial_operands(loop)
    pairs: list[CarriedPair] = []
    for result in loop.results:
        position = _init_position_of_result(loop, result.index)
        deallocs = [
            u.operation for u in list(result.uses) if isinstance(u.operation, memref.DeallocOp)
        ]
        if position is None or len(deallocs) != 1 or deallocs[0].parent_block() is not block:
            continue
        alloc = initial[position].owner
        # The loop frees its initial buffer, so nothing uses it after the loop.
        if _same_elements(alloc, result) and alloc.parent_block() is block:
            assert isinstance(alloc, memref.AllocOp) and isinstance(deallocs[0], memref.DeallocOp)
            pairs.append(CarriedPair(alloc, deallocs[0]))
    return pairs


class CarriedBufferSlot:
    """One slot: a flat buffer and its capacity in cells at the function's
    entry, freed before the return if it still holds a buffer."""

    def __init__(self, element: MemRefType, entry: Block, terminator: Operation, location) -> None:
        self.flat_type = MemRefType(element.get_element_type(), [DYNAMIC_INDEX])
        self.location = location
        at_entry = NomaBuilder(InsertPoint.at_start(entry), location)
        self.buffer = at_entry.insert(memref.AllocaOp.get(self.flat_type, shape=[])).memref
        self.capacity = at_entry.insert(memref.AllocaOp.get(INDEX, shape=[])).memref
        at_entry.insert(memref.StoreOp.get(index_constant(at_entry, 0), self.capacity, []))
        at_end = NomaBuilder(InsertPoint.before(terminator), location)
        held = self._holds_buffer(at_end)
        at_end.insert(scf.IfOp(held, [], Region(Block([*self._free_held(), scf.YieldOp()]))))

    def _holds_buffer(self, b: NomaBuilder) -> SSAValue:
        have = b.insert(memref.LoadOp.get(self.capacity, [])).res
        return b.insert(arith.CmpiOp(have, index_constant(b, 0), "ugt")).result

    def _free_held(self) -> list[Operation]:
        load = memref.LoadOp.get(self.buffer, [])
        return [load, memref.DeallocOp.get(load.res)]

    def take(self, alloc: memref.AllocOp) -> None:
        """Replace `alloc` by a view of the slot's buffer when it is large
        enough, else of a new one (the slot's freed); the slot is empty after."""
        t = alloc.memref.type
        b = NomaBuilder(InsertPoint.before(alloc), self.location)
        sizes = allocated_sizes(b, alloc)
        count = element_count(b, sizes)
        have = b.insert(memref.LoadOp.get(self.capacity, [])).res
        # Capacity 0 means empty (the cell may still name a buffer handed out).
        fits = b.insert(arith.CmpiOp(have, count, "uge")).result
        enough = b.insert(arith.AndIOp(fits, self._holds_buffer(b))).result

        reuse = Block()
        rb = NomaBuilder(InsertPoint.at_end(reuse), self.location)
        rb.insert(scf.YieldOp(rb.insert(memref.LoadOp.get(self.buffer, [])).res))

        fresh = Block()
        fb = NomaBuilder(InsertPoint.at_end(fresh), self.location)
        held = self._holds_buffer(fb)
        fb.insert(scf.IfOp(held, [], Region(Block([*self._free_held(), scf.YieldOp()]))))
        new = fb.insert(
            memref.AllocOp.get(t.get_element_type(), shape=[DYNAMIC_INDEX], dynamic_sizes=[count])
        )
        fb.insert(scf.YieldOp(new.memref))

        flat = b.insert(scf.IfOp(enough, [self.flat_type], Region(reuse), Region(fresh))).results[0]
        b.insert(memref.StoreOp.get(index_constant(b, 0), self.capacity, []))
        alloc.memref.replace_all_uses_with(row_major_view(b, flat, t, sizes))
        Rewriter.erase_op(alloc)

    def put(self, dealloc: memref.DeallocOp) -> None:
        """Replace `dealloc` by putting the freed buffer in the slot when it
        is empty (else it is freed)."""
        freed = dealloc.memref
        t = freed.type
        assert isinstance(t, MemRefType)
        b = NomaBuilder(InsertPoint.before(dealloc), self.location)
        sizes = [
            b.insert(memref.DimOp(freed, index_constant(b, i))).result
            for i in range(len(t.get_shape()))
        ]
        count = element_count(b, sizes)
        have = b.insert(memref.LoadOp.get(self.capacity, [])).res
        empty = b.insert(arith.CmpiOp(have, index_constant(b, 0), "eq")).result
        # A buffer of no elements is freed: capacity 0 would read as empty.
        nonempty = b.insert(arith.CmpiOp(count, index_constant(b, 0), "ugt")).result
        empty = b.insert(arith.AndIOp(empty, nonempty)).result

        keep = Block()
        kb = NomaBuilder(InsertPoint.at_end(keep), self.location)
        flat = kb.insert(
            memref.ReinterpretCastOp(
                freed, [], [count], [], [0], [DYNAMIC_INDEX], [1], self.flat_type
            )
        )
        kb.insert(memref.StoreOp.get(flat.results[0], self.buffer, []))
        kb.insert(memref.StoreOp.get(count, self.capacity, []))
        kb.insert(scf.YieldOp())
        drop = Block([memref.DeallocOp.get(freed), scf.YieldOp()])
        b.insert(scf.IfOp(empty, [], Region(keep), Region(drop)))
        Rewriter.erase_op(dealloc)


def recycle_carried_buffers(f: func.FuncOp) -> None:
    ends = entry_and_return(f)
    if ends is None:
        return
    entry, terminator = ends
    loops = [op for op in f.walk() if isinstance(op, scf.ForOp | scf.WhileOp)]
    for loop in loops:
        for pair in carried_pairs(loop):
            t = pair.alloc.memref.type
            assert isinstance(t, MemRefType)
            slot = CarriedBufferSlot(t, entry, terminator, pair.alloc.location)
            slot.take(pair.alloc)
            slot.put(pair.dealloc)


@dataclass(frozen=True)
class RecycleCarriedBuffersPass(ModulePass):
    """Let a loop-carried tensor ping-pong between two buffers instead of
    allocating one per iteration."""

    name = "noma-recycle-carried-buffers"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for f in op.ops:
            if isinstance(f, func.FuncOp) and f.body.blocks:
                recycle_carried_buffers(f)
