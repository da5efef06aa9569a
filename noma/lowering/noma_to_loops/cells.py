"""Storage of parameters and buffers as memrefs: the cells, slots and flags
that the storage op rules (`storage.py`) build on.

A parameter handle becomes its slots: the value, the moments of the
optimizer table (`m` and `v`), the step count `t` (a rank-0 buffer),
bundled by an `unrealized_conversion_cast` that the ops using the handle
look through. A parameter of static shape owns
buffers of that shape, allocated at the function's entry and freed at its
return.

Storage of dynamic shape (a reallocated parameter, every `alloc` buffer) is
replaced when it is resized, so each of its tensor slots is a *cell*: a
rank-0 `memref<memref<?x?xf64>>` on the stack holding the current buffer,
loaded where the storage is used. An `i1` flag says whether the storage holds
buffers: `learn` and `alloc` (which may run again, in a loop) release what a
previous run left, `free` clears it, and the function releases what is left
when it returns.

    %cell = memref.alloca() : memref<memref<?x?xf64>>
    %W = builtin.unrealized_conversion_cast %cell, %m, %v, %t, %alive : ... to !noma.param<tensor<?x?xf64>>
    %w = memref.load %cell[] : memref<memref<?x?xf64>>          // noma.read
    memref.dealloc %w ; memref.store %new, %cell[]              // noma.write resize
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IntegerAttr,
    MemRefType,
    UnrealizedConversionCastOp,
    f64,
    i1,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import optimizers, storage
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import is_static, shape_of
from noma.dialects.noma.types import BufferType
from noma.lowering.noma_to_loops.buffers import buffer_dims, in_loop
from noma.lowering.noma_to_loops.loops import LoopLowering, memref_type

if TYPE_CHECKING:
    from noma.lowering.noma_to_loops.bufferize import Bufferizer

BUFFER_SLOTS = ("value", "alive")


def param_slots() -> tuple[str, ...]:
    """A parameter's buffers: its value, the moments of the optimizer table
    (shaped like the value), then the step count."""
    return ("value", *optimizers.moment_slots(), optimizers.STEP_SLOT)


def tensor_slots() -> tuple[str, ...]:
    """The slots shaped like the storage's value."""
    return ("value", *optimizers.moment_slots())


def slots_of(handle_type: Attribute) -> tuple[str, ...]:
    """The buffers a lowered handle bundles, in order: a parameter's value
    and state (and, when resizable, the flag saying it holds buffers); a
    buffer's value and flag."""
    if isinstance(handle_type, BufferType):
        return BUFFER_SLOTS
    return (*param_slots(), "alive") if is_resizable(handle_type) else param_slots()


def is_cell(buffer: SSAValue) -> bool:
    t = buffer.type
    return isinstance(t, MemRefType) and isinstance(t.get_element_type(), MemRefType)


def is_resizable(handle_type: Attribute) -> bool:
    """Storage whose shape can change lives in cells."""
    value_type = handle_type.value_type  # type: ignore[attr-defined]
    return is_tensor_type_with_dynamic_dims(value_type)


def is_tensor_type_with_dynamic_dims(t: Attribute) -> bool:
    shape = shape_of(t)
    return bool(shape) and not is_static(shape)


def slot_buffer(handle: SSAValue, slot: str, b: NomaBuilder) -> SSAValue:
    """The buffer of `slot` behind a lowered handle; a cell's current buffer
    is loaded at `b`."""
    owner = handle.owner
    assert isinstance(owner, UnrealizedConversionCastOp), "storage not lowered"
    buffer = owner.inputs[slots_of(handle.type).index(slot)]
    if is_cell(buffer):
        return b.insert(memref.LoadOp.get(buffer, [])).res
    return buffer


def op_slot(op: Operation) -> str:
    if isinstance(op, storage.StateReadOp | storage.StateWriteOp):
        return op.slot.data
    return "value"


class StorageCells:
    """Declares, fills and releases the storage of one function's
    parameters and buffers, for the storage op rules."""

    def __init__(self, bz: Bufferizer):
        self.bz = bz

    # -- declarations ---------------------------------------------------------------

    def declare(self, op: Operation, handle: SSAValue) -> SSAValue:
        """Stack slots of resizable storage, and the cast standing for the
        handle, at the function entry; the storage holds nothing yet."""
        handle_type = handle.type
        value_type = memref_type(handle_type.value_type)  # type: ignore[attr-defined]
        eb = self.bz.entry_builder(op)
        slots: list[SSAValue] = []
        for slot in slots_of(handle_type):
            if slot in tensor_slots():
                slots.append(eb.insert(memref.AllocaOp.get(value_type, shape=[])).memref)
            else:
                element = i1 if slot == "alive" else f64
                slots.append(eb.insert(memref.AllocaOp.get(element, shape=[])).memref)
        cast = eb.insert(UnrealizedConversionCastOp.get(slots, [handle_type]))
        alive = slots[-1]
        false = eb.insert(arith.ConstantOp(IntegerAttr(0, i1))).result
        eb.insert(memref.StoreOp.get(false, alive, []))
        handle.replace_all_uses_with(cast.results[0])
        lowered = cast.results[0]
        self.bz.function_end.append(lambda b: self.release(lowered, b, op))
        return lowered

    @staticmethod
    def load_alive(handle: SSAValue, b: NomaBuilder) -> SSAValue:
        owner = handle.owner
        assert isinstance(owner, UnrealizedConversionCastOp)
        return b.insert(memref.LoadOp.get(owner.inputs[-1], [])).res

    def set_alive(self, handle: SSAValue, b: NomaBuilder, alive: bool) -> None:
        owner = handle.owner
        assert isinstance(owner, UnrealizedConversionCastOp)
        flag = b.insert(arith.ConstantOp(IntegerAttr(int(alive), i1))).result
        b.insert(memref.StoreOp.get(flag, owner.inputs[-1], []))

    def release_before_reuse(self, handle: SSAValue, b: NomaBuilder, op: Operation) -> None:
        """Before `learn` or `alloc` fills the storage: a previous run of the
        same statement (in a loop) left buffers there."""
        if in_loop(op):
            self.release(handle, b, op)

    def release(self, handle: SSAValue, b: NomaBuilder, op: Operation) -> None:
        """Free what the storage holds, if it holds anything."""
        alive = self.load_alive(handle, b)
        block = Block()
        rb = NomaBuilder(InsertPoint.at_end(block), op.location)
        for slot in slots_of(handle.type):
            if slot in tensor_slots():
                rb.insert(memref.DeallocOp.get(slot_buffer(handle, slot, rb)))
        rb.insert(scf.YieldOp())
        b.insert(scf.IfOp(alive, [], Region(block)))

    def store_new(self, handle: SSAValue, slot: str, buffer: SSAValue, b: NomaBuilder) -> None:
        """Put a buffer (owned by the storage from now on) into a cell."""
        owner = handle.owner
        assert isinstance(owner, UnrealizedConversionCastOp)
        cell = owner.inputs[slots_of(handle.type).index(slot)]
        cell_type = cell.type
        assert isinstance(cell_type, MemRefType)
        element = cell_type.get_element_type()
        if buffer.type != element:
            buffer = b.insert(memref.CastOp.get(buffer, element)).results[0]  # type: ignore[arg-type]
        b.insert(memref.StoreOp.get(buffer, cell, []))

    # -- buffers -----------------------------------------------------------------------

    @staticmethod
    def new_buffer(lw: LoopLowering, handle: SSAValue, dims: list[SSAValue]) -> SSAValue:
        """A heap buffer for a slot of `handle`, owned by no block."""
        value_type = handle.type.value_type  # type: ignore[attr-defined]
        shape = shape_of(value_type)
        dynamic = [d for d, s in zip(dims, shape, strict=True) if s is None]
        alloc = memref.AllocOp.get(
            f64, shape=[DYNAMIC_INDEX if s is None else s for s in shape], dynamic_sizes=dynamic
        )
        return lw.b.insert(alloc).memref

    def static_view(self, handle: SSAValue, slot: str, t: Attribute, op: Operation) -> SSAValue:
        """The current buffer of a cell seen with the static tensor type `t`
        (`memref.cast`), just before `op`, after checking at run time that
        it has that shape."""
        lw = LoopLowering(self.bz, op)
        b = lw.b
        buffer = slot_buffer(handle, slot, b)

        held = buffer_dims(b, buffer)
        wanted = [lw.index_constant(d) for d in shape_of(t)]  # type: ignore[misc]
        ok: SSAValue | None = None
        for x, y in zip(held, wanted, strict=True):
            same = b.insert(arith.CmpiOp(x, y, "eq")).result
            ok = same if ok is None else b.insert(arith.AndIOp(ok, same)).result
        assert ok is not None
        lw.check_shapes(ok, "cannot store a {0} tensor where the storage holds a {1} one", wanted, held)
        return b.insert(memref.CastOp.get(buffer, memref_type(t))).results[0]  # type: ignore[arg-type]
