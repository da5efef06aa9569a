"""`cf` -> `llvm` (ControlFlowToLLVM): branches keep their block arguments, whose
types are converted (index -> i64, memref -> descriptor struct) on the way."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import cf, llvm
from xdsl.ir import Block, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from noma.lowering.to_llvm.types import cast, convert_block_arguments, to_llvm


def successor_operands(
    op: Operation, dest: Block, values: Sequence[SSAValue], rewriter: PatternRewriter
) -> list[SSAValue]:
    """`values` converted to the (converted) argument types of `dest`."""
    convert_block_arguments(dest, rewriter)
    return [
        cast(to_llvm(v, op, rewriter), arg.type, rewriter)
        for v, arg in zip(values, dest.args, strict=True)
    ]


class BranchLowering(RewritePattern):
    """`cf.br ^bb1(%i : index)` -> `llvm.br ^bb1(%i : i64)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: cf.BranchOp, rewriter: PatternRewriter) -> None:
        args = successor_operands(op, op.successor, op.arguments, rewriter)
        rewriter.replace(op, llvm.BrOp(op.successor, *args))


class CondBranchLowering(RewritePattern):
    """`cf.cond_br %c, ^bb1(%a : index), ^bb2` -> `llvm.cond_br %c, ^bb1(%a : i64), ^bb2`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: cf.ConditionalBranchOp, rewriter: PatternRewriter) -> None:
        then_args = successor_operands(op, op.then_block, op.then_arguments, rewriter)
        else_args = successor_operands(op, op.else_block, op.else_arguments, rewriter)
        new = llvm.CondBrOp(op.cond, op.then_block, then_args, op.else_block, else_args)
        rewriter.replace(op, new)


CF_PATTERNS: tuple[RewritePattern, ...] = (
    BranchLowering(),
    CondBranchLowering(),
)
