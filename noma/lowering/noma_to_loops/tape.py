"""Loops of the autodiff tape ops (`dialects/noma/tape.py`): the tape is a
runtime object (an i64 handle) holding the f64 values a reverse sweep pops
in the opposite order.

    %t = noma.tape_new : !noma.tape  -> %h = func.call @noma_tape_new() : () -> i64
                                        %t = builtin.unrealized_conversion_cast %h : i64 to !noma.tape
    noma.tape_push %t, %x : f64      -> func.call @noma_tape_push(%h, %x) : (i64, f64) -> ()

A tensor is pushed by value: the runtime copies its elements (a flat view of
its buffer) onto the tape, then the tensor's dynamic dimensions follow as
f64 values; a pop takes the dimensions back, allocates a new buffer (owned
by the popping block, freed after its last use like any temporary) and has
the runtime copy the elements into it:

    noma.tape_push %t, %v : tensor<?x8xf64>
      -> func.call @noma_tape_push_array(%h, %flat_v) : (i64, memref<?xf64>) -> ()
         func.call @noma_tape_push(%h, %rows_as_f64) : (i64, f64) -> ()
    %w = noma.tape_pop %t : tensor<?x8xf64>
      -> %rows_as_f64 = func.call @noma_tape_pop(%h) : (i64) -> f64
         %w = memref.alloc(%rows) : memref<?x8xf64>
         func.call @noma_tape_pop_array(%h, %flat_w) : (i64, memref<?xf64>) -> ()

Copying (rather than keeping the pushed buffer alive) is what makes the
tape independent of bufferization: the forward loop frees or reuses the
buffer of each iteration's tensor as it always does (in-place updates
included), and nothing the tape holds can be overwritten. The runtime frees
the copies with the tape (`noma.tape_free`, after the reverse loop).

`tape_new` is lowered during bufferization (`scalars_bufferized`), so that
the tensor pushes and pops lowered there find the runtime handle.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IndexType,
    UnrealizedConversionCastOp,
    f64,
    i64,
)
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import tape
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import shape_of
from noma.diagnostics import NomaError
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import FLAT, Runtime


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


def _new_on_tensors(lw: LoopLowering, op: tape.TapeNewOp) -> SSAValue:
    """`tape_new` in a bufferized function: the handle, cast to the tape type
    (its uses are replaced by the bufferizer)."""
    handle = lw.runtime.call(lw.b, "noma_tape_new", [], op.location).results[0]
    return lw.b.insert(UnrealizedConversionCastOp.get([handle], [op.tape.type])).results[0]


def _lowered_handle(op: tape.TapePushOp | tape.TapePopOp) -> SSAValue:
    handle = _handle(op.tape)
    if handle is None:
        raise NomaError.at_op(op, f"cannot lower '{op.name}' of a tensor: its tape is not lowered")
    return handle


def _flat(lw: LoopLowering, buffer: SSAValue, dims: list[SSAValue]) -> SSAValue:
    """`buffer` (identity layout) as a flat `memref<?xf64>` of its elements."""
    count = lw.index_constant(1)
    for d in dims:
        count = lw.b.insert(arith.MuliOp(count, d)).result
    cast = memref.ReinterpretCastOp(buffer, [], [count], [], [0], [DYNAMIC_INDEX], [1], FLAT)
    return lw.b.insert(cast).results[0]


def _dynamic_axes(value: SSAValue) -> list[int]:
    return [axis for axis, d in enumerate(shape_of(value.type)) if d is None]


def _push_tensor(lw: LoopLowering, op: tape.TapePushOp) -> None:
    """The elements, then the dynamic dimensions (popped first)."""
    handle = _lowered_handle(op)
    dims = lw.dims(op.value)
    flat = _flat(lw, lw.buffer(op.value), dims)
    lw.runtime.call(lw.b, "noma_tape_push_array", [handle, flat], op.location)
    for axis in _dynamic_axes(op.value):
        as_int = lw.b.insert(arith.IndexCastOp(dims[axis], i64)).result
        as_f64 = lw.b.insert(arith.SIToFPOp(as_int, f64)).result
        lw.runtime.call(lw.b, "noma_tape_push", [handle, as_f64], op.location)


def _pop_tensor(lw: LoopLowering, op: tape.TapePopOp) -> SSAValue:
    """A new buffer of the pushed shape holding the pushed elements."""
    handle = _lowered_handle(op)
    popped: dict[int, SSAValue] = {}
    for axis in reversed(_dynamic_axes(op.value)):
        as_f64 = lw.runtime.call(lw.b, "noma_tape_pop", [handle], op.location).results[0]
        as_int = lw.b.insert(arith.FPToSIOp(as_f64, i64)).result
        popped[axis] = lw.b.insert(arith.IndexCastOp(as_int, IndexType())).result
    dims = [
        popped[axis] if extent is None else lw.index_constant(extent)
        for axis, extent in enumerate(shape_of(op.value.type))
    ]
    out = lw.alloc(op.value.type, dims)
    flat = _flat(lw, out, dims)
    lw.runtime.call(lw.b, "noma_tape_pop_array", [handle, flat], op.location)
    return out


RULES = {
    tape.TapeNewOp: LoopsRule(on_tensors=_new_on_tensors, on_scalars=_new, scalars_bufferized=True),
    tape.TapePushOp: LoopsRule(on_tensors=_push_tensor, on_scalars=_push),
    tape.TapePopOp: LoopsRule(on_tensors=_pop_tensor, on_scalars=_pop),
    tape.TapeFreeOp: LoopsRule(on_scalars=_free),
}
