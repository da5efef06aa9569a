"""The `expand-optimizers` pass: `noma.optimize` becomes an explicit loop.

    %r = noma.optimize "adam"(%W : ...) lr(%lr) ... max_iterations(%max) {
      <body> ; noma.minimize %loss wrt(%W) grads(%g) ; noma.until %c exports(%loss)
    }
  becomes
    %runs = 1.0 <= %max
    %loss, %stop = scf.if %runs {
      %n, %loss, %stop = scf.while (%i = 0.0) {
        <body>
        %stop = %c != 0
        scf.if !%stop { <Adam step on %W with %g, reading and writing its state m, v, t> }
        %n = %i + 1
        %go = !%stop && %n + 1 <= %max
        scf.condition(%go) %n, %loss, %stop
      } do {
        scf.yield %n
      }
      scf.yield %loss, %stop
    } else {
      noma.assert false, "... ran no iteration ..."   (only if names of the body are used after it)
      scf.yield <placeholder>, false
    }
    scf.if !%stop { noma.warning "... max_iterations ..." }

One iteration is body, `until` check, step, as in the original NOMA (`for _
in 0..max_iter { forward; if until { return } backward; step }`; LANGUAGE.md
section 5): the body runs at most `max_iterations` times (truncated; none
when it is below 1 or NaN). When the condition holds no step is taken, so
the parameters after the loop are those the condition held for; when the
budget runs out, the last iteration still steps and the loop ends with a
warning. Names exported from the body keep the values of the last
iteration, computed before its step; if the loop ran no iteration and such a
name is used after it, that is a located run-time error (it has no value).
Ops of the body marked `noma.after_step` (requested growth) move into the
step, after the updates: growth takes effect between two steps, and not when
the loop stops on its condition. The step stays in the same region as the
body, so gradients never leave an iteration; only the exported values used
after the loop are forwarded. The optimizer state lives with each parameter
(`noma.state_read`/`noma.state_write`), so it persists from one optimize
loop to the next until `noma.reset_optimizer` clears it, which this pass
also expands.

A mini-batch loop (a body marked `noma.epoch_end %last`) handles one block
of a pass over the data per iteration. Its step is unconditional and goes
where `noma.epoch_end` stands, right after the block's `batch` body: every
block steps, the last one included, and what follows the mark (the
statements after the `batch` loop and the `until` condition, which the
frontend evaluates on the last block only) sees the parameters after the
step. The condition counts only when `%last` holds; the loop counts passes,
runs whole passes while `passes + 1 <= max_iterations`, and ends at the
last block of a pass (warning about passes, not steps); growth runs at the
end of an iteration unless the loop stops there on its condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, f64, i1
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.creation import FillOp
from noma.dialects.noma.epochs import epoch_end_of
from noma.dialects.noma.io import AssertOp, WarningOp
from noma.dialects.noma.optimizers import OPTIMIZERS, STEP_SLOT, Step, moment_slots
from noma.dialects.noma.shapes import is_static, shape_of
from noma.dialects.noma.storage import ReadOp, ResetOptimizerOp, StateReadOp, StateWriteOp, WriteOp
from noma.dialects.noma.tensor_ops import CastOp
from noma.dialects.noma.training import AFTER_STEP_ATTR, MinimizeOp, OptimizeOp
from noma.diagnostics import NomaError

MAX_ITERATIONS_WARNING = (
    "optimize loop stopped after max_iterations = {0} steps before its `until` condition held"
)
NO_ITERATION_ERROR = (
    "the optimize loop ran no iteration (max_iterations = {0}): the names its body defines "
    "have no value after it"
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
    """The `until` condition held: the loop ends, without a step."""
    go_on: SSAValue
    """Not `stop`."""
    keep_going: SSAValue
    """Another iteration follows."""
    counter: SSAValue
    """The iterations (passes) done, this one included if it ends one."""


def _true(b: NomaBuilder) -> SSAValue:
    return b.insert(arith.ConstantOp(IntegerAttr(1, i1))).result


def _within(b: NomaBuilder, done: SSAValue, max_iterations: SSAValue) -> SSAValue:
    """Whether iteration (pass) number `done + 1` is allowed: while it is <=
    max_iterations, so that a fractional budget is truncated and NaN allows
    none."""
    return b.insert(arith.CmpfOp(b.add(done, b.constant(1.0)), max_iterations, "ole")).result


def _step_budget(
    b: NomaBuilder, iteration: SSAValue, condition: SSAValue, max_iterations: SSAValue
) -> Budget:
    """A plain loop: `iteration` counts the iterations before this one; the
    loop goes on unless the condition stopped it or the budget is spent."""
    stop = b.insert(arith.CmpfOp(condition, b.constant(0.0), "une")).result
    done = b.add(iteration, b.constant(1.0))
    go_on = b.insert(arith.XOrIOp(stop, _true(b))).result
    keep_going = b.insert(arith.AndIOp(go_on, _within(b, done, max_iterations))).result
    return Budget(stop, go_on, keep_going, done)


def _pass_budget(
    b: NomaBuilder,
    passes: SSAValue,
    condition: SSAValue,
    max_iterations: SSAValue,
    last: SSAValue,
) -> Budget:
    """A mini-batch loop (`noma.epoch_end`): an iteration is one block of a
    pass over the data, and `passes` counts the passes done before it. The
    condition counts only on a pass's last block; a pass's other blocks
    always go on, and its last block goes on to a next pass while passes
    remain."""
    true = _true(b)
    is_last = b.insert(arith.CmpfOp(last, b.constant(0.0), "une")).result
    holds = b.insert(arith.CmpfOp(condition, b.constant(0.0), "une")).result
    stop = b.insert(arith.AndIOp(is_last, holds)).result
    done = b.insert(arith.SelectOp(is_last, b.add(passes, b.constant(1.0)), passes)).result
    go_on = b.insert(arith.XOrIOp(stop, true)).result
    next_pass = b.insert(arith.AndIOp(go_on, _within(b, done, max_iterations))).result
    mid_pass = b.insert(arith.XOrIOp(is_last, true)).result
    keep_going = b.insert(arith.OrIOp(mid_pass, next_pass)).result
    return Budget(stop, go_on, keep_going, done)


def emit_step(b: NomaBuilder, op: OptimizeOp, param: SSAValue, grad: SSAValue) -> None:
    """One step of `op`'s optimizer on `param` with gradient `grad`: count
    the step, read the parameter, and write back the value the optimizer's
    update rule (`noma.dialects.noma.optimizers`) computes."""
    optimizer = OPTIMIZERS[op.optimizer.data]
    one = b.constant(1.0)
    step = b.add(b.insert(StateReadOp(param, STEP_SLOT)).value, one)
    b.insert(StateWriteOp(step, param, STEP_SLOT))
    grad = _known_shape(grad)

    def read(read_op: ReadOp | StateReadOp) -> SSAValue:
        # The gradient has the parameter's shape: the step works at the
        # shape known statically for this iteration, if any.
        value = b.insert(read_op).results[0]
        return value if value.type == grad.type else b.insert(CastOp(value, grad.type)).result

    def read_state(slot: str) -> SSAValue:
        assert slot in optimizer.moments, f"{optimizer.name} declares no state '{slot}'"
        return read(StateReadOp(param, slot))

    def write_state(slot: str, value: SSAValue) -> None:
        assert slot in optimizer.moments, f"{optimizer.name} declares no state '{slot}'"
        b.insert(StateWriteOp(value, param, slot))

    hyper = {h.keyword: op.hyper_operand(h.operand) for h in optimizer.hyper}
    value = read(ReadOp(param))
    new_value = optimizer.update(Step(b, value, grad, step, hyper, read_state, write_state))
    b.insert(WriteOp(new_value, param))


def _known_shape(grad: SSAValue) -> SSAValue:
    """The gradient before a cast to a more dynamic type: the gradient of a
    reallocated parameter read where its shape is known is computed at that
    shape, and cast to the parameter's dynamic type only to meet it."""
    owner = grad.owner
    if isinstance(owner, CastOp) and is_static(shape_of(owner.source.type)):
        return owner.source
    return grad


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
        growth = [o for o in before.ops if AFTER_STEP_ATTR in o.attributes]
        for after in growth:
            after.detach()
            del after.attributes[AFTER_STEP_ATTR]
        b = NomaBuilder(InsertPoint.before(until), op.location)
        if epoch_end is None:
            budget = _step_budget(b, iteration, until.condition, op.max_iterations)
            # The step, then the growth the body requested, unless the loop stops.
            step = self._step(op, params, grads, growth)
            b.insert(scf.IfOp(budget.go_on, [], Region(step)))
        else:
            iteration.name_hint = "passes"
            # Every block steps where the mark stands, right after its `batch`
            # body: what follows (the end of the pass, `until`) sees the step.
            at_mark = NomaBuilder(InsertPoint.before(epoch_end), op.location)
            for param, grad in zip(params, grads):
                emit_step(at_mark, op, param, grad)
            budget = _pass_budget(b, iteration, until.condition, op.max_iterations, epoch_end.last)
            rewriter.erase(epoch_end)
            if growth:
                grow = Block(growth)
                grow.add_op(scf.YieldOp())
                b.insert(scf.IfOp(budget.go_on, [], Region(grow)))
        forwarded = [budget.counter, *until.next, *(value for value, _ in exported), budget.stop]
        b.insert(scf.ConditionOp(budget.keep_going, *forwarded))
        rewriter.erase(until)

        warning = MAX_ITERATIONS_WARNING if epoch_end is None else MAX_PASSES_WARNING
        results = self._guarded_loop(op, before_region, forwarded, n_next, exported, warning)
        for (_, result), new in zip(exported, results[n_next:]):
            result.replace_all_uses_with(new)
        rewriter.replace(op, [], [*results[:n_next], *([None] * len(export_results))])

    def _guarded_loop(
        self,
        op: OptimizeOp,
        before_region: Region,
        forwarded: list[SSAValue],
        n_next: int,
        exported: list[tuple[SSAValue, SSAValue]],
        warning: str,
    ) -> list[SSAValue]:
        """The `scf.while` of `before_region` (which ends in an
        `scf.condition` of `forwarded`: the count, the carried values, the
        exports, the stop flag), entered only if the budget allows one
        iteration, since its body runs at least once; then the warning and
        the check that exported names have values. Gives the carried values
        and the exports after the loop."""
        after = Block(arg_types=[v.type for v in forwarded])
        NomaBuilder(InsertPoint.at_end(after), op.location).insert(
            scf.YieldOp(*after.args[: 1 + n_next])
        )
        loop_block = Block()
        lb = NomaBuilder(InsertPoint.at_end(loop_block), op.location)
        loop = lb.insert(
            scf.WhileOp(
                [lb.constant(0.0), *op.inits],
                [v.type for v in forwarded],
                before_region,
                Region(after),
            )
        )
        lb.insert(scf.YieldOp(*loop.results[1:]))

        outer = NomaBuilder(InsertPoint.before(op), op.location)
        runs = outer.insert(arith.CmpfOp(outer.constant(1.0), op.max_iterations, "ole")).result
        result_types = [v.type for v in forwarded[1:]]
        idle = self._no_iteration(op, [r for _, r in exported], result_types)
        ran = outer.insert(scf.IfOp(runs, result_types, Region(loop_block), Region(idle)))
        self._warn_if_not_converged(ran.results[-1], op, warning)
        if exported:
            outer.insert(AssertOp(runs, NO_ITERATION_ERROR, [op.max_iterations]))
        return list(ran.results[:-1])

    @staticmethod
    def _step(
        op: OptimizeOp,
        params: list[SSAValue],
        grads: list[SSAValue],
        growth: list[Operation],
    ) -> Block:
        """A block with one optimizer step, then `growth`, then a yield."""
        step = Block()
        sb = NomaBuilder(InsertPoint.at_end(step), op.location)
        for param, grad in zip(params, grads):
            emit_step(sb, op, param, grad)
        for after in growth:
            step.add_op(after)
        sb.insert(scf.YieldOp())
        return step

    @staticmethod
    def _no_iteration(op: OptimizeOp, exported: list[SSAValue], types: list[Attribute]) -> Block:
        """When the budget allows no iteration: the carried values as they
        came in, placeholders for the names of the body used after the loop
        (never read: that is a run-time error after the warning), and no stop."""
        block = Block()
        b = NomaBuilder(InsertPoint.at_end(block), op.location)
        values: list[SSAValue] = list(op.inits)
        values += [_placeholder(b, r.type) for r in exported]
        values.append(b.insert(arith.ConstantOp(IntegerAttr(0, i1))).result)
        assert [v.type for v in values] == types
        b.insert(scf.YieldOp(*values))
        return block

    @staticmethod
    def _warn_if_not_converged(stop: SSAValue, op: OptimizeOp, warning: str) -> None:
        owner = stop.owner
        assert isinstance(owner, Operation)
        b = NomaBuilder(InsertPoint.after(owner), op.location)
        not_converged = b.insert(arith.XOrIOp(stop, _true(b))).result
        block = Block()
        NomaBuilder(InsertPoint.at_end(block), op.location).insert(
            WarningOp(warning, op.max_iterations)
        )
        NomaBuilder(InsertPoint.at_end(block), op.location).insert(scf.YieldOp())
        b.insert(scf.IfOp(not_converged, [], Region(block)))


def _placeholder(b: NomaBuilder, t: Attribute) -> SSAValue:
    """Some value of type `t` (zeros, dynamic dimensions 1), never read."""
    if t == f64:
        return b.constant(0.0)
    dims = [b.constant(1.0 if d is None else float(d)) for d in shape_of(t)]
    return b.insert(FillOp(dims, b.constant(0.0), t)).result


class ExpandResetOptimizer(RewritePattern):
    """`noma.reset_optimizer` zeroes each parameter's moments and step count."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ResetOptimizerOp, rewriter: PatternRewriter) -> None:
        b = NomaBuilder(InsertPoint.before(op), op.location)
        for param in op.params:
            value = b.insert(ReadOp(param)).value
            zeros = b.zeros_like(value)
            for slot in moment_slots():
                b.insert(StateWriteOp(zeros, param, slot))
            b.insert(StateWriteOp(b.constant(0.0), param, STEP_SLOT))
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
