"""Reverse rules for structured control flow.

`scf.if`: the reverse is an `scf.if` on the same condition; each branch
recomputes its forward code, then sweeps it backwards from the adjoints of
the values it yielded, and yields the adjoints of the outer values it used.

`scf.while` has its own module, while_loops.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.dialects import scf
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.passes.autodiff.recompute import body_ops, derive_activity, recompute
from noma.passes.autodiff.rules import DerivativeRules
from noma.passes.autodiff.sweep import Sweep, adjoint_type


def captured_varied(op: Operation, regions: Iterable[Region], sweep: Sweep) -> list[SSAValue]:
    """Varied values defined outside `op` and used inside `regions`, in order
    of first use."""
    seen: dict[SSAValue, None] = {}
    for region in regions:
        for inner in region.walk():
            for operand in inner.operands:
                if operand in sweep.activity and not _defined_inside(operand, op):
                    seen.setdefault(operand, None)
    return list(seen)


def _defined_inside(value: SSAValue, op: Operation) -> bool:
    return op.is_ancestor(value.owner)


def sweep_region_copy(
    sweep: Sweep,
    b: NomaBuilder,
    ops: list[Operation],
    value_map: dict[SSAValue, SSAValue],
    seeds: Iterable[tuple[SSAValue, SSAValue | None]],
) -> Sweep:
    """Recompute `ops` at `b`, seed the adjoints of (original value, adjoint)
    pairs and sweep the copy backwards."""
    clones = recompute(sweep.ctx, b, ops, value_map)
    inner = Sweep(sweep.ctx, b, derive_activity(sweep.activity, value_map))
    for value, adjoint in seeds:
        if adjoint is not None:
            inner.accumulate(value_map.get(value, value), adjoint)
    inner.run(clones)
    return inner


# ---------------------------------------------------------------------------
# scf.if
# ---------------------------------------------------------------------------


def reverse_if(sweep: Sweep, op: Operation, result_adjoints: list[SSAValue | None]) -> None:
    assert isinstance(op, scf.IfOp)
    regions = [r for r in (op.true_region, op.false_region) if r.blocks]
    captured = captured_varied(op, regions, sweep)
    if not captured:
        return
    branches = []
    for region in (op.true_region, op.false_region):
        block = Block()
        b = NomaBuilder(InsertPoint.at_end(block), sweep.b.location)
        value_map: dict[SSAValue, SSAValue] = {}
        if region.blocks:
            terminator = region.block.last_op
            assert terminator is not None
            inner = sweep_region_copy(
                sweep,
                b,
                body_ops(region.block.ops),
                value_map,
                zip(terminator.operands, result_adjoints),
            )
            adjoints = [inner.adjoint_or_zero(value_map.get(c, c)) for c in captured]
        else:
            adjoints = [b.constant(0.0, adjoint_type(c)) for c in captured]
        b.insert(scf.YieldOp(*adjoints))
        branches.append(Region(block))
    reverse = sweep.b.insert(
        scf.IfOp(op.cond, [adjoint_type(c) for c in captured], branches[0], branches[1])
    )
    for value, adjoint in zip(captured, reverse.results):
        sweep.accumulate(value, adjoint)


def register(rules: DerivativeRules) -> None:
    """`scf.if` is differentiated by the rule above, `scf.while` by the one
    of while_loops.py."""
    # Imported here: while_loops builds on this module's helpers.
    from noma.passes.autodiff.while_loops import reverse_while

    rules.register_reverse(scf.IfOp, reverse_if)
    rules.register_reverse(scf.WhileOp, reverse_while)
