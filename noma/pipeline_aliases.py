"""The pipeline aliases `noma-to-loops` and `noma-to-llvm` as passes.

Apart from `noma.pipeline` because a pass class needs xDSL to be defined,
and naming the stages must not import it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from noma.pipeline import (
    ALIASES,
    build_pipeline,
    pipeline_up_to,
    verify_after_each_pass,
    verify_each_requested,
)


@dataclass(frozen=True)
class PipelineAlias(ModulePass):
    """A named pipeline that runs as one pass."""

    up_to_stage: ClassVar[str]

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        callback = verify_after_each_pass if verify_each_requested() else None
        build_pipeline(pipeline_up_to(self.up_to_stage), callback).apply(ctx, op)


@dataclass(frozen=True)
class NomaToLoops(PipelineAlias):
    """Everything down to upstream dialects: func, arith, math, scf, cf, memref."""

    name = "noma-to-loops"
    up_to_stage = ALIASES[name]


@dataclass(frozen=True)
class NomaToLLVM(PipelineAlias):
    """Everything down to the `llvm` and `builtin` dialects."""

    name = "noma-to-llvm"
    up_to_stage = ALIASES[name]


ALIAS_PASSES: dict[str, type[PipelineAlias]] = {
    NomaToLoops.name: NomaToLoops,
    NomaToLLVM.name: NomaToLLVM,
}
