"""Reverse rule for calls to user functions.

A call `f(x)` is differentiated by calling `f__vjp(x, dy)`, a function the
pass generates once per callee: it recomputes `f`'s body from `x` (without
printing) and sweeps it backwards from `dy`, returning the adjoints of all of
`f`'s arguments. Calls inside `f` are handled the same way, so nested calls
need nothing more; recursion was rejected by the frontend.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.diagnostics import NomaError
from noma.passes.autodiff.activity import Activity
from noma.passes.autodiff.recompute import body_ops, fresh_symbol, lookup_function, recompute
from noma.passes.autodiff.rules import DerivativeRules
from noma.passes.autodiff.sweep import AutodiffContext, Sweep, adjoint_type


def reverse_call(sweep: Sweep, op: Operation, result_adjoints: list[SSAValue | None]) -> None:
    assert isinstance(op, func.CallOp)
    vjp = vjp_function(sweep.ctx, op.callee.string_value())
    adjoints = [
        a if a is not None else sweep.b.constant(0.0, r.type)
        for a, r in zip(result_adjoints, op.results)
    ]
    call = sweep.b.insert(
        func.CallOp(vjp, [*op.arguments, *adjoints], [adjoint_type(a) for a in op.arguments])
    )
    for argument, adjoint in zip(op.arguments, call.results):
        sweep.accumulate(argument, adjoint)


def vjp_function(ctx: AutodiffContext, callee: str) -> str:
    """The name of `callee__vjp(args..., result adjoints...) -> arg adjoints`."""
    if callee in ctx.vjp_functions:
        return ctx.vjp_functions[callee]
    original = lookup_function(ctx, callee)
    if len(original.body.blocks) != 1:
        raise NomaError.at_op(original, "autodiff: functions with several blocks are not supported")
    name = fresh_symbol(ctx, f"{callee}__vjp")
    ctx.vjp_functions[callee] = name
    # Generated later, from the pass's work list: generating it here would
    # recurse once per call in a chain of calls.
    ctx.pending.append(lambda: _generate_vjp(ctx, original, name))
    return name


def _generate_vjp(ctx: AutodiffContext, original: func.FuncOp, name: str) -> None:
    arg_types = list(original.function_type.inputs)
    result_types = list(original.function_type.outputs)
    block = Block(arg_types=[*arg_types, *result_types])
    args, result_adjoints = block.args[: len(arg_types)], block.args[len(arg_types) :]
    b = NomaBuilder(InsertPoint.at_end(block), original.location)
    value_map: dict[SSAValue, SSAValue] = dict(zip(original.body.block.args, args))
    clones = recompute(ctx, b, body_ops(original.body.block.ops), value_map)

    activity = Activity(args)
    activity.analyze(clones)
    sweep = Sweep(ctx, b, activity)
    returned = original.body.block.last_op
    assert isinstance(returned, func.ReturnOp)
    for value, adjoint in zip(returned.arguments, result_adjoints):
        sweep.accumulate(value_map.get(value, value), adjoint)
    sweep.run(clones)
    b.insert(func.ReturnOp(*(sweep.adjoint_or_zero(a) for a in args)))

    vjp = func.FuncOp(
        name, ([*arg_types, *result_types], [adjoint_type(a) for a in args]), Region(block)
    )
    vjp.location = original.location
    ctx.add_function(vjp)


def register(rules: DerivativeRules) -> None:
    """`func.call` is differentiated through a generated `__vjp` function."""
    rules.register_reverse(func.CallOp, reverse_call)
