"""Canonicalization patterns of the elementwise ops: algebraic identities
that are exact in IEEE arithmetic, so `canonicalize` may apply them freely.
They mostly tidy gradient code (the reverse sweep starts from `1.0 * ...`).

    noma.mul %x, 1.0   -> %x        noma.div %x, 1.0   -> %x
    noma.mul 1.0, %x   -> %x        noma.sub %x, 0.0   -> %x
    noma.neg (noma.neg %x) -> %x

(`x + 0.0 -> x` is not among them: it is wrong for `x = -0.0`.) A rewrite
applies only when the kept operand already has the result's type, so a
broadcast is never dropped.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern
from xdsl.traits import HasCanonicalizationPatternsTrait


def _is_constant(value: SSAValue, number: float) -> bool:
    owner = value.owner
    return (
        isinstance(owner, arith.ConstantOp)
        and isinstance(owner.value, FloatAttr)
        and owner.value.value.data == number
    )


class DropIdentityOperand(RewritePattern):
    """`x * 1`, `1 * x`, `x / 1`, `x - 0` -> `x`."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        from noma.dialects.noma.elementwise import DivOp, MulOp, SubOp

        if len(op.operands) != 2 or len(op.results) != 1:
            return
        lhs, rhs = op.operands
        kept: SSAValue | None = None
        if isinstance(op, MulOp):
            if _is_constant(rhs, 1.0):
                kept = lhs
            elif _is_constant(lhs, 1.0):
                kept = rhs
        elif isinstance(op, DivOp) and _is_constant(rhs, 1.0):
            kept = lhs
        elif isinstance(op, SubOp) and _is_constant(rhs, 0.0):
            kept = lhs
        if kept is not None and kept.type == op.results[0].type:
            rewriter.replace(op, [], [kept])


class DoubleNegation(RewritePattern):
    """`-(-x)` -> `x`."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        from noma.dialects.noma.elementwise import NegOp

        if isinstance(op, NegOp) and isinstance(op.operand.owner, NegOp):
            rewriter.replace(op, [], [op.operand.owner.operand])


class IdentityCanonicalization(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        return (DropIdentityOperand(), DoubleNegation())
