"""Reverse rules for structured control flow.

`scf.if`: the reverse is an `scf.if` on the same condition; each branch
recomputes its forward code, then sweeps it backwards from the adjoints of
the values it yielded, and yields the adjoints of the outer values it used.

`scf.while`: the forward loop is augmented to count its iterations and push
the values each iteration starts from onto a tape. The reverse is an
`scf.for` over the same number of iterations that pops those values (last
iteration first), recomputes the body from them, and sweeps it backwards,
carrying the adjoints of the loop-carried values and of the outer values the
body uses.
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, f64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.tape import TapeFreeOp, TapeNewOp, TapePopOp, TapePushOp
from noma.frontend.diagnostics import NomaError
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


def _sweep_region_copy(
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
            inner = _sweep_region_copy(
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


# ---------------------------------------------------------------------------
# scf.while
# ---------------------------------------------------------------------------


def _check_loop_form(op: scf.WhileOp) -> None:
    before = op.before_region.block
    condition = before.last_op
    assert isinstance(condition, scf.ConditionOp)
    if list(condition.args) != list(before.args):
        raise NomaError.at_op(
            op,
            "autodiff: a loop whose condition region changes the carried values is not supported",
        )
    for value in op.arguments:
        if value.type != f64:
            raise NomaError.at_op(
                op, f"autodiff: loops carrying a {value.type} are not supported yet"
            )


def _augment_forward(op: scf.WhileOp) -> tuple[scf.WhileOp, SSAValue]:
    """Rebuild the forward loop so that it pushes the values each iteration
    starts from and counts its iterations. Returns the new loop (its last
    result is the count) and the tape."""
    index = IndexType()
    fwd = NomaBuilder(InsertPoint.before(op), op.location)
    tape_value = fwd.insert(TapeNewOp()).tape
    zero = fwd.insert(arith.ConstantOp(IntegerAttr(0, index))).result

    before_region = Rewriter.move_region_contents_to_new_regions(op.before_region)
    after_region = Rewriter.move_region_contents_to_new_regions(op.after_region)
    before, after = before_region.block, after_region.block
    count_before = before.insert_arg(index, len(before.args))
    condition = before.last_op
    assert isinstance(condition, scf.ConditionOp)
    condition.operands = (*condition.operands, count_before)

    carried = list(after.args)
    count_after = after.insert_arg(index, len(after.args))
    at_start = NomaBuilder(InsertPoint.at_start(after), op.location)
    for value in carried:
        at_start.insert(TapePushOp(tape_value, value))
    terminator = after.last_op
    assert terminator is not None
    at_end = NomaBuilder(InsertPoint.before(terminator), op.location)
    one = at_end.insert(arith.ConstantOp(IntegerAttr(1, index))).result
    next_count = at_end.insert(arith.AddiOp(count_after, one)).result
    terminator.operands = (*terminator.operands, next_count)

    new_op = fwd.insert(
        scf.WhileOp([*op.arguments, zero], [*op.result_types, index], before_region, after_region)
    )
    for old, new in zip(op.results, new_op.results):
        old.replace_all_uses_with(new)
    op.detach()
    op.erase()
    return new_op, tape_value


def reverse_while(sweep: Sweep, op: Operation, result_adjoints: list[SSAValue | None]) -> None:
    assert isinstance(op, scf.WhileOp)
    _check_loop_form(op)
    after = op.after_region.block
    forward_body = body_ops(after.ops)
    forward_yield = after.last_op
    assert forward_yield is not None
    yielded = list(forward_yield.operands)
    carried_args = list(after.args)
    captured = captured_varied(op, [op.after_region], sweep)
    inits = list(op.arguments)

    new_op, tape_value = _augment_forward(op)
    count = new_op.results[-1]

    b = sweep.b
    index = IndexType()
    zero = b.insert(arith.ConstantOp(IntegerAttr(0, index))).result
    one = b.insert(arith.ConstantOp(IntegerAttr(1, index))).result
    carried_types = [v.type for v in carried_args]
    captured_types = [adjoint_type(c) for c in captured]
    loop_inits = [
        a if a is not None else b.constant(0.0, t) for a, t in zip(result_adjoints, carried_types)
    ] + [b.constant(0.0, t) for t in captured_types]

    body = Block(arg_types=[index, *carried_types, *captured_types])
    carried_adjoints = body.args[1 : 1 + len(carried_args)]
    captured_sums = body.args[1 + len(carried_args) :]
    rb = NomaBuilder(InsertPoint.at_end(body), sweep.b.location)
    # Pushed first to last, so popped last to first.
    pops = [rb.insert(TapePopOp(tape_value)).value for _ in carried_args]
    popped = pops[::-1]
    value_map: dict[SSAValue, SSAValue] = dict(zip(carried_args, popped))
    inner = _sweep_region_copy(sweep, rb, forward_body, value_map, zip(yielded, carried_adjoints))
    next_carried = [inner.adjoint_or_zero(p) for p in popped]
    next_captured = [
        rb.add(total, inner.adjoint_or_zero(value_map.get(c, c)))
        for total, c in zip(captured_sums, captured)
    ]
    rb.insert(scf.YieldOp(*next_carried, *next_captured))

    reverse = b.insert(scf.ForOp(zero, count, one, loop_inits, Region(body)))
    b.insert(TapeFreeOp(tape_value))
    results = list(reverse.results)
    for init, adjoint in zip(inits, results[: len(carried_args)]):
        sweep.accumulate(init, adjoint)
    for value, adjoint in zip(captured, results[len(carried_args) :]):
        sweep.accumulate(value, adjoint)


def register(rules: DerivativeRules) -> None:
    """`scf.if` and `scf.while` are differentiated by the rules above."""
    rules.register_reverse(scf.IfOp, reverse_if)
    rules.register_reverse(scf.WhileOp, reverse_while)
