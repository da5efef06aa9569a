"""Activity analysis: which values vary with the parameters.

A value is *varied* when it depends, through data flow, on a parameter
handle. Only varied values get adjoints, so the reverse sweep emits no code
for constants, loop counters or conditions. Integer and boolean values are
never varied: they carry no derivative.

The analysis walks nested regions, so block arguments and values inside
`scf.if` / `scf.while` bodies are classified too; loop-carried values need a
fixed point, since an iteration may make a carried value depend on another.
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.dialects import scf
from xdsl.dialects.builtin import Float64Type, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from noma.dialects.noma.types import ParamType


def is_differentiable_type(t: Attribute) -> bool:
    return isinstance(t, Float64Type | TensorType | ParamType)


class Activity:
    def __init__(self, seeds: Iterable[SSAValue]):
        self.varied: set[SSAValue] = {v for v in seeds if is_differentiable_type(v.type)}

    def __contains__(self, value: SSAValue) -> bool:
        return value in self.varied

    def mark(self, value: SSAValue) -> bool:
        """Mark `value` varied; True if that is news."""
        if value in self.varied or not is_differentiable_type(value.type):
            return False
        self.varied.add(value)
        return True

    def analyze(self, ops: Iterable[Operation]) -> None:
        for op in ops:
            self._analyze_op(op)

    def _analyze_op(self, op: Operation) -> None:
        if isinstance(op, scf.IfOp):
            self._analyze_if(op)
        elif isinstance(op, scf.WhileOp):
            self._analyze_while(op)
        elif op.regions:
            # Unknown region op: varied if anything it reads is.
            for inner in op.walk():
                if inner is not op:
                    self._analyze_op(inner)
            if any(self._uses_varied(op)):
                for r in op.results:
                    self.mark(r)
        elif any(o in self.varied for o in op.operands):
            for r in op.results:
                self.mark(r)

    def _uses_varied(self, op: Operation) -> Iterable[bool]:
        for inner in op.walk():
            for operand in inner.operands:
                yield operand in self.varied

    def _analyze_if(self, op: scf.IfOp) -> None:
        for region in (op.true_region, op.false_region):
            if not region.blocks:
                continue
            self.analyze(region.block.ops)
            terminator = region.block.last_op
            assert terminator is not None
            for result, yielded in zip(op.results, terminator.operands):
                if yielded in self.varied:
                    self.mark(result)

    def _analyze_while(self, op: scf.WhileOp) -> None:
        before, after = op.before_region.block, op.after_region.block
        for init, arg in zip(op.arguments, before.args):
            if init in self.varied:
                self.mark(arg)
        changed = True
        while changed:
            changed = False
            self.analyze(before.ops)
            condition = before.last_op
            assert isinstance(condition, scf.ConditionOp)
            for forwarded, arg, result in zip(condition.args, after.args, op.results):
                if forwarded in self.varied:
                    changed |= self.mark(arg)
                    self.mark(result)
            self.analyze(after.ops)
            terminator = after.last_op
            assert terminator is not None
            for yielded, arg in zip(terminator.operands, before.args):
                if yielded in self.varied:
                    changed |= self.mark(arg)
