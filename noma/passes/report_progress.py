"""The `noma-report-progress` pass: every optimize loop tells the runtime
when it starts, what each iteration's objective is, and when it ends, so
that a long training run can show a live progress line (docs/language.md,
"Progress").

    %r = noma.optimize ... {                 noma.progress_begin
      ...                                    %r = noma.optimize ... {
      noma.minimize %loss ...          ->      ...
      ...                                      noma.minimize %loss ...
    }                                          noma.progress_step %loss : f64
                                               ...
                                             }
                                             noma.progress_end

The runtime decides whether anything is shown (a terminal, or
`--progress`); a step costs a call and a compare when nothing is. A loop
marked already is left alone, so the pass can run twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.io import ProgressBeginOp, ProgressEndOp, ProgressStepOp
from noma.dialects.noma.training import MinimizeOp, OptimizeOp


class MarkOptimizeLoop(RewritePattern):
    """Progress ops around an optimize loop and after each of its `minimize`s."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: OptimizeOp, rewriter: PatternRewriter) -> None:
        if isinstance(op.prev_op, ProgressBeginOp):
            return
        rewriter.insert(ProgressBeginOp(), InsertPoint.before(op))
        rewriter.insert(ProgressEndOp(), InsertPoint.after(op))
        for minimize in [m for m in op.body.walk() if isinstance(m, MinimizeOp)]:
            rewriter.insert(ProgressStepOp(minimize.objective), InsertPoint.after(minimize))


@dataclass(frozen=True)
class ReportProgressPass(ModulePass):
    """Mark every optimize loop for the runtime's progress line."""

    name = "noma-report-progress"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(MarkOptimizeLoop(), apply_recursively=False).rewrite_module(op)
