"""Loops of the creation ops (`dialects/noma/creation.py`): dimensions,
filled and random tensors, and the overlap copy that growth uses.

`noma.random` draws from the runtime's generator: one call for a scalar,
one per element, in row-major order, for a tensor.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import f64
from xdsl.ir import SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import creation
from noma.dialects.noma.builder import NomaBuilder
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import Runtime


def _generator(op: creation.RandomOp) -> str:
    """The runtime function drawing one number of the op's distribution."""
    return "noma_rng_normal" if op.distribution.data == "normal" else "noma_rng_uniform_range"


def _dim(lw: LoopLowering, op: creation.DimOp) -> SSAValue:
    return lw.index_as_f64(lw.b, lw.dims(op.source)[op.axis.value.data])


def _fill(lw: LoopLowering, op: creation.FillOp) -> SSAValue:
    return lw.fill_value(op.result.type, op.dims, lambda b: op.value)


def _random_on_tensors(lw: LoopLowering, op: creation.RandomOp) -> SSAValue:
    """Draws from the runtime's generator, in row-major order."""
    name = _generator(op)

    def draw(b: NomaBuilder) -> SSAValue:
        return lw.runtime.call(b, name, [op.a, op.b], op.location).results[0]

    return lw.fill_value(op.result.type, op.dims, draw)


def _insert_overlap(lw: LoopLowering, op: creation.InsertOverlapOp) -> SSAValue:
    """A copy of the destination with the shared index block copied from
    the source."""
    out = lw.copy(op.dest)
    source = lw.buffer(op.source)
    block = []
    for s, d in zip(lw.dims(op.source), lw.dims(op.dest), strict=True):
        smaller = lw.b.insert(arith.CmpiOp(s, d, "ult")).result
        block.append(lw.b.insert(arith.SelectOp(smaller, s, d)).result)

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        value = b.insert(memref.LoadOp.get(source, ivs)).res
        b.insert(memref.StoreOp.get(value, out, ivs))

    lw.loop_nest(block, body)
    return out


def _random_on_scalars(op: creation.RandomOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    if op.result.type != f64:
        return
    b = NomaBuilder(InsertPoint.before(op), op.location)
    call = runtime.call(b, _generator(op), [op.a, op.b], op.location)
    rewriter.replace(op, [], [call.results[0]])


RULES = {
    creation.DimOp: LoopsRule(on_tensors=_dim),
    creation.FillOp: LoopsRule(on_tensors=_fill),
    creation.RandomOp: LoopsRule(on_tensors=_random_on_tensors, on_scalars=_random_on_scalars),
    creation.InsertOverlapOp: LoopsRule(on_tensors=_insert_overlap),
}
