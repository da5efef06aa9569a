"""`noma-convert-scf-to-cf`: structured control flow -> branches (stage 7, first step).

xDSL's own patterns lower `scf.if`, `scf.for` and `scf.index_switch`; xDSL has
no lowering of `scf.while`, so `WhileLowering` adds it (semantics of MLIR's
SCFToControlFlow). Any `scf` op still left afterwards (`scf.parallel`,
`scf.execute_region`, ...) is a one-line error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, cf, scf
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import BlockInsertPoint, InsertPoint
from xdsl.transforms.convert_scf_to_cf import ForLowering, IfLowering, SwitchLowering

from noma.diagnostics import NomaError


class WhileLowering(RewritePattern):
    """`%r = scf.while (%x = %init) { scf.condition(%c) %v } do { ^bb(%y): scf.yield %n }`
    -> `cf.br ^before(%init)`, `^before(%x): cf.cond_br %c, ^after(%v), ^exit(%v)`,
    `^after(%y): cf.br ^before(%n)`, `^exit(%r): ...`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.WhileOp, rewriter: PatternRewriter) -> None:
        current = op.parent_block()
        if current is None:
            return
        header = op.before_region.first_block
        body = op.after_region.first_block
        if header is None or body is None:
            raise NomaError.at_op(op, "cannot lower 'scf.while': both regions need a block")
        exit_block = current.split_before(op, arg_types=op.result_types)

        for block in op.before_region.blocks:
            condition = block.last_op
            if isinstance(condition, scf.ConditionOp):
                values = tuple(condition.args)
                branch = cf.ConditionalBranchOp(
                    condition.condition, body, values, exit_block, values
                )
                rewriter.replace(condition, branch)
        for block in op.after_region.blocks:
            yield_op = block.last_op
            if isinstance(yield_op, scf.YieldOp):
                rewriter.replace(yield_op, cf.BranchOp(header, *yield_op.arguments))

        rewriter.inline_region(op.before_region, BlockInsertPoint.before(exit_block))
        rewriter.inline_region(op.after_region, BlockInsertPoint.before(exit_block))
        rewriter.insert(cf.BranchOp(header, *op.arguments), InsertPoint.at_end(current))
        rewriter.replace(op, [], exit_block.args)


@dataclass(frozen=True)
class ConvertScfToCfPass(ModulePass):
    """scf.if / scf.for / scf.index_switch (xDSL's patterns) and scf.while -> cf."""

    # Not xDSL's `convert-scf-to-cf` (which has no scf.while): a name of its
    # own, so that noma-opt and xdsl-opt can offer both.
    name = "noma-convert-scf-to-cf"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        patterns = [SwitchLowering(), IfLowering(), ForLowering(), WhileLowering()]
        applier = GreedyRewritePatternApplier(patterns, dce_enabled=False)
        PatternRewriteWalker(applier).rewrite_module(op)
        for leftover in op.walk():
            if leftover.dialect_name() == "scf":
                raise NomaError.at_op(
                    leftover, f"{self.name}: cannot lower '{leftover.name}': no lowering to cf for this op"
                )
