"""The `noma-bufferize` pass: tensor values become memrefs, tensor ops loop
nests (by their rules, `registry.py`); scalar `noma` ops are left for
`convert-noma-scalars-to-loops`.

Every tensor value gets a buffer of its own. Ownership is explicit and
simple, in the spirit of MLIR's ownership-based deallocation:

- a buffer created in a block is owned by that block, as are the buffers a
  loop carries in its block arguments; function arguments, constants and
  captured outer buffers are borrowed;
- a terminator (`scf.yield`, `scf.condition`, `func.return`) transfers the
  owned buffers it passes on; a borrowed buffer is copied first;
- every owned buffer that is not transferred is freed right after its last
  use in its block, by `noma-deallocate`, which reads these rules back from
  the IR (`deallocate.py`).

So every temporary of a loop iteration is freed in that iteration, and memory
stays flat however long training runs (`noma-hoist-temporaries` then
allocates those of static shape once). Parameters of tensor type own a value
buffer and their optimizer state; reading one copies it (a snapshot),
writing one copies into it.

Options, each on by default:
- `fuse-elementwise`: an elementwise op whose single consumer is an
  elementwise op or a reduction of the same shape is computed inline, never
  stored; a broadcast scalar always; a transpose used only by matmuls is
  read by them with swapped indices; a slice, row, transpose or permutation
  whose consumers only read it is a strided view of its source's buffer
  (`views.py`), borrowed like any view;
- `update-in-place`: a parameter read borrows the storage when nothing
  writes it while the value is used (else it is a copy), and an elementwise
  value only written to a parameter is computed straight into it unless a
  read of the parameter is still used after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FunctionType,
    MemRefType,
    ModuleOp,
    NoneAttr,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import IsTerminator

from noma.dialects.noma import storage
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import is_static, num_elements, shape_of
from noma.dialects.noma.storage import storage_value_type
from noma.lowering.noma_to_loops.buffers import (
    copy_before,
    last_use_in,
    tensor_views,
    touches_storage,
    uses_tensor_storage,
)
from noma.lowering.noma_to_loops.cells import StorageCells, is_resizable, op_slot, slot_buffer
from noma.lowering.noma_to_loops.loops import (
    LoopLowering,
    fusible_producer,
    is_tensor,
    memref_type,
)
from noma.lowering.noma_to_loops.registry import cannot_lower, rule_of
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import Runtime
from noma.lowering.noma_to_loops.views import StridedView


def _has_tensors(op: Operation) -> bool:
    values = (*op.operands, *op.results)
    if any(isinstance(v.type, TensorType) for v in values):
        return True
    return any(isinstance(a.type, TensorType) for r in op.regions for b in r.blocks for a in b.args)


def _read_used_after(op: Operation, handle: SSAValue, slot: str) -> bool:
    """Whether a read of `slot` of `handle` earlier in `op`'s block (or a
    view of it) is still used after `op`: the read may borrow the storage,
    so `op` must not write the storage before that use."""
    block = op.parent_block()
    assert block is not None
    ops = list(block.ops)
    position = ops.index(op)
    for read in ops[:position]:
        if handle not in read.operands:
            continue
        reads_value = isinstance(read, storage.ReadOp) and slot == "value"
        reads_state = isinstance(read, storage.StateReadOp) and read.slot.data == slot
        if not (reads_value or reads_state):
            continue
        for view in tensor_views(read.results[0]):
            last = last_use_in(block, view)
            if last is not None and ops.index(last) > position:
                return True
    return False


def _bufferized_on_scalars(op: Operation) -> bool:
    """Whether the op's rule lowers it here even without a tensor (saving
    `save_csv 1.0, "o.csv";` in a function with no tensor)."""
    rule = rule_of(op)
    return rule is not None and rule.scalars_bufferized


class Bufferizer:
    def __init__(
        self,
        module: ModuleOp,
        runtime: Runtime,
        fuse_elementwise: bool = True,
        update_in_place: bool = True,
    ):
        self.module = module
        self.runtime = runtime
        self.fuse_elementwise = fuse_elementwise
        """Compute elementwise producers inline in their consumer, and let
        matmuls read a transpose's source, instead of storing them."""
        self.update_in_place = update_in_place
        """Let parameter reads borrow the storage and elementwise values be
        computed straight into the storage they are written to."""
        self.buffers: dict[SSAValue, SSAValue] = {}
        self.owner: dict[SSAValue, Block] = {}
        """memref value -> the block owning it"""
        self.fused: set[Operation] = set()
        self.converted: list[Operation] = []
        self.entry: Block | None = None
        self.function_end: list[Callable[[NomaBuilder], None]] = []
        """emitters of what runs before the function's return (releasing
        parameters and buffers)"""
        self.storage = StorageCells(self)
        self.in_place: set[SSAValue] = set()
        """Tensor values computed directly into the storage they are written to."""
        self.views: dict[SSAValue, StridedView] = {}
        """Strided views (`views.py`) -> where their elements lie in their base."""

    # -- bookkeeping -----------------------------------------------------------

    def entry_builder(self, op: Operation) -> NomaBuilder:
        """Inserts at the start of the function's entry block: stack arrays
        and cells live there, so that a loop does not grow the stack."""
        assert self.entry is not None
        return NomaBuilder(InsertPoint.at_start(self.entry), op.location)

    def fusible_producer(self, value: SSAValue) -> Operation | None:
        """The op its consumers compute `value` with inline, if fusing."""
        return fusible_producer(value) if self.fuse_elementwise else None

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
            _has_tensors(op) or uses_tensor_storage(op) or _bufferized_on_scalars(op) for op in f.walk()
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
        rule = rule_of(op)
        if rule is not None and rule.scalars_bufferized:
            self.apply(rule, op)
            return
        if not _has_tensors(op) and not uses_tensor_storage(op):
            return
        if op.results and self.fusible_producer(op.results[0]) is op:
            return  # computed inline by its consumers
        if self.transpose_read_by_matmuls(op):
            return  # its matmuls read the source with swapped indices
        self.lower_tensor_op(op)

    def transpose_read_by_matmuls(self, op: Operation) -> bool:
        """Whether `op` is a transpose whose matmuls read its source with
        swapped indices instead: all its users are matmuls and the source
        is a row-major buffer (noma-lower-matmul's kernels take no views)."""
        if not self.fuse_elementwise or not isinstance(op, tops.TransposeOp):
            return False
        if not all(isinstance(u.operation, tops.MatmulOp) for u in op.result.uses):
            return False
        source = self.buffer(op.source).type
        return isinstance(source, MemRefType) and isinstance(source.layout, NoneAttr)

    def lower_tensor_op(self, op: Operation) -> None:
        match op:
            case arith.ConstantOp():
                self._replace(op, self.constant(LoopLowering(self, op), op))
            case func.CallOp():
                self.call(op)
            case _:
                rule = rule_of(op)
                if rule is None or rule.on_tensors is None:
                    raise cannot_lower(op)
                self.apply(rule, op)

    def apply(self, rule: LoopsRule, op: Operation) -> None:
        """Build the op's loops by its rule, just before it; the op goes
        when its block is done."""
        assert rule.on_tensors is not None
        result = rule.on_tensors(LoopLowering(self, op), op)
        if result is not None:
            self._replace(op, result)
        else:
            self.converted.append(op)

    def write_through_target(self, op: Operation, b: NomaBuilder) -> SSAValue | None:
        """The parameter storage an elementwise value can be computed into
        directly, instead of into a temporary copied there by a later write:
        the value is written to that storage (of its very type) once, nothing
        between the value and the write touches the storage, and nothing
        writes the storage again while the value is still used. The loop
        writes each element right after reading the same element, so the
        storage may also be one of its inputs."""
        if not self.update_in_place:
            return None
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
        lw = LoopLowering(self, op)
        if any(self.buffer(leaf) in self.views for o in op.operands for leaf in lw.leaves(o)):
            return None  # a view may read the storage at elements already written
        ops = list(block.ops)
        last = last_use_in(block, value)
        end = ops.index(last) if last is not None else ops.index(write)
        for other in ops[ops.index(op) + 1 : end + 1]:
            if other is not write and touches_storage(other, handle, slot):
                return None
        if _read_used_after(op, handle, slot):
            return None  # that read may be the storage itself, changed by then
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
        """Make the terminator hand on only buffers the block owns, each
        once: a borrowed or repeated one is copied first. Freeing the rest
        is `noma-deallocate`'s work."""
        owned = {v for v, owner in self.owner.items() if owner is block}
        for value in owned:
            del self.owner[value]
        terminator = block.last_op
        if terminator is None or not terminator.has_trait(IsTerminator):
            return
        transferred: set[SSAValue] = set()
        operands = list(terminator.operands)
        for i, value in enumerate(operands):
            if not isinstance(value.type, MemRefType):
                continue
            if value in owned and value not in transferred:
                transferred.add(value)
            else:
                operands[i] = copy_before(terminator, value)
        terminator.operands = tuple(operands)


@dataclass(frozen=True)
class BufferizePass(ModulePass):
    """Tensors to memrefs with ownership, tensor ops to loop nests by their
    rules; scalar `noma` ops are left as they are."""

    name = "noma-bufferize"

    fuse_elementwise: bool = True
    update_in_place: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        Bufferizer(op, Runtime(op), self.fuse_elementwise, self.update_in_place).run()
