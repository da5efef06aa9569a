"""The `noma-unswitch-broadcasts` pass: a version of each loop nest for the
usual case, where no dynamic axis broadcasts.

NumPy broadcasting lets an axis of size 1 stand for any size. When an
operand's size along an axis is known only at run time, the loops built by
convert-noma-to-loops index it with `select(dim == 1, 0, i)`, marked
`noma.broadcast`, its condition computed before the loops. Correct, but a
load whose index may stay put is not a consecutive load to LLVM: the loop
stays scalar. Nearly always nothing broadcasts (a batch of rows against
another of the same rows), so this pass unswitches the outermost loop on
those conditions, as a loop-unswitching pass would on a branch:

    scf.for %i ... {                           %any = arith.ori %c0, %c1
      %r = arith.select %c0, %z, %i            scf.if %any {
             {noma.broadcast} : index    ->      scf.for ... { the same loop }
      memref.load %a[%r, %j]                   } else {
      ...                                        scf.for %i ... {
    }                                              memref.load %a[%i, %j]
                                                   ...
                                               }

The `else` version has every marked select whose condition is defined
outside the loop replaced by its index (the select's false value). Only
conditions defined outside the loop count: one computed inside may differ
from iteration to iteration and is left to an inner loop. The marks are
dropped in both versions, so that a loop is versioned once. A loop with
results gets an `scf.if` with the same results.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

BROADCAST_SELECT = "noma.broadcast"
"""Marks `select(dim == 1, 0, i)`: the index, along an axis of run-time
size, of an operand that may broadcast along it."""


def defined_outside(value: SSAValue, loop: Operation) -> bool:
    """Whether `value` is defined outside `loop` (so it is loop-invariant)."""
    owner = value.owner
    op = owner if isinstance(owner, Operation) else owner.parent_op()
    return op is None or not loop.is_ancestor(op)


def marked_selects(loop: Operation) -> list[arith.SelectOp]:
    """The broadcasting selects in `loop` whose condition is invariant in it."""
    return [
        op
        for op in loop.walk()
        if isinstance(op, arith.SelectOp)
        and BROADCAST_SELECT in op.attributes
        and defined_outside(op.cond, loop)
    ]


def without_broadcasts(loop: Operation) -> Operation:
    """A copy of `loop` with its invariant broadcasting selects replaced by
    their false value, the index itself."""
    copy = loop.clone()
    for select in marked_selects(copy):
        select.result.replace_all_uses_with(select.rhs)
        select.detach()
        select.erase()
    return copy


def unmarked(loop: Operation) -> Operation:
    """`loop` without the marks of the selects that were versioned on."""
    for select in marked_selects(loop):
        del select.attributes[BROADCAST_SELECT]
    return loop


class UnswitchBroadcastLoop(RewritePattern):
    """A loop with invariant broadcasting selects -> `scf.if` over two versions."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        selects = marked_selects(loop)
        if not selects:
            return
        conditions = list(dict.fromkeys(select.cond for select in selects))
        any_broadcast = conditions[0]
        for condition in conditions[1:]:
            either = arith.OrIOp(any_broadcast, condition)
            rewriter.insert_op(either, InsertPoint.before(loop))
            any_broadcast = either.result
        versions = [unmarked(loop.clone()), without_broadcasts(loop)]
        unmarked(versions[1])
        blocks = [Block([version, scf.YieldOp(*version.results)]) for version in versions]
        unswitched = scf.IfOp(
            any_broadcast, [r.type for r in loop.results], Region(blocks[0]), Region(blocks[1])
        )
        rewriter.replace_matched_op(unswitched)


@dataclass(frozen=True)
class UnswitchBroadcastsPass(ModulePass):
    """Version loop nests on their broadcasting conditions (see the module
    docstring)."""

    name = "noma-unswitch-broadcasts"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(UnswitchBroadcastLoop(), apply_recursively=False).rewrite_module(op)
