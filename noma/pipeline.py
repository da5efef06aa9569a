"""The pass registry and the staged pipeline: the one place that names them.

Every pass is registered here by name, so that `noma-opt -p a,b{opt=v}` can run
it alone, and the default pipeline is a list of named stages, each printable
with `noma emit --stage <name>`:

    noma        the frontend's output: `noma` dialect inside `func.func`
    autodiff    gradients of every `noma.minimize` as ordinary IR
    optimizers  `noma.optimize` expanded into loops with optimizer updates
    growth      `noma.realloc` expanded into tensor work on the storage
    loops       only upstream dialects: func, arith, math, scf, cf, memref, vector
    llvm        only `llvm` and `builtin`

Two pipeline aliases are passes of their own: `noma-to-loops` (up to `loops`)
and `noma-to-llvm` (up to `llvm`).

Nothing is verified between passes unless asked (`NOMA_VERIFY_EACH=1`,
`noma.compile(..., verify_each=True)`, `--verify-each` on the tools): then
`verify_after_each_pass` checks the module after every pass, and IR a pass
left invalid is a located internal error naming the pass.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only for type hints: naming the stages (`noma emit --stage`, the
    # compile cache) must not cost the import of xDSL.
    from xdsl.context import Context
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Dialect
    from xdsl.passes import ModulePass, PassPipeline


def _xdsl_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Upstream xDSL passes that NOMA uses as they are."""

    def canonicalize() -> type[ModulePass]:
        from xdsl.transforms.canonicalize import CanonicalizePass

        return CanonicalizePass

    def dce() -> type[ModulePass]:
        from xdsl.transforms.dead_code_elimination import DeadCodeElimination

        return DeadCodeElimination

    def cse() -> type[ModulePass]:
        from xdsl.transforms.common_subexpression_elimination import (
            CommonSubexpressionElimination,
        )

        return CommonSubexpressionElimination

    def reconcile() -> type[ModulePass]:
        from xdsl.transforms.reconcile_unrealized_casts import (
            ReconcileUnrealizedCastsPass,
        )

        return ReconcileUnrealizedCastsPass

    return {
        "canonicalize": canonicalize,
        "dce": dce,
        "cse": cse,
        "reconcile-unrealized-casts": reconcile,
    }


def _noma_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """NOMA's own passes, imported only when used."""

    def autodiff() -> type[ModulePass]:
        from noma.passes.autodiff import AutodiffPass

        return AutodiffPass

    def expand_optimizers() -> type[ModulePass]:
        from noma.passes.expand_optimizers import ExpandOptimizersPass

        return ExpandOptimizersPass

    def report_progress() -> type[ModulePass]:
        from noma.passes.report_progress import ReportProgressPass

        return ReportProgressPass

    def legalize_growth() -> type[ModulePass]:
        from noma.passes.legalize_growth import LegalizeGrowthPass

        return LegalizeGrowthPass

    def export_parameters() -> type[ModulePass]:
        from noma.runtime.export_parameters import ExportParametersPass

        return ExportParametersPass

    def lower_noma() -> type[ModulePass]:
        from noma.lowering.noma_to_loops import ConvertNomaToLoopsPass

        return ConvertNomaToLoopsPass

    def bufferize() -> type[ModulePass]:
        from noma.lowering.noma_to_loops.bufferize import BufferizePass

        return BufferizePass

    def deallocate() -> type[ModulePass]:
        from noma.lowering.noma_to_loops.deallocate import DeallocatePass

        return DeallocatePass

    def inline_calls() -> type[ModulePass]:
        from noma.lowering.noma_to_loops.inline_calls import InlineCallsPass

        return InlineCallsPass

    def hoist_temporaries() -> type[ModulePass]:
        from noma.lowering.noma_to_loops.hoist import HoistTemporariesPass

        return HoistTemporariesPass

    def recycle_carried_buffers() -> type[ModulePass]:
        from noma.lowering.noma_to_loops.recycle import RecycleCarriedBuffersPass

        return RecycleCarriedBuffersPass

    def lower_matmul() -> type[ModulePass]:
        from noma.lowering.lower_matmul import LowerMatmulPass

        return LowerMatmulPass

    def expand_math() -> type[ModulePass]:
        from noma.passes.expand_math import ExpandMathPass

        return ExpandMathPass

    def lower_noma_scalars() -> type[ModulePass]:
        from noma.lowering.noma_to_loops.scalars import ConvertNomaScalarsPass

        return ConvertNomaScalarsPass

    def unswitch_broadcasts() -> type[ModulePass]:
        from noma.passes.unswitch_broadcasts import UnswitchBroadcastsPass

        return UnswitchBroadcastsPass

    def vectorize_reductions() -> type[ModulePass]:
        from noma.passes.vectorize_reductions import VectorizeReductionsPass

        return VectorizeReductionsPass

    def scf_to_cf() -> type[ModulePass]:
        from noma.lowering.scf_to_cf import ConvertScfToCfPass

        return ConvertScfToCfPass

    def to_llvm(class_name: str) -> Callable[[], type[ModulePass]]:
        def load() -> type[ModulePass]:
            from noma.lowering import to_llvm

            return getattr(to_llvm, class_name)

        return load

    return {
        "autodiff": autodiff,
        "noma-report-progress": report_progress,
        "expand-optimizers": expand_optimizers,
        "legalize-growth": legalize_growth,
        "export-parameters": export_parameters,
        "convert-noma-to-loops": lower_noma,
        "noma-bufferize": bufferize,
        "noma-deallocate": deallocate,
        "noma-inline-calls": inline_calls,
        "noma-hoist-temporaries": hoist_temporaries,
        "noma-recycle-carried-buffers": recycle_carried_buffers,
        "convert-noma-scalars-to-loops": lower_noma_scalars,
        "noma-lower-matmul": lower_matmul,
        "noma-unswitch-broadcasts": unswitch_broadcasts,
        "noma-vectorize-reductions": vectorize_reductions,
        "noma-expand-math": expand_math,
        "noma-convert-scf-to-cf": scf_to_cf,
        "convert-to-llvm": to_llvm("ConvertToLLVMPass"),
        "convert-arith-to-llvm": to_llvm("ConvertArithToLLVMPass"),
        "convert-math-to-llvm": to_llvm("ConvertMathToLLVMPass"),
        "convert-func-to-llvm": to_llvm("ConvertFuncToLLVMPass"),
        "convert-cf-to-llvm": to_llvm("ConvertCfToLLVMPass"),
        "convert-memref-to-llvm": to_llvm("ConvertMemRefToLLVMPass"),
        "convert-vector-to-llvm": to_llvm("ConvertVectorToLLVMPass"),
    }


@dataclass(frozen=True)
class Stage:
    name: str
    passes: str
    """A pass pipeline spec, as given to `noma-opt -p`."""


STAGES: tuple[Stage, ...] = (
    Stage("noma", ""),
    Stage("autodiff", "autodiff,canonicalize,cse"),
    Stage("optimizers", "noma-report-progress,expand-optimizers,canonicalize"),
    Stage("growth", "legalize-growth"),
    # noma-inline-calls first, on tensors: a function and its adjoint inlined
    # into one loop body, cse computes the forward values the adjoint
    # recomputes once and canonicalize drops the adjoints nobody reads.
    # noma-expand-math last: exp, log and tanh as arith code LLVM vectorises.
    Stage(
        "loops",
        "noma-inline-calls,canonicalize,cse,"
        "convert-noma-to-loops,noma-unswitch-broadcasts,noma-vectorize-reductions,"
        "noma-lower-matmul,canonicalize,cse,noma-expand-math",
    ),
    Stage("llvm", "noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce"),
)


def pipeline_up_to(stage: str) -> str:
    """The pass spec that takes frontend output to the end of `stage`."""
    names = [s.name for s in STAGES]
    if stage not in names:
        raise KeyError(stage)
    specs = [s.passes for s in STAGES[: names.index(stage) + 1] if s.passes]
    return ",".join(specs)


ALIASES: dict[str, str] = {
    "noma-to-loops": "loops",
    "noma-to-llvm": "llvm",
}
"""Pipeline aliases by name, with the stage each runs up to; their passes
are in `noma.pipeline_aliases`."""


def _alias_pass(name: str) -> type[ModulePass]:
    from noma.pipeline_aliases import ALIAS_PASSES

    return ALIAS_PASSES[name]


def noma_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """NOMA's own passes and pipeline aliases (what NOMA adds to xDSL's)."""
    passes = _noma_passes()
    for name in ALIASES:
        passes[name] = lambda name=name: _alias_pass(name)
    return passes


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Every pass NOMA's pipelines use: xDSL's that it uses, and its own."""
    return {**_xdsl_passes(), **noma_passes()}


def expand_aliases(spec: str) -> str:
    """Replace pipeline aliases in a pass spec by the passes they stand for,
    so that `--print-between-passes` shows every step."""
    from xdsl.utils.arg_spec import parse_pipeline

    parts: list[str] = []
    for pass_spec in parse_pipeline(spec):
        stage = ALIASES.get(pass_spec.name)
        if stage and pass_spec.parameters:
            # An alias stands for a fixed list of passes: it has no options.
            raise ValueError(
                f"pass '{pass_spec.name}' takes no options, got "
                f"{', '.join(repr(p) for p in pass_spec.parameters)}"
            )
        parts.append(pipeline_up_to(stage) if stage else str(pass_spec))
    return ",".join(p for p in parts if p)


VERIFY_EACH_ENV = "NOMA_VERIFY_EACH"


def verify_each_requested() -> bool:
    """`NOMA_VERIFY_EACH` is set to something other than empty or `0`."""
    return os.environ.get(VERIFY_EACH_ENV, "") not in ("", "0")


def verify_after_each_pass(
    previous: ModulePass | None, module: ModuleOp, _next: ModulePass | None
) -> None:
    """A `PassPipeline` callback: verifies the module after each pass (not
    the input, which its producer verified)."""
    if previous is not None:
        from noma.frontend.verify import verify_after_pass

        verify_after_pass(module, previous.name)


def build_pipeline(
    spec: str,
    callback: Callable[[ModulePass | None, ModuleOp, ModulePass | None], None] | None = None,
) -> PassPipeline:
    from xdsl.passes import PassPipeline

    return PassPipeline.parse_spec(all_passes(), spec, callback)


DIALECT_MODULES: dict[str, tuple[str, str]] = {
    "builtin": ("xdsl.dialects.builtin", "Builtin"),
    "func": ("xdsl.dialects.func", "Func"),
    "arith": ("xdsl.dialects.arith", "Arith"),
    "math": ("xdsl.dialects.math", "Math"),
    "scf": ("xdsl.dialects.scf", "Scf"),
    "cf": ("xdsl.dialects.cf", "Cf"),
    "memref": ("xdsl.dialects.memref", "MemRef"),
    "vector": ("xdsl.dialects.vector", "Vector"),
    "llvm": ("xdsl.dialects.llvm", "LLVM"),
    "noma": ("noma.dialects.noma", "Noma"),
    "noma_linalg": ("noma.dialects.noma_linalg", "NomaLinalg"),
}
"""Every dialect NOMA reads and writes, by name: the module and attribute
that define it, imported only when an op or type of it is first needed."""


def _dialect_factory(module: str, attribute: str) -> Callable[[], Dialect]:
    def load() -> Dialect:
        dialect: Dialect = getattr(importlib.import_module(module), attribute)
        return dialect

    return load


def dialects() -> dict[str, Callable[[], Dialect]]:
    """Factories of every dialect NOMA reads and writes, by name."""
    return {
        name: _dialect_factory(module, attribute)
        for name, (module, attribute) in DIALECT_MODULES.items()
    }


def make_context() -> Context:
    """A context where every dialect of `dialects()` is registered, and
    loaded (imported and defined) when the parser first meets it."""
    from xdsl.context import Context

    ctx = Context()
    for name, factory in dialects().items():
        ctx.register_dialect(name, factory)
    return ctx
