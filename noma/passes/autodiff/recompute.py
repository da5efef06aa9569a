"""Recomputation: re-emitting forward code where the reverse sweep needs it.

Values computed inside a branch, a loop body or a called function are not
visible to the gradient code after them, so the reverse code re-emits that
forward code first (Enzyme's "recompute" strategy; it suits NOMA's cheap
scalar ops). Recomputed code must not repeat what the program does to the
world: printing is dropped, and calls go to a copy of the callee without
printing. Ops that change state are refused, as repeating them would be wrong.
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.dialects import func
from xdsl.dialects.builtin import SymbolRefAttr
from xdsl.ir import Operation, SSAValue
from xdsl.traits import IsTerminator

from noma.dialects.noma import creation, files, io, storage, tape
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.training import OptimizeOp
from noma.frontend.diagnostics import NomaError
from noma.passes.autodiff.activity import Activity
from noma.passes.autodiff.sweep import AutodiffContext

OUTPUT_ONLY = (io.PrintOp, io.PrintStringOp, io.WarningOp, *files.SAVE_OPS)
"""Ops whose only effect is output: dropped from recomputed code."""

STATEFUL = (
    storage.LearnOp,
    storage.WriteOp,
    storage.StateWriteOp,
    storage.ResetOptimizerOp,
    storage.AllocOp,
    storage.ReallocOp,
    storage.FreeOp,
    OptimizeOp,
    creation.RandomOp,  # a second draw would differ from the first
    tape.TapeNewOp,
    tape.TapePushOp,
    tape.TapePopOp,
    tape.TapeFreeOp,
)
"""Ops that change program state: cannot be recomputed."""


def body_ops(ops: Iterable[Operation]) -> list[Operation]:
    """The ops of a block without its terminator."""
    return [op for op in ops if not op.has_trait(IsTerminator)]


def recompute(
    ctx: AutodiffContext,
    b: NomaBuilder,
    ops: Iterable[Operation],
    value_map: dict[SSAValue, SSAValue],
) -> list[Operation]:
    """Clone `ops` at `b` (values remapped through `value_map`, which the
    clones extend) and return the clones."""
    clones: list[Operation] = []
    for op in ops:
        if isinstance(op, OUTPUT_ONLY):
            continue
        _refuse_stateful(op)
        clone = op.clone(value_mapper=value_map)
        make_effect_free(ctx, clone)
        b.insert_as_is(clone)
        clones.append(clone)
    return clones


def make_effect_free(ctx: AutodiffContext, root: Operation) -> None:
    """Drop output ops nested in `root` and point its calls at effect-free
    copies of their callees."""
    for op in list(root.walk()):
        if op is not root and isinstance(op, OUTPUT_ONLY):
            op.detach()
            op.erase()
            continue
        _refuse_stateful(op)
        if isinstance(op, func.CallOp):
            pure = pure_function(ctx, op.callee.string_value())
            op.properties["callee"] = SymbolRefAttr(pure)


def _refuse_stateful(op: Operation) -> None:
    if isinstance(op, STATEFUL):
        raise NomaError.at_op(
            op,
            f"autodiff: cannot differentiate through '{op.name}' inside control flow or a "
            "called function",
        )


def derive_activity(activity: Activity, value_map: dict[SSAValue, SSAValue]) -> Activity:
    """Clones vary exactly when the values they copy do."""
    derived = Activity(())
    derived.varied = set(activity.varied)
    derived.varied.update(new for old, new in value_map.items() if old in activity.varied)
    return derived


def lookup_function(ctx: AutodiffContext, name: str) -> func.FuncOp:
    function = ctx.functions.get(name)
    if function is None:
        raise NomaError(None, f"autodiff: unknown function '@{name}'")
    return function


def fresh_symbol(ctx: AutodiffContext, base: str) -> str:
    """An unused function name starting with `base`, reserved."""
    name, n = base, 0
    while name in ctx.functions or name in ctx.reserved:
        n += 1
        name = f"{base}_{n}"
    ctx.reserved.add(name)
    return name


def pure_function(ctx: AutodiffContext, callee: str) -> str:
    """A copy of `callee` without output, for recomputation. The copy is
    added now; its own calls are redirected later (`ctx.pending`)."""
    if callee in ctx.pure_functions:
        return ctx.pure_functions[callee]
    original = lookup_function(ctx, callee)
    name = fresh_symbol(ctx, f"{callee}__nofx")
    ctx.pure_functions[callee] = name
    ctx.pure_functions[name] = name
    copy = original.clone()
    copy.sym_name = type(copy.sym_name)(name)
    copy.attributes.pop("noma.entry", None)
    ctx.add_function(copy)
    ctx.pending.append(lambda: make_effect_free(ctx, copy))
    return name
