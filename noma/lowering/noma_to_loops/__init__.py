"""The `convert-noma-to-loops` pass: from the `noma` dialect to upstream
dialects only (func, arith, math, scf, cf, memref), the contract of the
`loops` stage that upstream `mlir-opt` can verify and lower on its own.

First tensors are bufferized (`bufferize.py`): tensor values become memrefs
and tensor ops loop nests (`loops.py`). Then patterns lower what is left on
scalars: elementwise ops through each op's `lower_scalar` hook, scalar
parameters to rank-0 buffers, printing, warnings and the autodiff tape to
runtime calls. Anything left over is reported, located, as not supported yet
instead of being passed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, UnrealizedConversionCastOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from noma.dialects.noma import Noma
from noma.dialects.noma.types import BufferType, ParamType, TapeType
from noma.lowering.noma_to_loops.bufferize import bufferize, cannot_lower
from noma.lowering.noma_to_loops.patterns import (
    LowerLearn,
    LowerRuntimeCalls,
    LowerScalarElementwise,
    LowerStorageAccess,
)
from noma.lowering.noma_to_loops.runtime import Runtime

_NOMA_TYPES = (ParamType, BufferType, TapeType)


class _OnlyNomaOps(RewritePattern):
    """Offers only `noma` ops to `patterns`, all of which rewrite `noma` ops
    alone: most ops of the module are upstream ones by now, and trying every
    pattern (each building its helpers) on each of them was wasted. (Dead
    upstream ops are thus left to the canonicalize that follows in the
    `loops` stage, which gives the same stage output.)"""

    def __init__(self, patterns: RewritePattern) -> None:
        self.patterns = patterns

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.dialect_name() == Noma.name:
            self.patterns.match_and_rewrite(op, rewriter)


@dataclass(frozen=True)
class ConvertNomaToLoopsPass(ModulePass):
    """Lower the `noma` dialect to func, arith, math, scf, cf and memref."""

    name = "convert-noma-to-loops"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        runtime = Runtime(op)
        bufferize(op, runtime)
        PatternRewriteWalker(
            _OnlyNomaOps(
                GreedyRewritePatternApplier(
                    [
                        LowerLearn(),
                        LowerStorageAccess(),
                        LowerScalarElementwise(),
                        LowerRuntimeCalls(runtime),
                    ]
                )
            )
        ).rewrite_module(op)
        for cast in [c for c in op.walk() if isinstance(c, UnrealizedConversionCastOp)]:
            if isinstance(cast.results[0].type, _NOMA_TYPES) and not cast.results[0].uses:
                cast.detach()
                cast.erase()
        for inner in op.walk():
            if inner.dialect_name() == Noma.name:
                raise cannot_lower(inner)
