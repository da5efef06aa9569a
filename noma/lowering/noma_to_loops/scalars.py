"""The `convert-noma-scalars-to-loops` pass: the last step of the lowering
to loops. Each `noma` op left (on f64 scalars, after `noma-bufferize`) is
rewritten by its rule's `on_scalars` (`registry.py`): elementwise ops to
their `lower_scalar` in arith/math, scalar parameters to rank-0 buffers,
printing, warnings, random draws and the tape to runtime calls. Handles
nothing uses any more are dropped, and a `noma` op still left is a located
error (`cannot lower 'noma.realloc' to loops: run legalize-growth ...`)
instead of being passed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType, UnrealizedConversionCastOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from noma.dialects.noma.types import BufferType, ParamType, TapeType
from noma.diagnostics import NomaError
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
class ConvertNomaScalarsPass(ModulePass):
    """Lower the `noma` ops left on scalars; fail on any other left over."""

    name = "convert-noma-scalars-to-loops"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_scalars(op, Runtime(op))


def lower_scalars(op: ModuleOp, runtime: Runtime) -> None:
    """The pass, with the runtime declarations of a previous step (which
    `Runtime` would otherwise find again by scanning the module)."""
    PatternRewriteWalker(LowerScalarsByRule(runtime)).rewrite_module(op)
    for cast in [c for c in op.walk() if isinstance(c, UnrealizedConversionCastOp)]:
        if isinstance(cast.results[0].type, _NOMA_TYPES) and not cast.results[0].uses:
            cast.detach()
            cast.erase()
    for inner in op.walk():
        if inner.dialect_name() == "noma":
            raise _not_bufferized(inner) if _on_tensors(inner) else cannot_lower(inner)


def _on_tensors(op: Operation) -> bool:
    """Whether the op still works on tensors, which only bufferization lowers."""
    types = [v.type for v in (*op.operands, *op.results)]
    return any(isinstance(t, TensorType) or isinstance(getattr(t, "value_type", None), TensorType) for t in types)


def _not_bufferized(op: Operation) -> NomaError:
    return NomaError.at_op(op, f"cannot lower '{op.name}' to loops: run `noma-bufferize` before lowering to loops")
