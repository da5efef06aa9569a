"""Loops of the storage ops (`dialects/noma/storage.py`): parameters and
buffers as memrefs.

A scalar parameter becomes rank-0 buffers (value, the moments of the
optimizer table, `m` and `v`, step count `t`) on the stack in the
function's entry block, so that LLVM can keep them in registers; a tensor parameter of static shape owns heap buffers
allocated at the function's entry and freed at its return; resizable storage
(a reallocated parameter, every `alloc` buffer) lives in cells
(`cells.py`). The handle is an `unrealized_conversion_cast` of those
buffers, which reads and writes look through; the casts die once every use
is lowered. `noma.realloc` and `noma.reset_optimizer` are gone by then
(`legalize-growth`, `expand-optimizers`).
"""

from __future__ import annotations

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    FloatAttr,
    MemRefType,
    UnrealizedConversionCastOp,
    f64,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import storage
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.optimizers import STEP_SLOT
from noma.dialects.noma.types import ParamType
from noma.diagnostics import NomaError
from noma.lowering.noma_to_loops.buffers import buffer_dims, storage_unchanged_while_used
from noma.lowering.noma_to_loops.cells import (
    is_resizable,
    op_slot,
    param_slots,
    slot_buffer,
    slots_of,
    tensor_slots,
)
from noma.lowering.noma_to_loops.loops import LoopLowering, copy_into, is_tensor, memref_type
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import Runtime

# -- on tensors (during bufferization) ------------------------------------------------


def _learn(lw: LoopLowering, op: storage.LearnOp) -> None:
    if is_resizable(op.param.type):
        _learn_resizable(lw, op)
    else:
        _learn_static(lw, op)


def _learn_static(lw: LoopLowering, op: storage.LearnOp) -> None:
    """Storage of a tensor parameter (value and moments) and its step count,
    in the function's entry block; freed when the function returns."""
    bz = lw.bz
    param_type = op.param.type
    assert isinstance(param_type, ParamType)
    t = memref_type(param_type.value_type)
    if not isinstance(t, MemRefType) or DYNAMIC_INDEX in t.get_shape():
        raise NomaError.at_op(op, "parameters of dynamic shape are not supported yet")
    entry = bz.entry_builder(op)
    shaped = tensor_slots()
    buffers = [entry.insert(memref.AllocOp.get(f64, shape=t.get_shape())).memref for _ in shaped]
    buffers.append(entry.insert(memref.AllocaOp.get(f64, shape=[])).memref)  # the step count
    for buffer in buffers[: len(shaped)]:
        bz.function_end.append(
            lambda b, buffer=buffer: b.insert(memref.DeallocOp.get(buffer))  # type: ignore[misc]
        )
    lw.b.insert(memref.CopyOp(lw.buffer(op.init), buffers[0]))
    dims = [lw.index_constant(d) for d in t.get_shape()]
    for moments in buffers[1 : len(shaped)]:
        lw.fill(moments, dims, 0.0)
    lw.b.insert(memref.StoreOp.get(lw.f64_constant(0.0), buffers[-1], []))
    cast = lw.b.insert(UnrealizedConversionCastOp.get(buffers, [param_type]))
    op.param.replace_all_uses_with(cast.results[0])


def _learn_resizable(lw: LoopLowering, op: storage.LearnOp) -> None:
    """A resizable parameter: its value copied from the initial one, zero
    moments and step count."""
    cells, b = lw.bz.storage, lw.b
    handle = cells.declare(op, op.param)
    cells.release_before_reuse(handle, b, op)
    dims = lw.dims(op.init)
    for slot in tensor_slots():
        buffer = cells.new_buffer(lw, handle, dims)
        if slot == "value":
            copy_into(b, lw.buffer(op.init), buffer)
        else:
            lw.fill(buffer, dims, 0.0)
        cells.store_new(handle, slot, buffer, b)
    owner = handle.owner
    assert isinstance(owner, UnrealizedConversionCastOp)
    step_count = owner.inputs[slots_of(handle.type).index(STEP_SLOT)]
    b.insert(memref.StoreOp.get(lw.f64_constant(0.0), step_count, []))
    cells.set_alive(handle, b, True)


def _alloc(lw: LoopLowering, op: storage.AllocOp) -> None:
    """A zero-filled buffer of run-time dimensions (each at least 1)."""
    cells = lw.bz.storage
    handle = cells.declare(op, op.buffer)
    cells.release_before_reuse(handle, lw.b, op)
    dims = lw.dims_from_f64(list(op.dims))
    buffer = cells.new_buffer(lw, handle, dims)
    lw.fill(buffer, dims, 0.0)
    cells.store_new(handle, "value", buffer, lw.b)
    cells.set_alive(handle, lw.b, True)


def _free(lw: LoopLowering, op: storage.FreeOp) -> None:
    lw.b.insert(memref.DeallocOp.get(slot_buffer(op.handle, "value", lw.b)))
    lw.bz.storage.set_alive(op.handle, lw.b, False)


def _check_alive(lw: LoopLowering, op: storage.CheckAliveOp) -> None:
    alive = lw.bz.storage.load_alive(op.handle, lw.b)
    lw.check(alive, f"'{op.sym_name.data}' is used after `free`")


def _read(lw: LoopLowering, op: storage.ReadOp | storage.StateReadOp) -> SSAValue:
    """The storage itself (borrowed) when it cannot change while the value
    is used, else a copy (a snapshot); the step count is loaded."""
    slot = op_slot(op)
    source = slot_buffer(op.operands[0], slot, lw.b)
    if not is_tensor(op.results[0]):  # the step count
        return lw.b.insert(memref.LoadOp.get(source, [])).res
    if lw.bz.update_in_place and storage_unchanged_while_used(op, slot):
        return source
    result = lw.alloc(op.results[0].type, buffer_dims(lw.b, source))
    lw.b.insert(memref.CopyOp(source, result))
    return result


def _write(lw: LoopLowering, op: storage.WriteOp | storage.StateWriteOp) -> None:
    """A value stored into a slot: copied into the slot's buffer after
    checking the shapes agree, or, with `resize`, into a new buffer that
    replaces the old one. Nothing to do when the value was computed in
    place (`Bufferizer.write_through_target`)."""
    cells = lw.bz.storage
    slot = op_slot(op)
    handle, value = op.operands[1], op.operands[0]
    if op.resize is not None:
        dims = lw.dims(value)
        buffer = cells.new_buffer(lw, handle, dims)
        copy_into(lw.b, lw.buffer(value), buffer)
        lw.b.insert(memref.DeallocOp.get(slot_buffer(handle, slot, lw.b)))
        cells.store_new(handle, slot, buffer, lw.b)
        return
    target = slot_buffer(handle, slot, lw.b)
    if not is_tensor(value):
        lw.b.insert(memref.StoreOp.get(value, target, []))
        return
    if value in lw.bz.in_place:
        return
    target_type = target.type
    assert isinstance(target_type, MemRefType)
    target_shape = tuple(None if d == DYNAMIC_INDEX else d for d in target_type.get_shape())
    lw.check_same_shape(
        value,
        buffer_dims(lw.b, target),
        target_shape,
        "cannot store a {0} tensor where the storage holds a {1} one",
    )
    copy_into(lw.b, lw.buffer(value), target)


# -- on scalars (after bufferization) --------------------------------------------------


def _entry_block(op: Operation) -> Block:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    assert parent is not None
    return parent.body.blocks[0]


def _learn_scalar(op: storage.LearnOp, rewriter: PatternRewriter, _runtime: Runtime) -> None:
    """`%p = noma.learn "w" %init : f64 -> !noma.param<f64>` -> one
    `memref.alloca() : memref<f64>` per slot in the entry block, stores of the initial
    value and zero state, and a cast standing for the handle."""
    if op.init.type != f64:
        return
    hoisted = NomaBuilder(InsertPoint.at_start(_entry_block(op)), op.location)
    buffers = [hoisted.insert(memref.AllocaOp.get(f64, shape=[])).memref for _ in param_slots()]
    b = NomaBuilder(InsertPoint.before(op), op.location)
    zero = b.insert(arith.ConstantOp(FloatAttr(0.0, f64))).result
    for buffer, value in zip(buffers, [op.init, *[zero] * (len(buffers) - 1)], strict=True):
        b.insert(memref.StoreOp.get(value, buffer, []))
    cast = b.insert(UnrealizedConversionCastOp.get(buffers, [op.param.type]))
    rewriter.replace(op, [], cast.results)


def _scalar_slot(handle: SSAValue, slot: str) -> SSAValue | None:
    """The rank-0 buffer of `slot` behind a lowered handle, or None if the
    handle is not lowered yet."""
    owner = handle.owner
    if not isinstance(owner, UnrealizedConversionCastOp):
        return None
    return owner.inputs[slots_of(handle.type).index(slot)]


def _read_scalar(
    op: storage.ReadOp | storage.StateReadOp, rewriter: PatternRewriter, _runtime: Runtime
) -> None:
    buffer = _scalar_slot(op.operands[0], op_slot(op))
    if buffer is not None:
        load = memref.LoadOp.get(buffer, [])
        load.location = op.location
        rewriter.replace(op, load)


def _write_scalar(
    op: storage.WriteOp | storage.StateWriteOp, rewriter: PatternRewriter, _runtime: Runtime
) -> None:
    buffer = _scalar_slot(op.operands[1], op_slot(op))
    if buffer is not None:
        store = memref.StoreOp.get(op.operands[0], buffer, [])
        store.location = op.location
        rewriter.replace(op, store)


RULES = {
    storage.LearnOp: LoopsRule(on_tensors=_learn, on_scalars=_learn_scalar),
    storage.ReadOp: LoopsRule(on_tensors=_read, on_scalars=_read_scalar),
    storage.StateReadOp: LoopsRule(on_tensors=_read, on_scalars=_read_scalar),
    storage.WriteOp: LoopsRule(on_tensors=_write, on_scalars=_write_scalar),
    storage.StateWriteOp: LoopsRule(on_tensors=_write, on_scalars=_write_scalar),
    storage.AllocOp: LoopsRule(on_tensors=_alloc),
    storage.FreeOp: LoopsRule(on_tensors=_free),
    storage.CheckAliveOp: LoopsRule(on_tensors=_check_alive),
}
