"""The `noma-hoist-temporaries` pass: a loop's temporaries allocated once.

A buffer of static shape allocated in a loop body and freed in the same
block (a temporary of one iteration, as bufferization leaves it) becomes one
allocation at the function's entry, reused by every iteration: on the stack
(`memref.alloca`) while it is small and the function's stack budget lasts,
else on the heap, freed before the function returns. So a training step
allocates nothing at all.

    scf.for ... {                          %t = memref.alloca() : memref<4x16xf64>
      %t = memref.alloc() : ...       ->   scf.for ... {
      ... use %t ...                         ... use %t ...
      memref.dealloc %t : ...              }
    }

A temporary of dynamic shape keeps one buffer per allocation site from one
iteration to the next, grown when an iteration needs more (`scratch.py`),
so that once shapes stop growing a step allocates nothing.

Options: `stack-buffer-bytes` (largest buffer put on the stack, 0 keeps every
hoisted buffer on the heap), `stack-function-bytes` (stack budget of one
function) and `reuse-dynamic` (the dynamic-shape reuse; default true). Functions of more than one block are left alone (no single
return to free heap buffers before).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import Attribute
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma.shapes import num_elements
from noma.lowering.noma_to_loops.buffers import in_loop
from noma.lowering.noma_to_loops.flat_views import entry_and_return
from noma.lowering.noma_to_loops.scratch import reuse_across_iterations

STACK_BUFFER_BYTES = 16 * 1024
"""Hoisted temporaries up to this size live on the stack."""
STACK_FUNCTION_BYTES = 256 * 1024
"""At most this much stack per function for hoisted temporaries."""


def _element_bytes(t: Attribute) -> int | None:
    bitwidth = getattr(t, "bitwidth", None)
    return bitwidth // 8 if isinstance(bitwidth, int) and bitwidth % 8 == 0 else None


def hoist_temporaries(
    f: func.FuncOp, stack_buffer_bytes: int, stack_function_bytes: int, reuse_dynamic: bool = True
) -> None:
    ends = entry_and_return(f)
    if ends is None:
        return
    entry, terminator = ends
    stack_bytes = 0
    for alloc in [op for op in f.walk() if isinstance(op, memref.AllocOp)]:
        t = alloc.memref.type
        assert isinstance(t, MemRefType)
        element_bytes = _element_bytes(t.get_element_type())
        if alloc.symbol_operands or element_bytes is None or not in_loop(alloc):
            continue
        deallocs = [
            u.operation for u in alloc.memref.uses if isinstance(u.operation, memref.DeallocOp)
        ]
        if len(deallocs) != 1 or deallocs[0].parent_block() is not alloc.parent_block():
            continue
        if alloc.dynamic_sizes:
            if reuse_dynamic:
                assert isinstance(deallocs[0], memref.DeallocOp)
                reuse_across_iterations(alloc, deallocs[0], entry, terminator)
            continue
        size = element_bytes * (num_elements(tuple(t.get_shape())) or 0)
        deallocs[0].detach()
        deallocs[0].erase()
        alloc.detach()
        if size <= stack_buffer_bytes and stack_bytes + size <= stack_function_bytes:
            stack_bytes += size
            alloca = memref.AllocaOp.get(t.get_element_type(), shape=t.get_shape())
            alloca.location = alloc.location
            Rewriter.insert_op(alloca, InsertPoint.at_start(entry))
            alloc.memref.replace_all_uses_with(alloca.memref)
            alloc.erase()
        else:
            Rewriter.insert_op(alloc, InsertPoint.at_start(entry))
            Rewriter.insert_op(memref.DeallocOp.get(alloc.memref), InsertPoint.before(terminator))


@dataclass(frozen=True)
class HoistTemporariesPass(ModulePass):
    """Allocate loop temporaries of static shape once, at function entry."""

    name = "noma-hoist-temporaries"

    stack_buffer_bytes: int = STACK_BUFFER_BYTES
    stack_function_bytes: int = STACK_FUNCTION_BYTES
    reuse_dynamic: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for f in op.ops:
            if isinstance(f, func.FuncOp) and f.body.blocks:
                hoist_temporaries(
                    f, self.stack_buffer_bytes, self.stack_function_bytes, self.reuse_dynamic
                )
