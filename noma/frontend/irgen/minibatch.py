"""Mini-batch training (LANGUAGE.md section 5): an optimize body whose
`batch` loop holds the `minimize` steps once per block and checks `until`
once per pass over the data.

    optimize(W) with sgd(0.1) until pass_loss < 1e-6 {
        let pass_loss = 0;                      // once per pass
        batch xb, yb in X, Y with 4 {           // once per block
            let loss = mean((matmul(xb, W) - yb) ** 2);
            pass_loss = pass_loss + loss;
            minimize loss;                      // one step per block
        }
        print(pass_loss);                       // once per pass
    }

One iteration of the `noma.optimize` is one block, so that autodiff and the
optimizer step see an ordinary body: the `batch` body is generated at the
body's top level, on the block that a hidden carried block number selects.
The statements before the `batch` loop run under an `scf.if` on the first
block of a pass, together with the evaluation of the tensors and the batch
size; the names they define are carried from block to block. Right after
the `batch` body comes `noma.epoch_end`: `expand-optimizers` puts the
block's step there, so every block steps, the last one included, before
what follows. The statements after the `batch` loop then run, with the
`until` condition, under an `scf.if` on the last block: they see the
parameters after every step of the pass. The mark also tells which
iteration ends a pass: the condition counts only there, and
`max_iterations` counts passes.

Moving the step to the mark, rather than evaluating the end of a pass at
the start of the next iteration, keeps one iteration one block: no partial
iteration is needed after the last pass, and what the pass's end defines is
exported from the iteration that computed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects import arith
from xdsl.dialects.builtin import f64
from xdsl.ir import Attribute, Block, Operation, SSAValue

from noma.dialects.noma.epochs import EpochEndOp
from noma.dialects.noma.storage import ReadOp
from noma.dialects.noma.training import MinimizeOp, UntilOp
from noma.dialects.noma.types import ParamType
from noma.frontend import ast
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.batch import BatchGen, has_minimize
from noma.frontend.irgen.branches import Branches
from noma.frontend.irgen.context import GenContext, OptimizeContext
from noma.frontend.irgen.control_flow import ControlFlowGen
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.growth import GrowthGen
from noma.frontend.irgen.scope import Binding, Scope, ValueBinding, binding_value, with_value
from noma.frontend.irgen.statements import StatementGen
from noma.frontend.irgen.tensors import (
    constant_of,
    joined_type,
    joined_variable_type,
    require_scalar,
)

SOURCE = "$batch.source{}"
"""Pseudo-variable: a tensor of the `batch` loop, evaluated once per pass."""
SIZE = "$batch.size"
"""Pseudo-variable: the batch size, evaluated once per pass."""
UNTIL = "$until"
"""Pseudo-variable: the `until` condition, evaluated on a pass's last block."""


@dataclass(frozen=True)
class HiddenCarried:
    """A value an optimize loop carries for itself, after the variables of
    the program."""

    type: Attribute
    initial: float | None
    """Its value before the first iteration; None when any value of its type
    will do, because the first iteration sets it before reading it."""


@dataclass
class OptimizeBody:
    """The body block of a `noma.optimize` and what it exports."""

    block: Block
    exports: dict[str, SSAValue]
    hidden: list[HiddenCarried] = field(default_factory=list)
    """Carried after the program's variables (block arguments and `next`
    values in this order)."""


@dataclass
class PassInputs:
    """What the first block of a pass makes for the pass's other blocks."""

    carried: dict[str, SSAValue] = field(default_factory=dict)
    """By name: variables the statements before the `batch` loop define, and
    the tensors and batch size (pseudo-variables), as the first block leaves
    them or as the previous block passed them on."""
    names: list[str] = field(default_factory=list)
    """The carried names in the order of their block arguments."""
    invariant: dict[str, SSAValue] = field(default_factory=dict)
    """Tensors and batch size defined before the optimize loop."""
    constant_size: float | None = None

    def get(self, name: str) -> SSAValue:
        return self.invariant[name] if name in self.invariant else self.carried[name]

    def sources(self, batch: ast.Batch) -> list[SSAValue]:
        return [self.get(SOURCE.format(j)) for j in range(len(batch.sources))]

    def size(self, ctx: GenContext) -> SSAValue:
        if self.constant_size is not None:
            return ctx.constant(self.constant_size)  # known: blocks may be static
        return self.get(SIZE)

    def current(self, name: str, scope: Scope) -> SSAValue:
        """The value of carried `name` now (a variable may have changed)."""
        return self.get(name) if name.startswith("$") else binding_value(_bound(scope, name))


def minibatch_statement(body: tuple[ast.Stmt, ...]) -> ast.Batch | None:
    """The `batch` loop of an optimize body that holds its `minimize`."""
    return next((s for s in body if isinstance(s, ast.Batch) and has_minimize(s.body)), None)


def _nested_in(block: Block | None, blocks: tuple[Block, ...]) -> bool:
    """Whether `block` is one of `blocks` or nested in an op of one. (While
    IR is generated, blocks are not attached yet: the chain of parents ends
    at the outermost block being filled.)"""
    while block is not None:
        if any(block is b for b in blocks):
            return True
        parent = block.parent_op()
        block = parent.parent_block() if parent is not None else None
    return False


def _made_in(value: SSAValue, blocks: tuple[Block, ...]) -> bool:
    """Whether `value` is made in one of `blocks` or nested in one."""
    owner = value.owner
    return _nested_in(owner if isinstance(owner, Block) else owner.parent_block(), blocks)


def depends_on(value: SSAValue, found: Callable[[SSAValue], bool], within: Block) -> bool:
    """Whether `value` is computed, through the ops of `within`, from a value
    for which `found` holds. An op with regions counts as using every value
    its nested ops use."""
    stack, seen = [value], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if found(current):
            return True
        owner = current.owner
        if isinstance(owner, Operation) and _nested_in(owner.parent_block(), (within,)):
            for inner in owner.walk():
                stack.extend(inner.operands)
    return False


def _is_parameter_read(value: SSAValue) -> bool:
    owner = value.owner
    return isinstance(owner, ReadOp) and isinstance(owner.handle.type, ParamType)


class MinibatchGen:
    def __init__(
        self,
        ctx: GenContext,
        exprs: ExpressionGen,
        statements: StatementGen,
        control: ControlFlowGen,
        branches: Branches,
        batch: BatchGen,
        growth: GrowthGen,
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.statements = statements
        self.control = control
        """For the variables the loop carries."""
        self.branches = branches
        self.batch = batch
        """For the blocks of rows."""
        self.growth = growth
        """For the `realloc`s deferred to after the step."""

    def minibatch_body(
        self,
        stmt: ast.Optimize,
        batch: ast.Batch,
        carried: list[str],
        bindings: list[Binding | None],
        types: list[Attribute],
        pass_types: dict[str, Attribute],
    ) -> OptimizeBody | list[Attribute]:
        """The body of a mini-batch optimize loop, one block per iteration,
        or more general carried types when the body changes the type of a
        carried variable. `pass_types` holds the types of the values carried
        from block to block, made more general from one attempt to the next."""
        ctx = self.ctx
        body = Block(arg_types=[*types, f64])
        carried_scope = Scope(ctx.scope)
        for name, binding, arg in zip(carried, bindings, body.args):
            assert binding is not None
            carried_scope.define(name, with_value(binding, arg))
        body_scope = Scope(carried_scope)
        ctx.optimize = OptimizeContext(stmt.loc)
        try:
            with ctx.inside(body, body_scope):
                return self._minibatch_block(stmt, batch, body, carried, types, pass_types)
        finally:
            ctx.optimize = None

    def _minibatch_block(
        self,
        stmt: ast.Optimize,
        batch: ast.Batch,
        body: Block,
        carried: list[str],
        types: list[Attribute],
        pass_types: dict[str, Attribute],
    ) -> OptimizeBody | list[Attribute]:
        ctx = self.ctx
        optimize = ctx.optimize
        assert optimize is not None
        body_scope = ctx.scope
        position = next(i for i, s in enumerate(stmt.body) if s is batch)
        before_batch, after_batch = stmt.body[:position], stmt.body[position + 1 :]
        number = body.args[len(types)]
        number.name_hint = batch.index or "block"
        optimize.deferred = self.growth.declare_deferred_growth(stmt.body)

        with ctx.at(batch.loc):
            first = ctx.emit(arith.CmpfOp(number, ctx.constant(0.0), "oeq")).result
        inputs = self._first_block(batch, before_batch, body, first, pass_types)

        # Once per block: the block's rows and the `batch` body, whose own
        # names stay visible in the optimize body (the statements after the
        # loop, `until`, after training) with their values on the last block.
        with ctx.at(batch.loc):
            walk = self.batch.block_walk(inputs.sources(batch), inputs.size(ctx))
            blocks = self.batch.gen_blocks(walk, number)
        loop_scope = Scope(body_scope)
        self.batch.bind_blocks(batch, loop_scope, blocks, number)
        batch_scope = Scope(loop_scope)
        with ctx.inside(body, batch_scope):
            self.statements.gen_block(batch.body)
        batch_scope.merge_writes_into_parent()
        loop_scope.merge_writes_into_parent()
        next_pass_values = [inputs.current(n, body_scope) for n in inputs.names]
        for name, binding in batch_scope.defs.items():
            body_scope.define(name, binding)

        with ctx.at(batch.loc):
            last = self.batch.is_last_block(walk, blocks)
            is_last = ctx.truthy(last)
            # The block's step goes here: the end of the pass sees it.
            ctx.emit(EpochEndOp(last))
        condition = self._last_block(stmt, after_batch, is_last)
        self.growth.emit_deferred_growth(optimize.deferred)

        # What the next iteration gets.
        next_values, joined = self.control.next_carried(carried, types, body_scope, stmt.loc)
        if joined != types:
            return joined
        generalised = False
        for name, value in zip(inputs.names, next_pass_values):
            wider = joined_variable_type(name, value, pass_types[name], stmt.loc)
            if wider != pass_types[name]:
                pass_types[name] = wider  # type: ignore[assignment]
                generalised = True
        if generalised:
            return types  # generate again with the wider block-to-block types
        exports = {
            name: b.value
            for name, b in body_scope.defs.items()
            if isinstance(b, ValueBinding) and not name.startswith("$")
        }
        with ctx.at(batch.loc):
            following = ctx.b.add(number, ctx.constant(1.0))
            next_number = ctx.emit(arith.SelectOp(is_last, ctx.constant(0.0), following)).result
        with ctx.at(stmt.loc):
            pass_nexts = [
                ctx.cast_to(v, pass_types[n]) for n, v in zip(inputs.names, next_pass_values)
            ]
            nexts = [*next_values, next_number, *pass_nexts]
            ctx.emit(UntilOp(condition, nexts, list(exports.values())))
        self.reject_stale_objective(body, inputs, before_batch, batch)
        hidden = [
            HiddenCarried(f64, 0.0),
            *(HiddenCarried(pass_types[n], None) for n in inputs.names),
        ]
        return OptimizeBody(body, exports, hidden)

    def _first_block(
        self,
        batch: ast.Batch,
        before_batch: tuple[ast.Stmt, ...],
        body: Block,
        first: SSAValue,
        pass_types: dict[str, Attribute],
    ) -> PassInputs:
        """On a pass's first block: the statements before the `batch` loop,
        and the evaluation of its tensors and batch size. What they make is
        carried from block to block through the pass, except what comes from
        before the loop (typically the data set itself) and a constant batch
        size, which are used as they are."""
        ctx = self.ctx
        inputs = PassInputs()

        def statements() -> dict[str, SSAValue]:
            self.statements.gen_block(before_batch)
            values = self.let_defined()
            with ctx.at(batch.loc):
                sources = self.batch.gen_batch_sources(batch)
                size = self.batch.gen_batch_size(batch)
            here = (body, ctx.b.insertion_point.block)
            for j, source in enumerate(sources):
                if _made_in(source, here):
                    values[SOURCE.format(j)] = source
                else:
                    inputs.invariant[SOURCE.format(j)] = source
            inputs.constant_size = constant_of(size)
            if inputs.constant_size is None:
                if _made_in(size, here):
                    values[SIZE] = size
                else:
                    inputs.invariant[SIZE] = size
            return values

        def previous_block(name: str, t: Attribute) -> SSAValue:
            declared = joined_type(t, pass_types.get(name, t))
            assert declared is not None, "generated again, a value keeps its rank"
            pass_types[name] = declared  # type: ignore[assignment]
            inputs.names.append(name)
            return body.insert_arg(declared, len(body.args))  # type: ignore[arg-type]

        inputs.carried = self.gen_once(first, batch.loc, statements, previous_block, "$pass.")
        for name, value in inputs.carried.items():
            if not name.startswith("$"):
                ctx.scope.define(name, ValueBinding(value))
        return inputs

    def _last_block(
        self, stmt: ast.Optimize, after_batch: tuple[ast.Stmt, ...], is_last: SSAValue
    ) -> SSAValue:
        """On a pass's last block: the statements after the `batch` loop and
        the `until` condition (0 on the other blocks), which it gives."""
        ctx = self.ctx

        def statements() -> dict[str, SSAValue]:
            self.statements.gen_block(after_batch)
            values = self.let_defined()
            with ctx.at(stmt.until.loc):
                condition = self.exprs.gen_expr(stmt.until)
                require_scalar(condition, stmt.until.loc, "the `until` condition")
            values[UNTIL] = condition
            return values

        values = self.gen_once(
            is_last, stmt.loc, statements, lambda _, t: ctx.placeholder(t), "$last."
        )
        for name, value in values.items():
            if not name.startswith("$"):
                ctx.scope.define(name, ValueBinding(value))
        return values[UNTIL]

    # -- helpers ---------------------------------------------------------------------

    def gen_once(
        self,
        condition: SSAValue,
        loc: SourceLoc,
        statements: Callable[[], dict[str, SSAValue]],
        otherwise: Callable[[str, Attribute], SSAValue],
        prefix: str,
    ) -> dict[str, SSAValue]:
        """Run `statements` only when `condition` (an i1) holds, as an `if`
        does (outer variables they assign are merged). The values they give
        by name are available after it: theirs when the condition held, else
        `otherwise(name, type)`, made before the `scf.if`."""
        ctx = self.ctx
        parent = ctx.scope
        block = ctx.b.insertion_point.block
        aliases: dict[str, str] = {}

        def then() -> None:
            for name, value in statements().items():
                alias = prefix + name.lstrip("$")
                with ctx.inside(block, parent):
                    parent.define(alias, ValueBinding(otherwise(name, value.type)))
                ctx.scope.rebind(alias, ValueBinding(value))
                aliases[name] = alias

        self.branches.gen_conditional(condition, loc, then, None)
        return {name: binding_value(_bound(parent, alias)) for name, alias in aliases.items()}

    def let_defined(self) -> dict[str, SSAValue]:
        """The variables the current scope defined, by name; a buffer made
        there is an error (it cannot be carried from one block to the next)."""
        ctx = self.ctx
        values = {}
        for name, binding in ctx.scope.defs.items():
            if not isinstance(binding, ValueBinding):
                raise ctx.error(
                    binding.loc,
                    f"'{name}' cannot be made once per pass, outside the `batch` loop of a "
                    "mini-batch optimize body; make it before the optimize loop",
                )
            values[name] = binding.value
        return values

    def reject_stale_objective(
        self,
        body: Block,
        inputs: PassInputs,
        before_batch: tuple[ast.Stmt, ...],
        batch: ast.Batch,
    ) -> None:
        """A value computed from a parameter once per pass, on its first
        block, is carried unchanged through the pass's other blocks while the
        parameter steps: an objective depending on it would get its gradient
        on the first block only. Such an objective is an error."""
        ctx = self.ctx
        minimize = next(op for op in body.ops if isinstance(op, MinimizeOp))
        for name in inputs.names:
            result = inputs.carried[name]
            if_op = result.owner
            assert isinstance(if_op, Operation)
            then_block = if_op.regions[0].block
            assert then_block.last_op is not None
            yielded = then_block.last_op.operands[result.index]  # type: ignore[attr-defined]
            if not depends_on(yielded, _is_parameter_read, then_block):
                continue
            if not depends_on(minimize.objective, lambda v, r=result: v is r, body):
                continue
            if name == SIZE:
                loc, what = batch.batch_size.loc, "the batch size"
            elif name.startswith("$batch.source"):
                index = int(name.removeprefix("$batch.source"))
                loc, what = batch.sources[index].loc, "this tensor"
            else:
                loc = next(
                    s.loc
                    for s in reversed(before_batch)
                    if isinstance(s, ast.Let) and s.name == name
                )
                what = f"'{name}'"
            raise ctx.error(
                loc,
                f"the objective depends on {what}, which is computed from a learnable parameter "
                "once per pass, before the `batch` loop: it does not follow the steps taken "
                "on the pass's blocks; compute it inside the `batch` loop",
            )


def _bound(scope: Scope, name: str) -> Binding:
    binding = scope.lookup(name)
    assert binding is not None
    return binding
