"""`batch` loops (LANGUAGE.md section 4): consecutive blocks of `n` rows of
one tensor, or of several in lockstep, the last block possibly shorter.

    batch xb, yb, i in X, Y with n { body }

A `batch` loop is an `scf.while` like a `while` loop: it carries the block
number and the outer variables its body assigns. Each block is a
`noma.rows` of each tensor. The tensors and the batch size are evaluated
once, before the first block; the batch size is truncated toward zero and
must be at least 1, and the tensors must have the same number of rows,
checked when compiling where it is known and at run time otherwise.

A `batch` loop holding the `minimize` of an optimize body is mini-batch
training instead (`minibatch.py`); it shares the block arithmetic here.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import f64
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.creation import DimOp
from noma.dialects.noma.io import AssertOp
from noma.dialects.noma.shapes import shape_of, type_of
from noma.dialects.noma.slicing import RowsOp
from noma.frontend import ast
from noma.frontend.irgen.context import RETURNED, GenContext, StatementTable
from noma.frontend.irgen.control_flow import ControlFlowGen
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.returns import ReturnGen
from noma.frontend.irgen.scope import Binding, Scope, ValueBinding, binding_value, with_value
from noma.frontend.irgen.statements import StatementGen
from noma.frontend.irgen.tensors import constant_of, literal_number, require_scalar

BATCH_SIZE_ERROR = "a batch size must be at least 1, got {0}"
ROW_COUNT_ERROR = "the tensors of a `batch` must have the same number of rows, got {0} and {1}"


def has_minimize(stmts: tuple[ast.Stmt, ...]) -> bool:
    """Whether one of the statements themselves (not nested) is `minimize`."""
    return any(isinstance(s, ast.Minimize) for s in stmts)


@dataclass(frozen=True)
class BlockWalk:
    """How a `batch` loop splits its tensors: every block but the last has
    `per_block` rows (the batch size, truncated, and at most `rows`)."""

    sources: list[SSAValue]
    rows: SSAValue
    """The number of rows of every source, as an f64."""
    per_block: SSAValue
    block_types: list[Attribute]
    """The type of each source's blocks: static rows when every block has
    the same, known, size."""


@dataclass(frozen=True)
class Blocks:
    """The blocks of one iteration of a `batch` loop."""

    values: list[SSAValue]
    start: SSAValue
    """The first row of the blocks, as an f64."""


class BatchGen:
    def __init__(
        self,
        ctx: GenContext,
        exprs: ExpressionGen,
        statements: StatementGen,
        control: ControlFlowGen,
        returns: ReturnGen,
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.statements = statements
        self.control = control
        """For the variables the loop carries."""
        self.returns = returns

    def statement_handlers(self) -> StatementTable:
        return {ast.Batch: self.gen_batch}

    # -- what a loop walks through ----------------------------------------------

    def gen_batch_sources(self, stmt: ast.Batch) -> list[SSAValue]:
        """The tensors of a `batch`, each of rank 1 or more, with the same
        number of rows (a compile error where both are known, else checked
        when the loop starts)."""
        ctx = self.ctx
        values = []
        for expr in stmt.sources:
            value = self.exprs.gen_expr(expr)
            if value.type == f64:
                raise ctx.error(
                    expr.loc, "`batch` needs a tensor to split into blocks of rows, got a scalar"
                )
            values.append(value)
        first_rows = shape_of(values[0].type)[0]
        for expr, value in zip(stmt.sources[1:], values[1:]):
            rows = shape_of(value.type)[0]
            if first_rows is not None and rows is not None:
                if rows != first_rows:
                    raise ctx.error(expr.loc, ROW_COUNT_ERROR.format(first_rows, rows))
                continue
            with ctx.at(expr.loc):
                expected, actual = self.row_count(values[0]), self.row_count(value)
                same = ctx.emit(arith.CmpfOp(expected, actual, "oeq")).result
                ctx.emit(AssertOp(same, ROW_COUNT_ERROR, [expected, actual]))
        return values

    def gen_batch_size(self, stmt: ast.Batch) -> SSAValue:
        """The batch size: a scalar of at least 1 (a compile error for a
        constant, else checked when the loop starts)."""
        ctx = self.ctx
        loc = stmt.batch_size.loc
        value = require_scalar(self.exprs.gen_expr(stmt.batch_size), loc, "the batch size")
        constant = literal_number(stmt.batch_size)
        if constant is None:
            constant = constant_of(value)
        if constant is not None:
            if not constant >= 1:
                raise ctx.error(loc, BATCH_SIZE_ERROR.format(f"{constant:g}"))
            return value
        with ctx.at(loc):
            at_least_one = ctx.emit(arith.CmpfOp(value, ctx.constant(1.0), "oge")).result
            ctx.emit(AssertOp(at_least_one, BATCH_SIZE_ERROR, [value]))
        return value

    def row_count(self, value: SSAValue) -> SSAValue:
        ctx = self.ctx
        rows = shape_of(value.type)[0]
        if rows is not None:
            return ctx.constant(float(rows))
        return ctx.emit(DimOp(value, 0)).result

    def block_walk(self, sources: list[SSAValue], size: SSAValue) -> BlockWalk:
        """The row count and block size of a loop over `sources`."""
        ctx = self.ctx
        rows = self.row_count(sources[0])
        per_block = ctx.b.binary(ew.MinOp, ctx.b.unary(ew.FloorOp, size), rows)
        # Every block has the same, known, number of rows when the batch size
        # is a constant that divides the rows (or exceeds them: one block).
        static_rows: int | None = None
        constant_size, known_rows = constant_of(size), shape_of(sources[0].type)[0]
        if constant_size is not None and known_rows is not None:
            candidate = min(int(constant_size), known_rows)
            static_rows = candidate if known_rows % candidate == 0 else None
        block_types = [type_of((static_rows, *shape_of(s.type)[1:])) for s in sources]
        return BlockWalk(sources, rows, per_block, block_types)

    def gen_blocks(self, walk: BlockWalk, block_number: SSAValue) -> Blocks:
        """Block number `block_number` of each source: `per_block` rows from
        row `block_number * per_block`, fewer at the end."""
        ctx = self.ctx
        start = ctx.b.mul(block_number, walk.per_block)
        count = ctx.b.binary(ew.MinOp, walk.per_block, ctx.b.sub(walk.rows, start))
        values = [
            ctx.emit(RowsOp(source, start, count, t)).result
            for source, t in zip(walk.sources, walk.block_types)
        ]
        return Blocks(values, start)

    def is_last_block(self, walk: BlockWalk, blocks: Blocks) -> SSAValue:
        """1.0 when the blocks reach the last row, else 0.0."""
        ctx = self.ctx
        end = ctx.b.add(blocks.start, walk.per_block)
        return ctx.b.cmp("ge", end, walk.rows)

    def bind_blocks(self, stmt: ast.Batch, scope: Scope, blocks: Blocks, number: SSAValue) -> None:
        for name, value in zip(stmt.names, blocks.values):
            scope.define(name, ValueBinding(value))
        if stmt.index is not None:
            scope.define(stmt.index, ValueBinding(number))

    # -- a batch loop ----------------------------------------------------------------

    def gen_batch(self, stmt: ast.Batch) -> None:
        ctx = self.ctx
        if ctx.optimize is None and has_minimize(stmt.body):
            minimize = next(s for s in stmt.body if isinstance(s, ast.Minimize))
            raise ctx.error(
                minimize.loc,
                "`minimize` in a `batch` loop is mini-batch training, which needs an "
                "optimize loop around the `batch` loop",
            )
        with ctx.at(stmt.loc):
            sources = self.gen_batch_sources(stmt)
            size = self.gen_batch_size(stmt)
            walk = self.block_walk(sources, size)
        carried = self.control.loop_carried(stmt.body)
        parent = ctx.scope
        bindings = [parent.lookup(n) for n in carried]
        types = [binding_value(b).type for b in bindings if b is not None]
        while True:
            attempt = self._batch_regions(stmt, walk, carried, bindings, types)
            if isinstance(attempt, tuple):
                break
            types = attempt  # a carried tensor changed shape: generalise, again
        before, after = attempt
        with ctx.at(stmt.loc):
            inits = [ctx.cast_to(binding_value(b), t) for b, t in zip(bindings, types) if b]
            loop = ctx.emit(
                scf.WhileOp(
                    [ctx.constant(0.0), *inits], [f64, *types], Region(before), Region(after)
                )
            )
        for name, binding, result in zip(carried, bindings, loop.results[1:]):
            assert binding is not None
            parent.rebind(name, with_value(binding, result))

    def _batch_regions(
        self,
        stmt: ast.Batch,
        walk: BlockWalk,
        carried: list[str],
        bindings: list[Binding | None],
        types: list[Attribute],
    ) -> tuple[Block, Block] | list[Attribute]:
        """The before block (is there a block left?) and the after block (the
        body on one block) of the loop, or more general carried types when
        the body changes the type of a carried variable."""
        ctx = self.ctx
        parent = ctx.scope

        def carried_scope(block: Block) -> Scope:
            scope = Scope(parent)
            for name, binding, arg in zip(carried, bindings, block.args[1:]):
                assert binding is not None
                scope.define(name, with_value(binding, arg))
            return scope

        before = Block(arg_types=[f64, *types])
        before.args[0].name_hint = "block"
        with ctx.inside(before, carried_scope(before)), ctx.at(stmt.loc):
            start = ctx.b.mul(before.args[0], walk.per_block)
            more = ctx.emit(arith.CmpfOp(start, walk.rows, "olt")).result
            if ctx.uses_return_flag and RETURNED in carried:
                more = ctx.emit(arith.AndIOp(more, self.returns.not_returned())).result
            ctx.emit(scf.ConditionOp(more, *before.args))

        after = Block(arg_types=[f64, *types])
        body_scope = Scope(carried_scope(after))
        number = after.args[0]
        number.name_hint = "block"
        with ctx.inside(after, body_scope):
            with ctx.at(stmt.loc):
                blocks = self.gen_blocks(walk, number)
            self.bind_blocks(stmt, body_scope, blocks, number)
            self.statements.gen_nested_block(stmt.body)
            next_values, joined = self.control.next_carried(carried, types, body_scope, stmt.loc)
            if joined != types:
                return joined
            with ctx.at(stmt.loc):
                ctx.emit(scf.YieldOp(ctx.b.add(number, ctx.constant(1.0)), *next_values))
        return before, after
