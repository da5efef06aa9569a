"""The reverse rule of `scf.while`: replaying a loop backwards from a tape.

The forward loop is rebuilt to count its iterations and to push, at the
start of each iteration, the values it starts from (its carried values, f64
scalars or f64 tensors of any shape) onto a `!noma.tape`. The reverse is an
`scf.for` over the same number of iterations that pops them (last iteration
first), recomputes the body from them, and sweeps the copy backwards. It
carries the adjoints of the varied loop-carried values and the running sums
of the adjoints of the varied outer values the body uses (a parameter read
in the body, a tensor captured from before the loop):

    %tape = noma.tape_new : !noma.tape
    %h, %t, %n = scf.while (%h0, %t0, %c0) {...} do {
    ^bb0(%hi: tensor<1x8xf64>, %ti: f64, %i: index):
      noma.tape_push %tape, %hi : tensor<1x8xf64>
      noma.tape_push %tape, %ti : f64
      ... forward body ...
    }
    %dh0, %dW = scf.for %k = %c0 to %n step %c1
        iter_args(%dh = <adjoint of %h or zeros>, %dWsum = <zeros>) {
      %ti = noma.tape_pop %tape : f64
      %hi = noma.tape_pop %tape : tensor<1x8xf64>
      ... body recomputed from %hi, %ti, swept backwards from %dh ...
      scf.yield <adjoint of %hi>, %dWsum + <adjoint of W in this iteration>
    }
    noma.tape_free %tape

A tensor pushed is kept by value (the tape copies its elements), so the
forward loop may free or update its buffer in place; each pop gives a new
tensor. The tape is freed after the reverse loop, so the memory it holds
is released at every step of an optimize loop. A loop that runs zero times
pops nothing: the adjoints of its initial values are those of its results.

Where a value has no adjoint, its zeros have its shape: a splat constant
for a static type, else zeros broadcast to the shape of a value of that
type known at that point (the loop's result, the popped value, the captured
value or the parameter's current value), so dynamic shapes need no shape
arithmetic here.
"""

from __future__ import annotations

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import is_static, shape_of
from noma.dialects.noma.storage import ReadOp
from noma.dialects.noma.tape import TapeFreeOp, TapeNewOp, TapePopOp, TapePushOp
from noma.dialects.noma.types import ParamType, verify_value_type
from noma.diagnostics import NomaError
from noma.passes.autodiff.recompute import body_ops
from noma.passes.autodiff.regions import captured_varied, sweep_region_copy
from noma.passes.autodiff.sweep import Sweep, adjoint_type


def zeros_like(b: NomaBuilder, value: SSAValue) -> SSAValue:
    """Zeros of the adjoint type of `value`, of its run-time shape when the
    type has dynamic dimensions (`value` must be visible at `b`)."""
    t = adjoint_type(value)
    if isinstance(t, TensorType) and not is_static(shape_of(t)):
        like = b.insert(ReadOp(value)).value if isinstance(value.type, ParamType) else value
        return b.constant(0.0, like)
    return b.constant(0.0, t)


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
        try:
            verify_value_type(value.type, "a value carried by a differentiated loop")
        except VerifyException as error:
            raise NomaError.at_op(op, f"autodiff: {error}") from None


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
    # Only varied carried values have adjoints (not a counter, not a mask).
    varied = [i for i, arg in enumerate(carried_args) if arg in sweep.activity]
    captured = captured_varied(op, [op.after_region], sweep)
    inits = list(op.arguments)

    new_op, tape_value = _augment_forward(op)
    count = new_op.results[-1]

    b = sweep.b
    index = IndexType()
    zero = b.insert(arith.ConstantOp(IntegerAttr(0, index))).result
    one = b.insert(arith.ConstantOp(IntegerAttr(1, index))).result
    loop_inits = [
        result_adjoints[i] if result_adjoints[i] is not None else zeros_like(b, new_op.results[i])
        for i in varied
    ] + [zeros_like(b, c) for c in captured]

    body = Block(arg_types=[index, *(v.type for v in loop_inits)])
    carried_adjoints = body.args[1 : 1 + len(varied)]
    captured_sums = body.args[1 + len(varied) :]
    rb = NomaBuilder(InsertPoint.at_end(body), sweep.b.location)
    # Pushed first to last, so popped last to first.
    popped = [rb.insert(TapePopOp(tape_value, a.type)).value for a in reversed(carried_args)][::-1]
    value_map: dict[SSAValue, SSAValue] = dict(zip(carried_args, popped))
    seeds = zip((yielded[i] for i in varied), carried_adjoints)
    inner = sweep_region_copy(sweep, rb, forward_body, value_map, seeds)
    next_carried = [inner.adjoint_or_zero(popped[i]) for i in varied]
    next_captured = [
        rb.add(total, inner.adjoint_or_zero(value_map.get(c, c)))
        for total, c in zip(captured_sums, captured)
    ]
    rb.insert(scf.YieldOp(*next_carried, *next_captured))

    reverse = b.insert(scf.ForOp(zero, count, one, loop_inits, Region(body)))
    b.insert(TapeFreeOp(tape_value))
    results = list(reverse.results)
    for i, adjoint in zip(varied, results[: len(varied)]):
        sweep.accumulate(inits[i], adjoint)
    for value, adjoint in zip(captured, results[len(varied) :]):
        sweep.accumulate(value, adjoint)
