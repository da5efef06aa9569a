"""What bufferization knows about buffers and their uses: the dimensions of
a buffer, copies, views, the last use of a value in a block, whether an op
is inside a loop, whether parameter storage may change while a read of it is
still used. Shared by the bufferizer, hoisting and the op rules, none of
which it imports.
"""

from __future__ import annotations

from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerAttr, MemRefType, TensorType, f64
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import storage
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shape_ops import ReshapeOp
from noma.dialects.noma.shapes import is_static, shape_of
from noma.dialects.noma.types import BufferType, ParamType
from noma.lowering.noma_to_loops.loops import INDEX
from noma.lowering.noma_to_loops.views import is_view_candidate


def uses_tensor_storage(op: Operation) -> bool:
    """Whether the op works on a parameter or buffer holding a tensor."""
    return any(
        isinstance(v.type, ParamType | BufferType) and isinstance(v.type.value_type, TensorType)
        for v in (*op.operands, *op.results)
    )


def touches_storage(op: Operation, handle: SSAValue, slot: str) -> bool:
    """Whether `op` (or an op inside it) reads or writes the storage of
    `slot` of parameter `handle`."""
    for inner in op.walk():
        if handle not in inner.operands:
            continue
        if isinstance(inner, storage.StateReadOp | storage.StateWriteOp):
            if inner.slot.data == slot:
                return True
        elif isinstance(inner, storage.ReadOp | storage.WriteOp):
            if slot == "value":
                return True
        else:
            return True  # realloc, free, an unexpected use: be safe
    return False


def storage_unchanged_while_used(read: Operation, slot: str) -> bool:
    """Whether the value a parameter read gives can be the parameter's own
    storage instead of a copy: nothing that could write that storage runs
    between the read and its last use in the read's block."""
    block = read.parent_block()
    assert block is not None
    handle = read.operands[0]
    # A cast of the value is a view of the same storage: its uses count.
    lasts = [last_use_in(block, v) for v in tensor_views(read.results[0])]
    positions = {op: i for i, op in enumerate(block.ops)}
    used = [op for op in lasts if op is not None]
    if not used:
        return True
    last = max(used, key=lambda op: positions[op])
    if last is block.last_op:
        return False  # it leaves the block: the terminator would copy it anyway
    ops = list(block.ops)
    for op in ops[ops.index(read) + 1 : ops.index(last) + 1]:
        for inner in op.walk():
            writes = isinstance(inner, storage.WriteOp | storage.ReallocOp | storage.FreeOp)
            writes_slot = isinstance(inner, storage.StateWriteOp) and inner.slot.data == slot
            if (writes and slot == "value" or writes_slot) and handle in inner.operands:
                return False
            if isinstance(inner, storage.ResetOptimizerOp) and slot != "value":
                return False
            if isinstance(inner, func.CallOp):
                continue  # callees cannot reach a caller's parameters
    return True


def tensor_views(value: SSAValue) -> list[SSAValue]:
    """`value` and the `noma.cast`s, static `noma.reshape`s and slices or
    transposes that may become strided views (`views.py`) of it
    (transitively): lowered as views."""
    found, stack = [], [value]
    while stack:
        current = stack.pop()
        found.append(current)
        stack += [u.operation.results[0] for u in current.uses if _is_view_op(u.operation)]
    return found


def _is_view_op(op: Operation) -> bool:
    if isinstance(op, tops.CastOp) or is_view_candidate(op):
        return True
    return isinstance(op, ReshapeOp) and is_static(shape_of(op.result.type))


def buffer_dims(b: NomaBuilder, buffer: SSAValue, dynamic_only: bool = False) -> list[SSAValue]:
    """The dimensions of a buffer as index values (`memref.dim` for the
    dynamic ones); with `dynamic_only`, just those, as `memref.alloc` wants."""
    t = buffer.type
    assert isinstance(t, MemRefType)
    dims = []
    for axis, d in enumerate(t.get_shape()):
        if d == DYNAMIC_INDEX:
            index = b.insert(arith.ConstantOp(IntegerAttr(axis, INDEX))).result
            dims.append(b.insert(memref.DimOp(buffer, index)).result)
        elif not dynamic_only:
            dims.append(b.insert(arith.ConstantOp(IntegerAttr(d, INDEX))).result)
    return dims


def copy_before(op: Operation, buffer: SSAValue) -> SSAValue:
    """A fresh copy of `buffer`, made just before `op`, owned by no block
    yet (the caller hands it over)."""
    b = NomaBuilder(InsertPoint.before(op), op.location)
    t = buffer.type
    assert isinstance(t, MemRefType)
    copy = b.insert(
        memref.AllocOp.get(f64, shape=t.get_shape(), dynamic_sizes=buffer_dims(b, buffer, True))
    ).memref
    b.insert(memref.CopyOp(buffer, copy))
    return copy


VIEW_OPS = (memref.ReinterpretCastOp, memref.CastOp)
"""Ops whose result aliases their source buffer."""


def aliases(value: SSAValue) -> list[SSAValue]:
    """`value` and the views of it (transitively)."""
    found, stack = [], [value]
    while stack:
        current = stack.pop()
        found.append(current)
        stack += [r for u in current.uses if isinstance(u.operation, VIEW_OPS) for r in u.operation.results]
    return found


def last_use_in(block: Block, value: SSAValue) -> Operation | None:
    """The last op of `block` that uses `value` or a view of it, directly or
    inside its regions."""
    last: Operation | None = None
    position = {op: i for i, op in enumerate(block.ops)}
    for use in (u for alias in aliases(value) for u in alias.uses):
        op: Operation | None = use.operation
        while op is not None and op.parent_block() is not block:
            op = op.parent_op()
        if op is not None and (last is None or position[op] > position[last]):
            last = op
    return last


def in_loop(op: Operation) -> bool:
    """Whether `op` is nested in a loop of its function."""
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        if isinstance(parent, scf.WhileOp | scf.ForOp):
            return True
        parent = parent.parent_op()
    return False
