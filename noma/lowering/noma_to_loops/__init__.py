"""The `convert-noma-to-loops` pass (alias `noma-to-loops` for the pipeline up
to the `loops` stage): from the `noma` dialect to upstream dialects only
(func, arith, math, scf, cf, memref), the contract of the `loops` stage that
upstream `mlir-opt` can verify and lower on its own.

It runs six passes, each usable alone in `noma-opt`:

1. `noma-bufferize` (`bufferize.py`): tensors become memrefs with ownership,
   tensor ops loop nests, with elementwise fusion and in-place parameter
   updates;
2. `noma-deallocate` (`deallocate.py`): every owned buffer freed after its
   last use in the block owning it;
3. `noma-inline-calls` (`inline_calls.py`): calls of the module's own
   functions replaced by their bodies, so that their temporaries become the
   caller's;
4. `noma-hoist-temporaries` (`hoist.py`): loop temporaries of static shape
   allocated once, at function entry;
5. `noma-recycle-carried-buffers` (`recycle.py`): a tensor carried by a
   loop alternates between two buffers instead of allocating one per
   iteration;
6. `convert-noma-scalars-to-loops` (`scalars.py`): what is left on scalars,
   and a located error for any `noma` op still left.

Each op's lowering is its `LoopsRule` (`rule.py`), in the module mirroring
the op's dialect file, found through the one table of `registry.py`. The
options of the passes are options of this one too.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from noma.lowering.noma_to_loops.bufferize import Bufferizer
from noma.lowering.noma_to_loops.deallocate import DeallocatePass
from noma.lowering.noma_to_loops.hoist import (
    STACK_BUFFER_BYTES,
    STACK_FUNCTION_BYTES,
    HoistTemporariesPass,
)
from noma.lowering.noma_to_loops.inline_calls import MAX_OPS, InlineCallsPass
from noma.lowering.noma_to_loops.recycle import RecycleCarriedBuffersPass
from noma.lowering.noma_to_loops.runtime import Runtime
from noma.lowering.noma_to_loops.scalars import lower_scalars


@dataclass(frozen=True)
class ConvertNomaToLoopsPass(ModulePass):
    """Lower the `noma` dialect to func, arith, math, scf, cf and memref."""

    name = "convert-noma-to-loops"

    fuse_elementwise: bool = True
    update_in_place: bool = True
    stack_buffer_bytes: int = STACK_BUFFER_BYTES
    stack_function_bytes: int = STACK_FUNCTION_BYTES
    max_ops: int = MAX_OPS
    reuse_dynamic: bool = True
    recycle_carried: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        # One runtime for the first and last steps: what the first declares, the last
        # need not find again by scanning the module.
        runtime = Runtime(op)
        Bufferizer(op, runtime, self.fuse_elementwise, self.update_in_place).run()
        DeallocatePass().apply(ctx, op)
        InlineCallsPass(self.max_ops).apply(ctx, op)
        HoistTemporariesPass(
            self.stack_buffer_bytes, self.stack_function_bytes, self.reuse_dynamic
        ).apply(ctx, op)
        if self.recycle_carried:
            RecycleCarriedBuffersPass().apply(ctx, op)
        lower_scalars(op, runtime)
