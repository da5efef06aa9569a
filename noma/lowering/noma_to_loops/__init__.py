"""The `convert-noma-to-loops` pass: from the `noma` dialect to upstream
dialects only (func, arith, math, scf, cf, memref), the contract of the
`loops` stage that upstream `mlir-opt` can verify and lower on its own.

Each op's lowering is its `LoopsRule` (`rule.py`), in the module mirroring
the op's dialect file, found through the one table of `registry.py`. First
tensors are bufferized (`bufferize.py`): tensor values become memrefs and
tensor ops loop nests, by their rules' `on_tensors`. Then what is left on
scalars is rewritten by the rules' `on_scalars`: elementwise ops to their
`lower_scalar` (arith/math), scalar parameters to rank-0 buffers, printing,
warnings and the autodiff tape to runtime calls. Anything left over is
reported, located, as not supported yet instead of being passed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, UnrealizedConversionCastOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from noma.dialects.noma.types import BufferType, ParamType, TapeType
from noma.lowering.noma_to_loops.bufferize import bufferize
from noma.lowering.noma_to_loops.registry import cannot_lower, rule_of
from noma.lowering.noma_to_loops.runtime import Runtime

_NOMA_TYPES = (ParamType, BufferType, TapeType)


class LowerScalarsByRule(RewritePattern):
    """Applies each op's `on_scalars` rule; ops without one (every upstream
    op by now) are passed over after one table look-up."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        rule = rule_of(op)
        if rule is not None and rule.on_scalars is not None:
            rule.on_scalars(op, rewriter, self.runtime)


@dataclass(frozen=True)
class ConvertNomaToLoopsPass(ModulePass):
    """Lower the `noma` dialect to func, arith, math, scf, cf and memref."""

    name = "convert-noma-to-loops"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        runtime = Runtime(op)
        bufferize(op, runtime)
        PatternRewriteWalker(LowerScalarsByRule(runtime)).rewrite_module(op)
        for cast in [c for c in op.walk() if isinstance(c, UnrealizedConversionCastOp)]:
            if isinstance(cast.results[0].type, _NOMA_TYPES) and not cast.results[0].uses:
                cast.detach()
                cast.erase()
        for inner in op.walk():
            if inner.dialect_name() == "noma":
                raise cannot_lower(inner)
