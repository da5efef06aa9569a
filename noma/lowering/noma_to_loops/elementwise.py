"""Loops of the elementwise ops (`dialects/noma/elementwise.py`).

On f64 scalars an op is its own `lower_scalar` (its meaning in arith/math):
`noma.add %a, %b : f64, f64 -> f64` -> `arith.addf %a, %b : f64`. On tensors
it is one loop applying `lower_scalar` to each element, computing inline the
elementwise producers fused into it, and writing straight into parameter
storage when the value is only stored there (see
`Bufferizer.write_through_target`).
"""

from __future__ import annotations

from xdsl.dialects.builtin import Float64Type
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.elementwise import BINARY_OPS, UNARY_OPS
from noma.dialects.noma.interfaces import ScalarLowerable
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule, rules_for
from noma.lowering.noma_to_loops.runtime import Runtime


def _on_tensors(lw: LoopLowering, op: Operation) -> SSAValue:
    target = lw.bz.write_through_target(op, lw.b)
    result = lw.elementwise(op, target) if target is not None else lw.elementwise(op)
    if target is not None and result is target:
        lw.bz.in_place.add(op.results[0])
    return result


def _is_scalar_op(op: Operation) -> bool:
    types = [v.type for v in (*op.operands, *op.results)]
    return all(isinstance(t, Float64Type) for t in types)


def _on_scalars(op: ScalarLowerable, rewriter: PatternRewriter, _runtime: Runtime) -> None:
    assert isinstance(op, Operation)
    if not _is_scalar_op(op):
        return
    result = op.lower_scalar(NomaBuilder(InsertPoint.before(op), op.location), op.operands)
    rewriter.replace(op, [], [result])


RULES = rules_for((*BINARY_OPS, *UNARY_OPS), LoopsRule(on_tensors=_on_tensors, on_scalars=_on_scalars))
