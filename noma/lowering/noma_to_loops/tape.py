"""Loops of the autodiff tape ops (`dialects/noma/tape.py`): the tape is a
runtime object (an i64 handle) holding the f64 values a reverse sweep pops
in the opposite order.

    %t = noma.tape_new : !noma.tape  -> %h = func.call @noma_tape_new() : () -> i64
                                        %t = builtin.unrealized_conversion_cast %h : i64 to !noma.tape
"""

from __future__ import annotations

from xdsl.dialects.builtin import UnrealizedConversionCastOp
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import tape
from noma.dialects.noma.builder import NomaBuilder
from noma.frontend.diagnostics import NomaError
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import Runtime


def _handle(tape_value: SSAValue) -> SSAValue | None:
    """The runtime handle behind a lowered tape, or None if the tape is not
    lowered yet."""
    owner = tape_value.owner
    return owner.inputs[0] if isinstance(owner, UnrealizedConversionCastOp) else None


def _builder(op: Operation) -> NomaBuilder:
    return NomaBuilder(InsertPoint.before(op), op.location)


def _new(op: tape.TapeNewOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    handle = runtime.call(_builder(op), "noma_tape_new", [], op.location).results[0]
    rewriter.replace(op, UnrealizedConversionCastOp.get([handle], [op.tape.type]))


def _push(op: tape.TapePushOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    handle = _handle(op.tape)
    if handle is not None:
        runtime.call(_builder(op), "noma_tape_push", [handle, op.value], op.location)
        rewriter.erase(op)


def _pop(op: tape.TapePopOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    handle = _handle(op.tape)
    if handle is not None:
        call = runtime.call(_builder(op), "noma_tape_pop", [handle], op.location)
        rewriter.replace(op, [], [call.results[0]])


def _free(op: tape.TapeFreeOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    handle = _handle(op.tape)
    if handle is not None:
        runtime.call(_builder(op), "noma_tape_free", [handle], op.location)
        rewriter.erase(op)


def _tensor_values(lw: LoopLowering, op: tape.TapePushOp | tape.TapePopOp) -> None:
    raise NomaError.at_op(op, "autodiff: loops carrying tensors are not supported yet")


RULES = {
    tape.TapeNewOp: LoopsRule(on_scalars=_new),
    tape.TapePushOp: LoopsRule(on_tensors=_tensor_values, on_scalars=_push),
    tape.TapePopOp: LoopsRule(on_tensors=_tensor_values, on_scalars=_pop),
    tape.TapeFreeOp: LoopsRule(on_scalars=_free),
}
