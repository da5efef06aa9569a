"""The `export-parameters` pass: main hands its learnt parameters to the
Python API just before it returns.

    %W = noma.learn "W" %init : tensor<2x1xf64> -> !noma.param<tensor<2x1xf64>>
    ...
    func.return %r : f64
  becomes
    ...
    %0 = noma.read %W : !noma.param<tensor<2x1xf64>> -> tensor<2x1xf64>
    noma.save_safetensors "\\00noma:parameters" ["W"] (%0 : tensor<2x1xf64>)
    func.return %r : f64

The path is the runtime's parameter sink (NOMA_PARAMETERS_SINK in
noma_io.h): a name no file can have, whose writer the runtime keeps in
memory instead of writing it, for `Program.parameters` to read. Only the
JIT's code for `Program.run` goes through this pass (`noma.compiler`):
`noma emit`, `noma-opt` pipelines and executables never see it, and a
program without parameters is left exactly as it was.

The parameters are those declared by a `learn` at the top level of main
(the ones still in scope when it returns), by name, the last declaration of
a name winning; a parameter that a `free` releases anywhere is left out
(reading it at the end could be a use after free).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.files import SaveSafetensorsOp
from noma.dialects.noma.storage import FreeOp, LearnOp, ReadOp
from noma.symbols import ENTRY_ATTR

PARAMETERS_SINK = "\0noma:parameters"
"""NOMA_PARAMETERS_SINK of noma_io.h."""


def exported_parameters(main: func.FuncOp) -> dict[str, LearnOp]:
    """The parameters main exports, by name, in declaration order."""
    learnt: dict[str, LearnOp] = {}
    for op in main.body.blocks[0].ops:
        if isinstance(op, LearnOp):
            learnt.pop(op.sym_name.data, None)
            freed = any(isinstance(use.operation, FreeOp) for use in op.param.uses)
            if not freed:
                learnt[op.sym_name.data] = op
    return learnt


class ExportBeforeReturn(RewritePattern):
    """Before main's return: read every exported parameter and save them
    all to the sink."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.ReturnOp, rewriter: PatternRewriter) -> None:
        main = op.parent_op()
        if not isinstance(main, func.FuncOp) or ENTRY_ATTR not in main.attributes:
            return
        previous = op.prev_op
        if isinstance(previous, SaveSafetensorsOp) and previous.path.data == PARAMETERS_SINK:
            return  # exported already
        learnt = exported_parameters(main)
        if not learnt:
            return
        reads = [ReadOp(learn.param) for learn in learnt.values()]
        save = SaveSafetensorsOp(PARAMETERS_SINK, list(learnt), reads)
        for new in (*reads, save):
            new.location = op.location
        rewriter.insert([*reads, save], InsertPoint.before(op))


@dataclass(frozen=True)
class ExportParametersPass(ModulePass):
    """Save main's learnt parameters to the runtime's parameter sink just
    before it returns (for `Program.parameters`)."""

    name = "export-parameters"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ExportBeforeReturn(), apply_recursively=False).rewrite_module(op)
