"""The `expand-optimizers` pass: `noma.optimize` becomes an explicit loop.

    %r = noma.optimize "adam"(%W : ...) lr(%lr) ... max_iterations(%max) {
      <body> ; noma.minimize %loss wrt(%W) grads(%g) ; noma.until %c exports(%loss)
    }
  becomes
    %it, %loss, %stop = scf.while (%i = 0.0) {
      <body>
      %stop = %c != 0 ; %go = !%stop && %i + 1 <= %max
      scf.if %go { <Adam step on %W with %g, reading and writing its state m, v, t> }
      scf.condition(%go) %i, %loss, %stop
    } do {
      scf.yield %i + 1.0
    }
    scf.if !%stop { noma.warning "... max_iterations ..." }

Check-then-step (LANGUAGE.md section 5): each iteration runs the body and
tests the condition; only if it does not hold is a step applied, so the
parameters after the loop are those the condition held for. Ops of the body
marked `noma.after_step` (requested growth) move into the step, after the
updates: growth takes effect between two steps. The step stays in
the same region as the body, so gradients never leave an iteration; only the
exported values used after the loop are forwarded. After
`max_iterations` steps the loop ends with a warning; the exported values are
then those of the final parameters. The optimizer state lives with each
parameter (`noma.state_read`/`noma.state_write`), so it persists from one
optimize loop to the next until `noma.reset_optimizer` clears it, which this
pass also expands.

A mini-batch loop (a body marked `noma.epoch_end %last`) handles one block
of a pass over the data per iteration: the `until` condition counts only
when `%last` holds, the loop counts passes instead of steps, every block
steps while passes remain (`passes + 1 <= max_iterations`), and after them
one more pass runs without steps; the loop then ends at its last block
(warning about passes, not steps).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, f64, i1
from xdsl.ir import Block, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.epochs import epoch_end_of
from noma.dialects.noma.io import WarningOp
from noma.dialects.noma.shapes import is_static, shape_of
from noma.dialects.noma.storage import ReadOp, ResetOptimizerOp, StateReadOp, StateWriteOp, WriteOp
from noma.dialects.noma.tensor_ops import CastOp
from noma.dialects.noma.training import AFTER_STEP_ATTR, MinimizeOp, OptimizeOp
from noma.frontend.diagnostics import NomaError

MAX_ITERATIONS_WARNING = (
    "optimize loop stopped after max_iterations = {0} steps before its `until` condition held"
)
MAX_PASSES_WARNING = (
    "optimize loop stopped after max_iterations = {0} passes over the data before its `until` "
    "condition held"
)


@dataclass
class Budget:
    """What an iteration of an expanded optimize loop decides once its body
    and `until` condition ran (i1 values), and the count it passes on."""

    stop: SSAValue
    """The `until` condition held: the loop ends without a step."""
    step: SSAValue
    """This iteration takes its optimizer step."""
    keep_going: SSAValue
    """Another iteration follows."""
    counter: SSAValue
    """Forwarded to the after region: the steps (passes) counted so far."""


def _step_budget(
    b: NomaBuilder, iteration: SSAValue, condition: SSAValue, max_iterations: SSAValue
) -> Budget:
    """A plain loop: every iteration that does not stop takes a step, while
    steps remain; `iteration` counts them (the after region adds one)."""
    stop = b.insert(arith.CmpfOp(condition, b.constant(0.0), "une")).result
    # Step number `iteration + 1` is allowed while it is <= max_iterations,
    # so a fractional budget is truncated and NaN allows none.
    next_step = b.add(iteration, b.constant(1.0))
    more = b.insert(arith.CmpfOp(next_step, max_iterations, "ole")).result
    true = b.insert(arith.ConstantOp(IntegerAttr(1, i1))).result
    keep_going = b.insert(arith.AndIOp(b.insert(arith.XOrIOp(stop, true)).result, more)).result
    return Budget(stop, keep_going, keep_going, iteration)


def _pass_budget(
    b: NomaBuilder,
    passes: SSAValue,
    condition: SSAValue,
    max_iterations: SSAValue,
    last: SSAValue,
) -> Budget:
    """A mini-batch loop (`noma.epoch_end`): an iteration is one block of a
    pass over the data, and `passes` counts the passes done. The condition
    counts only on a pass's last block. Every block of pass number
    `passes + 1` steps while that number is <= max_iterations (the last
    block unless the condition stops the loop there); after those passes,
    one more runs without steps and the loop ends at its last block."""
    true = b.insert(arith.ConstantOp(IntegerAttr(1, i1))).result
    is_last = b.insert(arith.CmpfOp(last, b.constant(0.0), "une")).result
    holds = b.insert(arith.CmpfOp(condition, b.constant(0.0), "une")).result
    stop = b.insert(arith.AndIOp(is_last, holds)).result
    next_pass = b.add(passes, b.constant(1.0))
    more = b.insert(arith.CmpfOp(next_pass, max_iterations, "ole")).result
    go_on = b.insert(arith.XOrIOp(stop, true)).result
    step = b.insert(arith.AndIOp(go_on, more)).result
    mid_pass = b.insert(arith.XOrIOp(is_last, true)).result
    keep_going = b.insert(arith.AndIOp(go_on, b.insert(arith.OrIOp(more, mid_pass)).result)).result
    counter = b.insert(arith.SelectOp(is_last, next_pass, passes)).result
    return Budget(stop, step, keep_going, counter)


@dataclass
class Hyper:
    lr: SSAValue
    beta1: SSAValue
    beta2: SSAValue
    eps: SSAValue


def emit_step(b: NomaBuilder, optimizer: str, param: SSAValue, grad: SSAValue, h: Hyper) -> None:
    """One optimizer step on `param` with gradient `grad`; the textbook
    update rules, with Adam's bias correction by the parameter's own step
    count."""
    one = b.constant(1.0)
    step = b.add(b.insert(StateReadOp(param, "t")).value, one)
    b.insert(StateWriteOp(step, param, "t"))
    grad = _known_shape(grad)

    def read(op: ReadOp | StateReadOp) -> SSAValue:
        # The gradient has the parameter's shape: the step works at the
        # shape known statically for this iteration, if any.
        value = b.insert(op).results[0]
        return value if value.type == grad.type else b.insert(CastOp(value, grad.type)).result

    value = read(ReadOp(param))
    if optimizer == "sgd":
        update = b.mul(h.lr, grad)
    elif optimizer == "rmsprop":
        v = _decayed(b, read(StateReadOp(param, "v")), b.mul(grad, grad), h.beta2)
        b.insert(StateWriteOp(v, param, "v"))
        update = b.div(b.mul(h.lr, grad), b.add(b.unary(ew.SqrtOp, v), h.eps))
    else:
        assert optimizer == "adam"
        m = _decayed(b, read(StateReadOp(param, "m")), grad, h.beta1)
        v = _decayed(b, read(StateReadOp(param, "v")), b.mul(grad, grad), h.beta2)
        b.insert(StateWriteOp(m, param, "m"))
        b.insert(StateWriteOp(v, param, "v"))
        m_hat = b.div(m, b.sub(one, b.binary(ew.PowOp, h.beta1, step)))
        v_hat = b.div(v, b.sub(one, b.binary(ew.PowOp, h.beta2, step)))
        update = b.div(b.mul(h.lr, m_hat), b.add(b.unary(ew.SqrtOp, v_hat), h.eps))
    b.insert(WriteOp(b.sub(value, update), param))


def _known_shape(grad: SSAValue) -> SSAValue:
    """The gradient before a cast to a more dynamic type: the gradient of a
    reallocated parameter read where its shape is known is computed at that
    shape, and cast to the parameter's dynamic type only to meet it."""
    owner = grad.owner
    if isinstance(owner, CastOp) and is_static(shape_of(owner.source.type)):
        return owner.source
    return grad


def _decayed(b: NomaBuilder, average: SSAValue, sample: SSAValue, beta: SSAValue) -> SSAValue:
    """`beta * average + (1 - beta) * sample`"""
    return b.add(b.mul(beta, average), b.mul(b.sub(b.constant(1.0), beta), sample))


class ExpandOptimize(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: OptimizeOp, rewriter: PatternRewriter) -> None:
        body = op.body.block
        minimize = next(m for m in op.body.walk() if isinstance(m, MinimizeOp))
        if not minimize.is_differentiated:
            raise NomaError.at_op(
                minimize, "expand-optimizers needs the gradients: run `autodiff` first"
            )
        if minimize.parent_block() is not body:
            raise NomaError.at_op(
                minimize, "a `minimize` nested inside the optimize body is not supported yet"
            )
        until = op.until
        params, grads = list(minimize.params), list(minimize.grads)
        n_next = len(until.next)
        hyper = Hyper(op.lr, op.beta1, op.beta2, op.eps)
        # Only exports used after the loop leave it: the others, and the
        # gradients, stay inside one iteration, so their buffers never outlive it.
        export_results = op.res[n_next:]
        exported = [
            (value, result) for value, result in zip(until.exports, export_results) if result.uses
        ]

        epoch_end = epoch_end_of(op)
        before_region = Rewriter.move_region_contents_to_new_regions(op.body)
        before = before_region.block
        iteration = before.insert_arg(f64, 0)
        rewriter.erase(minimize)
        b = NomaBuilder(InsertPoint.before(until), op.location)
        if epoch_end is None:
            budget = _step_budget(b, iteration, until.condition, op.max_iterations)
        else:
            iteration.name_hint = "passes"
            budget = _pass_budget(b, iteration, until.condition, op.max_iterations, epoch_end.last)
            rewriter.erase(epoch_end)
        step = Block()
        sb = NomaBuilder(InsertPoint.at_end(step), op.location)
        for param, grad in zip(params, grads):
            emit_step(sb, op.optimizer.data, param, grad, hyper)
        # Growth the body requested happens after the step (and only with one).
        for after in [o for o in before.ops if AFTER_STEP_ATTR in o.attributes]:
            after.detach()
            del after.attributes[AFTER_STEP_ATTR]
            step.add_op(after)
        sb.insert(scf.YieldOp())
        b.insert(scf.IfOp(budget.step, [], Region(step)))
        forwarded = [budget.counter, *until.next, *(value for value, _ in exported), budget.stop]
        b.insert(scf.ConditionOp(budget.keep_going, *forwarded))
        rewriter.erase(until)

        after = Block(arg_types=[v.type for v in forwarded])
        ab = NomaBuilder(InsertPoint.at_end(after), op.location)
        counter = after.args[0]
        if epoch_end is None:
            counter = ab.add(counter, ab.constant(1.0))
        ab.insert(scf.YieldOp(counter, *after.args[1 : 1 + n_next]))

        zero = NomaBuilder(InsertPoint.before(op), op.location).constant(0.0)
        loop = scf.WhileOp(
            [zero, *op.inits], [v.type for v in forwarded], before_region, Region(after)
        )
        loop.location = op.location
        rewriter.insert(loop, InsertPoint.before(op))
        warning = MAX_ITERATIONS_WARNING if epoch_end is None else MAX_PASSES_WARNING
        self._warn_if_not_converged(loop, op, warning)
        for (_, result), new in zip(exported, loop.results[1 + n_next : -1]):
            result.replace_all_uses_with(new)
        rewriter.replace(op, [], [*loop.results[1 : 1 + n_next], *([None] * len(export_results))])

    @staticmethod
    def _warn_if_not_converged(loop: scf.WhileOp, op: OptimizeOp, warning: str) -> None:
        b = NomaBuilder(InsertPoint.after(loop), op.location)
        true = b.insert(arith.ConstantOp(IntegerAttr(1, i1))).result
        not_converged = b.insert(arith.XOrIOp(loop.results[-1], true)).result
        block = Block()
        NomaBuilder(InsertPoint.at_end(block), op.location).insert(
            WarningOp(warning, op.max_iterations)
        )
        NomaBuilder(InsertPoint.at_end(block), op.location).insert(scf.YieldOp())
        b.insert(scf.IfOp(not_converged, [], Region(block)))


class ExpandResetOptimizer(RewritePattern):
    """`noma.reset_optimizer` zeroes each parameter's moments and step count."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ResetOptimizerOp, rewriter: PatternRewriter) -> None:
        b = NomaBuilder(InsertPoint.before(op), op.location)
        for param in op.params:
            value = b.insert(ReadOp(param)).value
            zeros = b.zeros_like(value)
            b.insert(StateWriteOp(zeros, param, "m"))
            b.insert(StateWriteOp(zeros, param, "v"))
            b.insert(StateWriteOp(b.constant(0.0), param, "t"))
        rewriter.erase(op)


@dataclass(frozen=True)
class ExpandOptimizersPass(ModulePass):
    """Expand optimize loops into `scf.while` with explicit optimizer steps."""

    name = "expand-optimizers"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([ExpandOptimize(), ExpandResetOptimizer()]),
            apply_recursively=False,
        ).rewrite_module(op)
