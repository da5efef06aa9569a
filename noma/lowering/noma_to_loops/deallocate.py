"""The `noma-deallocate` pass: every buffer a block owns is freed right after
its last use in that block, unless the block hands it on.

Ownership is read from the IR, by the rules `noma-bufferize` builds it with
(in the spirit of MLIR's ownership-based buffer deallocation, without
run-time ownership flags: the rules make every owner static):

- a block owns the memrefs it creates: `memref.alloc` results that nothing
  frees or stores elsewhere already, and the memref results of `func.call`
  (a callee hands its results over) and of `scf.if` / `scf.for` /
  `scf.while` (a region hands what it yields over);
- the block of an `scf` region owns the memrefs it receives as block
  arguments (a loop owns what it carries);
- function arguments, `memref.get_global`, views and everything loaded from
  memory are borrowed, never freed here;
- a block hands a buffer on by passing it to its terminator (`scf.yield`,
  `scf.condition`, `func.return`) or as the initial value of a loop, which
  then owns it. A buffer handed on must not be used after that op.

    %a = memref.alloc() : memref<4xf64>      %a = memref.alloc() : memref<4xf64>
    %b = memref.alloc() : memref<4xf64>      %b = memref.alloc() : memref<4xf64>
    "use"(%a, %b)                      ->    "use"(%a, %b)
    func.return %b : memref<4xf64>           memref.dealloc %a : memref<4xf64>
                                             func.return %b : memref<4xf64>

A buffer that already has a `memref.dealloc` is managed by whoever wrote it
(parameter storage, freed when its function returns), so running the pass
twice frees nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, memref, scf
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import IsTerminator

from noma.diagnostics import NomaError
from noma.lowering.noma_to_loops.buffers import last_use_in

_HANDING_OVER_RESULTS = (func.CallOp, scf.IfOp, scf.ForOp, scf.WhileOp)
"""Ops whose memref results are new buffers their block owns."""


def _is_buffer(value: SSAValue) -> bool:
    return isinstance(value.type, MemRefType)


def _managed_elsewhere(value: SSAValue) -> bool:
    """Freed already, or stored into memory (a parameter's cell) that owns it."""
    for use in value.uses:
        if isinstance(use.operation, memref.DeallocOp):
            return True
        if isinstance(use.operation, memref.StoreOp) and use.index == 0:
            return True
    return False


def owned_buffers(block: Block) -> Iterator[SSAValue]:
    """The buffers `block` owns, in the order they come into being."""
    parent = block.parent_op()
    if isinstance(parent, scf.IfOp | scf.ForOp | scf.WhileOp):
        yield from (a for a in block.args if _is_buffer(a) and not _managed_elsewhere(a))
    for op in block.ops:
        if isinstance(op, (memref.AllocOp, *_HANDING_OVER_RESULTS)):
            yield from (r for r in op.results if _is_buffer(r) and not _managed_elsewhere(r))


def handed_over_by(value: SSAValue, block: Block) -> Operation | None:
    """The op of `block` that takes `value` over: its terminator, or a loop
    it starts. None when the block keeps it."""
    for use in value.uses:
        op = use.operation
        if op.parent_block() is not block:
            continue
        if op.has_trait(IsTerminator):
            return op
        if isinstance(op, scf.WhileOp):
            return op
        if isinstance(op, scf.ForOp) and use.index >= 3:  # past lb, ub, step
            return op
    return None


def free_owned_buffers(block: Block) -> None:
    """Free each buffer `block` owns and keeps, after its last use."""
    for value in list(owned_buffers(block)):
        last = last_use_in(block, value)
        taker = handed_over_by(value, block)
        if taker is not None:
            if last is not taker:
                raise NomaError.at_op(
                    taker, "noma-deallocate: a buffer is used after this op takes it over"
                )
            continue
        if last is None:
            # Never used: freed where it comes into being.
            defining = value.owner
            point = (
                InsertPoint.after(defining)
                if isinstance(defining, Operation)
                else InsertPoint.at_start(block)
            )
        elif last is block.last_op:
            point = InsertPoint.before(last)  # the terminator reads a view of it
        else:
            point = InsertPoint.after(last)
        Rewriter.insert_op(memref.DeallocOp.get(value), point)


@dataclass(frozen=True)
class DeallocatePass(ModulePass):
    """Free every owned buffer after its last use in the block owning it."""

    name = "noma-deallocate"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        blocks = [
            block
            for f in op.ops
            if isinstance(f, func.FuncOp)
            for region_op in f.walk()
            for region in region_op.regions
            for block in region.blocks
        ]
        for block in blocks:
            free_owned_buffers(block)
