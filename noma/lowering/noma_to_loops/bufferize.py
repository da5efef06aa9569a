"""Bufferization: tensor values become memrefs, tensor ops loop nests.

Every tensor value gets a buffer of its own. Ownership is explicit and
simple, in the spirit of MLIR's ownership-based deallocation:

- a buffer created in a block is owned by that block, as are the buffers a
  loop carries in its block arguments; function arguments, constants and
  captured outer buffers are borrowed;
- a terminator (`scf.yield`, `scf.condition`, `func.return`) transfers the
  owned buffers it passes on; a borrowed buffer is copied first;
- every owned buffer that is not transferred is freed right after its last
  use in its block.

So every temporary of a loop iteration is freed in that iteration, and memory
stays flat however long training runs. Then temporaries of static shape
inside loops are hoisted to the function entry (on the stack when small), so
a training step allocates nothing at all. Parameters of tensor type own a
value buffer and their optimizer state; reading one copies it (a snapshot),
writing one copies into it.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    FunctionType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    UnrealizedConversionCastOp,
    f64,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import IsTerminator

from noma.dialects.noma import files, io, storage, tape
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.interfaces import ScalarLowerable
from noma.dialects.noma.shapes import is_static, num_elements, shape_of
from noma.dialects.noma.storage import storage_value_type
from noma.dialects.noma.types import BufferType, ParamType
from noma.frontend.diagnostics import NomaError
from noma.lowering.noma_to_loops.files import flat_and_shape, lower_save
from noma.lowering.noma_to_loops.loops import (
    INDEX,
    LoopLowering,
    fusible_producer,
    is_tensor,
    memref_type,
)
from noma.lowering.noma_to_loops.runtime import Runtime
from noma.lowering.noma_to_loops.storage import StorageLowering, is_resizable, op_slot, slot_buffer

STACK_BUFFER_BYTES = 16 * 1024
"""Hoisted temporaries up to this size live on the stack."""
STACK_FUNCTION_BYTES = 256 * 1024
"""At most this much stack per function for hoisted temporaries."""


def _has_tensors(op: Operation) -> bool:
    values = (*op.operands, *op.results)
    if any(isinstance(v.type, TensorType) for v in values):
        return True
    return any(isinstance(a.type, TensorType) for r in op.regions for b in r.blocks for a in b.args)


def _saves(op: Operation) -> bool:
    """Saving lowers to runtime calls here even when what is saved is a
    scalar (`save_csv 1.0, "o.csv";` in a function with no tensor)."""
    return isinstance(op, files.SaveCsvOp | files.SaveSafetensorsOp)


class Bufferizer:
    def __init__(self, module: ModuleOp, runtime: Runtime):
        self.module = module
        self.runtime = runtime
        self.buffers: dict[SSAValue, SSAValue] = {}
        self.owner: dict[SSAValue, Block] = {}
        """memref value -> the block owning it"""
        self.fused: set[Operation] = set()
        self.converted: list[Operation] = []
        self.entry: Block | None = None
        self.function_end: list[Callable[[NomaBuilder], None]] = []
        """emitters of what runs before the function's return (releasing
        parameters and buffers)"""
        self.storage = StorageLowering(self)
        self.in_place: set[SSAValue] = set()
        """Tensor values computed directly into the storage they are written to."""

    # -- bookkeeping -----------------------------------------------------------

    def entry_builder(self, op: Operation) -> NomaBuilder:
        """Inserts at the start of the function's entry block: stack arrays
        and cells live there, so that a loop does not grow the stack."""
        assert self.entry is not None
        return NomaBuilder(InsertPoint.at_start(self.entry), op.location)

    def buffer(self, value: SSAValue) -> SSAValue:
        if value in self.buffers:
            return self.buffers[value]
        assert isinstance(value.type, MemRefType), f"no buffer for {value}"
        return value

    def own(self, buffer: SSAValue, op: Operation, replacing: SSAValue | None = None) -> SSAValue:
        block = op.parent_block()
        assert block is not None
        if replacing is not None:
            self.owner.pop(replacing, None)
        self.owner[buffer] = block
        return buffer

    # -- functions ----------------------------------------------------------------

    def run(self) -> None:
        for op in list(self.module.ops):
            if isinstance(op, func.FuncOp) and op.body.blocks and self._function_has_tensors(op):
                self.convert_function(op)

    @staticmethod
    def _function_has_tensors(f: func.FuncOp) -> bool:
        types = [*f.function_type.inputs, *f.function_type.outputs]
        return any(isinstance(t, TensorType) for t in types) or any(
            _has_tensors(op) or _uses_tensor_storage(op) or _saves(op) for op in f.walk()
        )

    def convert_function(self, f: func.FuncOp) -> None:
        self.entry = f.body.blocks[0]
        self.function_end = []
        for arg in list(self.entry.args):
            if isinstance(arg.type, TensorType):
                self._retype_arg(arg, owned=False)
        self.convert_block(self.entry)
        terminator = self.entry.last_op
        if self.function_end:
            assert isinstance(terminator, func.ReturnOp)
            for emit in self.function_end:
                emit(NomaBuilder(InsertPoint.before(terminator), terminator.location))
        f.function_type = FunctionType.from_lists(
            [memref_type(t) for t in f.function_type.inputs],
            [memref_type(t) for t in f.function_type.outputs],
        )
        hoist_temporaries(f)

    def _retype_arg(self, arg: SSAValue, owned: bool) -> SSAValue:
        block = arg.owner
        assert isinstance(block, Block)
        new = block.insert_arg(memref_type(arg.type), arg.index)  # type: ignore[attr-defined]
        self.buffers[arg] = new
        if owned:
            self.owner[new] = block
        return new

    # -- blocks ---------------------------------------------------------------------

    def convert_block(self, block: Block) -> None:
        converted_before = len(self.converted)
        for op in list(block.ops):
            self.convert_op(op)
        # The originals now have no users outside themselves: drop them,
        # consumers before producers.
        for op in reversed(self.converted[converted_before:]):
            op.detach()
            op.erase(safe_erase=False)
        del self.converted[converted_before:]
        fused = [o for o in block.ops if o in self.fused]
        for op in reversed(fused):
            self.fused.discard(op)
            op.detach()
            op.erase(safe_erase=False)
        for arg in list(block.args):
            if isinstance(arg.type, TensorType):
                block.erase_arg(arg, safe_erase=False)
        self.finish_block(block)

    def convert_op(self, op: Operation) -> None:
        if isinstance(op, scf.IfOp | scf.WhileOp | scf.ForOp):
            self.convert_region_op(op)
            return
        if isinstance(op, func.ReturnOp | scf.YieldOp | scf.ConditionOp):
            op.operands = tuple(self.buffer(o) if is_tensor(o) else o for o in op.operands)
            return
        match op:
            case storage.LearnOp() if is_resizable(op.param.type):
                self.storage.learn(op)
                return
            case storage.LearnOp():
                if is_tensor(op.init):
                    self.lower_learn(op)
                return
            case storage.AllocOp():
                self.storage.alloc(op)
                return
            case storage.FreeOp():
                self.storage.free(op)
                return
            case storage.CheckAliveOp():
                self.storage.check_alive(op)
                return
            case files.SaveCsvOp() | files.SaveSafetensorsOp():
                lower_save(op, LoopLowering(self, op))
                self.converted.append(op)
                return
            case _:
                pass
        if not _has_tensors(op) and not _uses_tensor_storage(op):
            return
        if op.results and fusible_producer(op.results[0]) is op:
            return  # computed inline by its consumers
        if isinstance(op, tops.TransposeOp) and all(
            isinstance(u.operation, tops.MatmulOp) for u in op.result.uses
        ):
            return  # its matmuls read the source with swapped indices
        self.lower_tensor_op(op)

    def lower_tensor_op(self, op: Operation) -> None:
        lw = LoopLowering(self, op)
        match op:
            case arith.ConstantOp():
                result = self.constant(lw, op)
            case storage.ReadOp() | storage.StateReadOp():
                slot = op_slot(op)
                source = slot_buffer(op.operands[0], slot, lw.b)
                if not is_tensor(op.results[0]):  # the step count
                    result = lw.b.insert(memref.LoadOp.get(source, [])).res
                elif storage_unchanged_while_used(op, slot):
                    result = source  # borrowed: no copy needed
                else:
                    result = lw.alloc(op.results[0].type, buffer_dims(lw.b, source))
                    lw.b.insert(memref.CopyOp(source, result))
            case storage.WriteOp() | storage.StateWriteOp():
                self.storage.write(op, lw)
                self.converted.append(op)
                return
            case io.PrintOp():
                self.print_tensor(lw, op.value)
                self.converted.append(op)
                return
            case func.CallOp():
                self.call(op)
                return
            case tape.TapePushOp() | tape.TapePopOp():
                raise NomaError.at_op(op, "autodiff: loops carrying tensors are not supported yet")
            case _ if hasattr(op, "lower_to_loops"):
                result = op.lower_to_loops(lw)  # type: ignore[attr-defined]
            case _ if isinstance(op, ScalarLowerable):
                target = self.write_through_target(op, lw.b)
                result = lw.elementwise(op, target) if target is not None else lw.elementwise(op)
                if target is not None and result is target:
                    self.in_place.add(op.results[0])
            case _:
                raise cannot_lower(op)
        self._replace(op, result)

    def write_through_target(self, op: Operation, b: NomaBuilder) -> SSAValue | None:
        """The parameter storage an elementwise value can be computed into
        directly, instead of into a temporary copied there by a later write:
        the value is written to that storage (of its very type) once, nothing
        between the value and the write touches the storage, and nothing
        writes the storage again while the value is still used. The loop
        writes each element right after reading the same element, so the
        storage may also be one of its inputs."""
        value = op.results[0]
        writes = [
            u.operation
            for u in value.uses
            if isinstance(u.operation, storage.WriteOp | storage.StateWriteOp) and u.index == 0
        ]
        block = op.parent_block()
        if len(writes) != 1 or writes[0].parent_block() is not block or block is None:
            return None
        write = writes[0]
        if write.resize is not None:
            return None  # the value goes into a new buffer
        slot = op_slot(write)
        handle = write.operands[1]
        stored = storage_value_type(handle.type)
        resizable_at_static_shape = is_resizable(handle.type) and is_static(shape_of(value.type))
        if stored != value.type and not resizable_at_static_shape:
            return None
        ops = list(block.ops)
        last = _last_use_in(block, value)
        end = ops.index(last) if last is not None else ops.index(write)
        for other in ops[ops.index(op) + 1 : end + 1]:
            if other is not write and touches_storage(other, handle, slot):
                return None
        if stored == value.type:
            return slot_buffer(handle, slot, b)
        return self.storage.static_view(handle, slot, value.type, op)

    def _replace(self, op: Operation, result: SSAValue) -> None:
        value = op.results[0]
        if is_tensor(value):
            self.buffers[value] = result
        else:
            value.replace_all_uses_with(result)
        self.converted.append(op)

    # -- specific ops ----------------------------------------------------------------

    def constant(self, lw: LoopLowering, op: arith.ConstantOp) -> SSAValue:
        """A tensor constant is a constant global (borrowed, never freed)."""
        value = op.value
        assert isinstance(value, DenseIntOrFPElementsAttr)
        t = memref_type(op.result.type)
        name = f"__noma_tensor{sum(1 for o in self.module.ops if isinstance(o, memref.GlobalOp))}"
        values = list(value.get_values())
        count = num_elements(shape_of(op.result.type)) or 0
        if len(values) == 1 and count != 1:
            values = values * count  # a splat
        initial = DenseIntOrFPElementsAttr.from_list(op.result.type, values)  # type: ignore[arg-type]
        self.module.body.block.add_op(
            memref.GlobalOp.get(StringAttr(name), t, initial, constant=UnitAttr())
        )
        return lw.b.insert(memref.GetGlobalOp(name, t)).memref

    def lower_learn(self, op: storage.LearnOp) -> None:
        """Storage of a tensor parameter (value, m, v) and its step count, in
        the function's entry block; freed when the function returns."""
        assert self.entry is not None
        param_type = op.param.type
        assert isinstance(param_type, ParamType)
        t = memref_type(param_type.value_type)
        if not isinstance(t, MemRefType) or DYNAMIC_INDEX in t.get_shape():
            raise NomaError.at_op(op, "parameters of dynamic shape are not supported yet")
        entry = self.entry_builder(op)
        buffers = [entry.insert(memref.AllocOp.get(f64, shape=t.get_shape())).memref for _ in range(3)]
        buffers.append(entry.insert(memref.AllocaOp.get(f64, shape=[])).memref)
        for buffer in buffers[:3]:
            self.function_end.append(
                lambda b, buffer=buffer: b.insert(memref.DeallocOp.get(buffer))  # type: ignore[misc]
            )
        lw = LoopLowering(self, op)
        lw.b.insert(memref.CopyOp(self.buffer(op.init), buffers[0]))
        dims = [lw.index_constant(d) for d in t.get_shape()]
        lw.fill(buffers[1], dims, 0.0)
        lw.fill(buffers[2], dims, 0.0)
        lw.b.insert(memref.StoreOp.get(lw.f64_constant(0.0), buffers[3], []))
        cast = lw.b.insert(UnrealizedConversionCastOp.get(buffers, [param_type]))
        op.param.replace_all_uses_with(cast.results[0])
        self.converted.append(op)

    def print_tensor(self, lw: LoopLowering, value: SSAValue) -> None:
        """`noma_print_tensor(flat data, dims)` on a flat view of the buffer."""
        flat, shape = flat_and_shape(lw, value)
        self.runtime.call(lw.b, "noma_print_tensor", [flat, shape], lw.op.location)

    def call(self, op: func.CallOp) -> None:
        """Tensor arguments are lent to the callee; tensor results are owned
        by the caller's block."""
        b = NomaBuilder(InsertPoint.before(op), op.location)
        args = [self.buffer(a) if is_tensor(a) else a for a in op.arguments]
        new = b.insert(func.CallOp(op.callee, args, [memref_type(r.type) for r in op.results]))
        for old, result in zip(op.results, new.results, strict=True):
            if is_tensor(old):
                self.buffers[old] = self.own(result, new)
            else:
                old.replace_all_uses_with(result)
        self.converted.append(op)

    # -- structured control flow -------------------------------------------------

    def convert_region_op(self, op: scf.IfOp | scf.WhileOp | scf.ForOp) -> None:
        """Convert the nested blocks (their loop-carried buffers are owned by
        them), then rebuild the op with memref types if it carries tensors."""
        carries = any(isinstance(v.type, TensorType) for v in (*op.operands, *op.results))
        for region in op.regions:
            for block in region.blocks:
                for arg in list(block.args):
                    if isinstance(arg.type, TensorType):
                        self._retype_arg(arg, owned=True)
                self.convert_block(block)
        if not carries:
            return
        b = NomaBuilder(InsertPoint.before(op), op.location)
        # A loop takes ownership of what it carries: give it copies.
        operands = [copy_before(op, self.buffer(o)) if is_tensor(o) else o for o in op.operands]
        regions = [Rewriter.move_region_contents_to_new_regions(r) for r in op.regions]
        result_types = [memref_type(r.type) for r in op.results]
        if isinstance(op, scf.IfOp):
            new: Operation = scf.IfOp(operands[0], result_types, regions[0], regions[1])
        elif isinstance(op, scf.WhileOp):
            new = scf.WhileOp(operands, result_types, regions[0], regions[1])
        else:
            new = scf.ForOp(operands[0], operands[1], operands[2], operands[3:], regions[0])
        b.insert(new)
        for old, result in zip(op.results, new.results, strict=True):
            if is_tensor(old):
                self.buffers[old] = self.own(result, new)
            else:
                old.replace_all_uses_with(result)
        self.converted.append(op)

    # -- ownership ------------------------------------------------------------------

    def finish_block(self, block: Block) -> None:
        """Transfer what the terminator passes on (copying borrowed buffers)
        and free every other owned buffer after its last use."""
        owned = [v for v, owner in self.owner.items() if owner is block]
        terminator = block.last_op
        transferred: set[SSAValue] = set()
        if terminator is not None and terminator.has_trait(IsTerminator):
            operands = list(terminator.operands)
            for i, value in enumerate(operands):
                if not isinstance(value.type, MemRefType):
                    continue
                if value in owned and value not in transferred:
                    transferred.add(value)
                else:
                    operands[i] = copy_before(terminator, value)
            terminator.operands = tuple(operands)
        for value in owned:
            del self.owner[value]
            if value in transferred:
                continue
            last = _last_use_in(block, value)
            if last is None:
                defining = value.owner
                point = (
                    InsertPoint.after(defining)
                    if isinstance(defining, Operation)
                    else InsertPoint.at_start(block)
                )
            elif last is terminator:
                point = InsertPoint.before(terminator)
            else:
                point = InsertPoint.after(last)
            Rewriter.insert_op(memref.DeallocOp.get(value), point)


def cannot_lower(op: Operation) -> NomaError:
    """The located error for an op the lowering to loops does not handle."""
    if op.name == "noma.realloc":
        why = "run `legalize-growth` before lowering to loops"
    elif op.name in ("noma.optimize", "noma.minimize", "noma.until", "noma.reset_optimizer"):
        why = "run `expand-optimizers` before lowering to loops"
    else:
        why = "it has no lowering"
    return NomaError.at_op(op, f"cannot lower '{op.name}' to loops: {why}")


def _uses_tensor_storage(op: Operation) -> bool:
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
    lasts = [_last_use_in(block, v) for v in _tensor_views(read.results[0])]
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


def _tensor_views(value: SSAValue) -> list[SSAValue]:
    """`value` and the `noma.cast`s of it (transitively): lowered as views."""
    found, stack = [], [value]
    while stack:
        current = stack.pop()
        found.append(current)
        stack += [u.operation.result for u in current.uses if isinstance(u.operation, tops.CastOp)]
    return found


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


def _aliases(value: SSAValue) -> list[SSAValue]:
    """`value` and the views of it (transitively)."""
    found, stack = [], [value]
    while stack:
        current = stack.pop()
        found.append(current)
        stack += [r for u in current.uses if isinstance(u.operation, VIEW_OPS) for r in u.operation.results]
    return found


def _last_use_in(block: Block, value: SSAValue) -> Operation | None:
    """The last op of `block` that uses `value` or a view of it, directly or
    inside its regions."""
    last: Operation | None = None
    position = {op: i for i, op in enumerate(block.ops)}
    for use in (u for alias in _aliases(value) for u in alias.uses):
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


def hoist_temporaries(f: func.FuncOp) -> None:
    """Temporaries of static shape allocated and freed in the same block of a
    loop become one allocation at the function entry, reused by every
    iteration: on the stack when small, else on the heap, freed at return."""
    entry = f.body.blocks[0]
    terminator = entry.last_op
    if not isinstance(terminator, func.ReturnOp) or len(f.body.blocks) != 1:
        return
    stack_bytes = 0
    for alloc in [op for op in f.walk() if isinstance(op, memref.AllocOp)]:
        t = alloc.memref.type
        if alloc.dynamic_sizes or not in_loop(alloc):
            continue
        deallocs = [u.operation for u in alloc.memref.uses if isinstance(u.operation, memref.DeallocOp)]
        if len(deallocs) != 1 or deallocs[0].parent_block() is not alloc.parent_block():
            continue
        size = 8 * (num_elements(tuple(t.get_shape())) or 0)
        deallocs[0].detach()
        deallocs[0].erase()
        alloc.detach()
        if size <= STACK_BUFFER_BYTES and stack_bytes + size <= STACK_FUNCTION_BYTES:
            stack_bytes += size
            alloca = memref.AllocaOp.get(f64, shape=t.get_shape())
            alloca.location = alloc.location
            Rewriter.insert_op(alloca, InsertPoint.at_start(entry))
            alloc.memref.replace_all_uses_with(alloca.memref)
            alloc.erase()
        else:
            Rewriter.insert_op(alloc, InsertPoint.at_start(entry))
            Rewriter.insert_op(memref.DeallocOp.get(alloc.memref), InsertPoint.before(terminator))


def bufferize(module: ModuleOp, runtime: Runtime) -> None:
    Bufferizer(module, runtime).run()
