"""Recomputation: re-emitting forward code where the reverse sweep needs it.

Values computed inside a branch, a loop body or a called function are not
visible to the gradient code after them, so the reverse code re-emits that
forward code first (Enzyme's "recompute" strategy; it suits NOMA's cheap
scalar ops). Recomputed code must not repeat what the program does to the
world. What an op may do is read from its memory-effect traits
(`xdsl.traits`), not from a list of classes, so ops of any dialect are
judged the same way:

- no effect (`Pure`), or reads only: recomputed;
- writes to the program's output only (printing, warnings, run-time checks,
  file saves: `WritesProgramOutput`): dropped, the forward run did it;
- an op with regions whose effects are its contents'
  (`RecursiveMemoryEffect`: `scf.if`, `scf.while`, ...): recomputed, each
  op inside judged in turn;
- a call: its effects are its callee's, so it calls a copy of the callee
  judged the same way;
- anything else (writes to storage, allocation, freeing, unknown effects):
  refused with an error naming the op, as repeating it would be wrong.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from xdsl.dialects import func
from xdsl.dialects.builtin import SymbolRefAttr
from xdsl.ir import Operation, SSAValue
from xdsl.traits import IsTerminator, MemoryEffectKind, RecursiveMemoryEffect, get_effects

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.effects import writes_only_program_output
from noma.diagnostics import NomaError
from noma.passes.autodiff.activity import Activity
from noma.passes.autodiff.sweep import AutodiffContext
from noma.symbols import ENTRY_ATTR


class Recompute(enum.Enum):
    """What recomputation does with an op."""

    CLONE = enum.auto()
    DROP = enum.auto()
    REFUSE = enum.auto()


def recompute_action(op: Operation) -> Recompute:
    """How `op` is recomputed, from its memory effects (its own; nested ops
    of a region op are judged on their own)."""
    if isinstance(op, func.CallOp) or op.has_trait(IsTerminator):
        return Recompute.CLONE
    if op.regions and op.has_trait(RecursiveMemoryEffect):
        return Recompute.CLONE
    effects = get_effects(op)
    if effects is None:
        return Recompute.REFUSE
    if all(e.kind == MemoryEffectKind.READ for e in effects):
        return Recompute.CLONE
    if writes_only_program_output(effects) and not op.results:
        return Recompute.DROP
    return Recompute.REFUSE


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
        action = recompute_action(op)
        if action is Recompute.DROP:
            continue
        if action is Recompute.REFUSE:
            _refuse(ctx.origin(op))
        clone = op.clone(value_mapper=value_map)
        remember_origins(ctx, clone, op)
        make_effect_free(ctx, clone)
        b.insert_as_is(clone)
        clones.append(clone)
    return clones


def remember_origins(ctx: AutodiffContext, clone: Operation, original: Operation) -> None:
    """Map `clone` and the ops nested in it to the input ops they copy (a
    clone walks in the same order as its original)."""
    for copied, source in zip(clone.walk(), original.walk()):
        ctx.origins[copied] = ctx.origin(source)


def make_effect_free(ctx: AutodiffContext, root: Operation) -> None:
    """Drop the output ops nested in `root` (already judged itself), refuse
    the ones that change state, and point its calls at effect-free copies
    of their callees."""
    for op in list(root.walk()):
        if op is not root:
            action = recompute_action(op)
            if action is Recompute.DROP:
                op.detach()
                op.erase()
                continue
            if action is Recompute.REFUSE:
                _refuse(ctx.origin(op))
        if isinstance(op, func.CallOp):
            pure = pure_function(ctx, op.callee.string_value())
            op.properties["callee"] = SymbolRefAttr(pure)


def _refuse(op: Operation) -> None:
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
    remember_origins(ctx, copy, original)
    copy.sym_name = type(copy.sym_name)(name)
    copy.attributes.pop(ENTRY_ATTR, None)
    ctx.add_function(copy)
    ctx.pending.append(lambda: make_effect_free(ctx, copy))
    return name
