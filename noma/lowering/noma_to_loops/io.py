"""Loops of the I/O ops (`dialects/noma/io.py`): printing, warnings and
run-time assertions become calls into the runtime.

    noma.print %x : f64                  -> func.call @noma_print_f64(%x)
    noma.print %m : tensor<2x3xf64>      -> func.call @noma_print_tensor(%flat, %shape)
    noma.progress_step %loss : f64       -> func.call @noma_progress_step(%loss)
"""

from __future__ import annotations

from xdsl.dialects.builtin import f64
from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import io
from noma.dialects.noma.builder import NomaBuilder
from noma.lowering.noma_to_loops.files import flat_and_shape
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule
from noma.lowering.noma_to_loops.runtime import Runtime, located_text


def _builder(op: Operation) -> NomaBuilder:
    return NomaBuilder(InsertPoint.before(op), op.location)


def _print_tensor(lw: LoopLowering, op: io.PrintOp) -> None:
    """`noma_print_tensor(flat data, dims)` on a flat view of the buffer."""
    flat, shape = flat_and_shape(lw, op.value)
    lw.runtime.call(lw.b, "noma_print_tensor", [flat, shape], op.location)


def _print_scalar(op: io.PrintOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    if op.value.type == f64:
        runtime.call(_builder(op), "noma_print_f64", [op.value], op.location)
        rewriter.erase(op)


def _print_string(op: io.PrintStringOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    b = _builder(op)
    runtime.call(b, "noma_print_str", [runtime.string(b, op.text.data, op.location)], op.location)
    rewriter.erase(op)


def _assert(op: io.AssertOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    message = located_text(op, "runtime error", op.text.data)
    runtime.check(_builder(op), op.condition, message, list(op.values), op.location)
    rewriter.erase(op)


def _warning(op: io.WarningOp, rewriter: PatternRewriter, runtime: Runtime) -> None:
    b = _builder(op)
    message = runtime.string(b, located_text(op, "warning", op.text.data), op.location)
    runtime.call(b, "noma_warning", [message, op.value], op.location)
    rewriter.erase(op)


def _progress(function: str) -> LoopsRule:
    """A call of the runtime's `function` with the op's operands."""

    def lower(op: Operation, rewriter: PatternRewriter, runtime: Runtime) -> None:
        runtime.call(_builder(op), function, list(op.operands), op.location)
        rewriter.erase(op)

    return LoopsRule(on_scalars=lower)


RULES = {
    io.PrintOp: LoopsRule(on_tensors=_print_tensor, on_scalars=_print_scalar),
    io.PrintStringOp: LoopsRule(on_scalars=_print_string),
    io.AssertOp: LoopsRule(on_scalars=_assert),
    io.WarningOp: LoopsRule(on_scalars=_warning),
    io.ProgressBeginOp: _progress("noma_progress_begin"),
    io.ProgressStepOp: _progress("noma_progress_step"),
    io.ProgressEndOp: _progress("noma_progress_end"),
}
