"""The `legalize-growth` pass: each `noma.realloc` becomes explicit tensor
work on the storage it resizes, for the value and for every optimizer state
buffer attached to it.

    noma.realloc %W [%r, %c] init "zeros" : !noma.param<tensor<?x?xf64>>
  becomes
    %old = noma.read %W
    %same = floor(%r) == dim(%old, 0) && floor(%c) == dim(%old, 1)
    scf.if !%same {
      %fresh = noma.fill [%r, %c] %zero            // the init policy's new elements
      %new = noma.insert_overlap %old into %fresh   // old [i, j] stays at [i, j]
      noma.write %new, %W resize                    // the old buffer is released
      %m = noma.state_read %W "m"                   // moments: old ones at their
      %m2 = noma.insert_overlap %m into (noma.fill [%r, %c] %zero)   // indices,
      noma.state_write %m2, %W "m" resize           // new ones zero; likewise v
    }                                               // the step count `t` goes on

Resizing to the current shape does nothing (no random draws either). The
init policies: `default` is normal(0, 0.3) from the program's seeded
generator, `zeros`, `normal`(mean, std), `uniform`(lo, hi), and `tensor`, a
value of the full new shape whose elements outside the old block are used
(checked at run time against the new dimensions). A buffer's new elements
are zero. Bufferization turns a `resize` write into allocation of the new
shape, the copy, and release of the old buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.creation import DimOp, FillOp, InsertOverlapOp, RandomOp
from noma.dialects.noma.io import AssertOp
from noma.dialects.noma.optimizers import moment_slots
from noma.dialects.noma.storage import (
    ReadOp,
    ReallocOp,
    StateReadOp,
    StateWriteOp,
    WriteOp,
    storage_value_type,
)
from noma.dialects.noma.types import ParamType

DEFAULT_INIT = ("normal", 0.0, 0.3)
"""The default init policy of new parameter elements: normal(0, 0.3)."""


def truncated_dims(b: NomaBuilder, dims: list[SSAValue]) -> list[SSAValue]:
    """Dimensions as the program gives them, truncated toward zero (a
    dimension below 1 is reported when the new storage is made)."""
    return [b.unary(ew.FloorOp, d) for d in dims]


def same_shape(b: NomaBuilder, value: SSAValue, dims: list[SSAValue]) -> SSAValue:
    """An i1: whether `value` already has dimensions `dims`."""
    same: SSAValue | None = None
    for axis, d in enumerate(dims):
        current = b.insert(DimOp(value, axis)).result
        equal = b.insert(arith.CmpfOp(d, current, "oeq")).result
        same = equal if same is None else b.insert(arith.AndIOp(same, equal)).result
    assert same is not None, "storage that can be resized has rank 1 or more"
    return same


def new_elements(b: NomaBuilder, op: ReallocOp, dims: list[SSAValue]) -> SSAValue:
    """A tensor of the new shape holding the init policy's values."""
    result_type = storage_value_type(op.handle.type)
    policy = op.init.data
    if not isinstance(op.handle.type, ParamType) or policy == "zeros":
        return b.insert(FillOp(dims, b.constant(0.0), result_type)).result
    if policy == "tensor":
        (init,) = op.init_args
        for axis, d in enumerate(dims):
            size = b.insert(DimOp(init, axis)).result
            ok = b.insert(arith.CmpfOp(size, d, "oeq")).result
            b.insert(
                AssertOp(
                    ok,
                    f"the init tensor has size {{0}} along axis {axis}, the new shape {{1}}",
                    [size, d],
                )
            )
        return init
    if policy == "default":
        distribution, a, s = DEFAULT_INIT
        args = [b.constant(a), b.constant(s)]
    else:
        distribution, args = policy, list(op.init_args)
    return b.insert(RandomOp(distribution, dims, args[0], args[1], result_type)).result


def resized(b: NomaBuilder, old: SSAValue, fresh: SSAValue) -> SSAValue:
    return b.insert(InsertOverlapOp(old, fresh)).result


class LegalizeRealloc(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReallocOp, rewriter: PatternRewriter) -> None:
        b = NomaBuilder(InsertPoint.before(op), op.location)
        dims = truncated_dims(b, list(op.dims))
        old = b.insert(ReadOp(op.handle)).value
        same = same_shape(b, old, dims)

        work = Block()
        wb = NomaBuilder(InsertPoint.at_end(work), op.location)
        wb.insert(WriteOp(resized(wb, old, new_elements(wb, op, dims)), op.handle, resize=True))
        if isinstance(op.handle.type, ParamType):
            # The moments are shaped like the parameter; the step count goes on.
            for slot in moment_slots():
                moments = wb.insert(StateReadOp(op.handle, slot)).value
                zeros = wb.insert(FillOp(dims, wb.constant(0.0), moments.type)).result
                wb.insert(StateWriteOp(resized(wb, moments, zeros), op.handle, slot, resize=True))
        wb.insert(scf.YieldOp())
        keep = Block()
        NomaBuilder(InsertPoint.at_end(keep), op.location).insert(scf.YieldOp())
        b.insert(scf.IfOp(same, [], Region(keep), Region(work)))
        rewriter.erase(op)


@dataclass(frozen=True)
class LegalizeGrowthPass(ModulePass):
    """Expand `noma.realloc` into reads, new tensors and resizing writes of
    the storage and its optimizer state."""

    name = "legalize-growth"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(LegalizeRealloc(), apply_recursively=False).rewrite_module(op)
