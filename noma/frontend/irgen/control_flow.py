"""`if` and `while` as structured control flow, and what every loop shares:
which outer variables it carries.

Branches become `scf.if` whose results are the variables the branches assign
(`branches.py`); loops become `scf.while` whose carried values are the
variables the body may assign. `batch` loops and the optimize loop carry
their variables the same way (`loop_carried`, `next_carried`).
"""

from __future__ import annotations

from collections.abc import Iterator

from xdsl.dialects import arith, scf
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.frontend import ast
from noma.frontend.checks import child_bodies
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.branches import Branches
from noma.frontend.irgen.context import RESULT, RETURNED, GenContext, StatementTable
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.returns import ReturnGen
from noma.frontend.irgen.scope import (
    Binding,
    Scope,
    StorageBinding,
    ValueBinding,
    binding_value,
    with_value,
)
from noma.frontend.irgen.statements import StatementGen
from noma.frontend.irgen.storage_access import StorageAccess
from noma.frontend.irgen.tensors import joined_variable_type, require_scalar


def rebound_names(stmts: tuple[ast.Stmt, ...], scope: Scope) -> Iterator[str]:
    """Names whose binding a statement list may change, nested bodies
    included: variables it assigns, buffers and parameters it reallocates or
    frees (assigning a parameter writes its storage and keeps the binding).
    Shadowing is ignored, which only over-approximates."""
    for s in stmts:
        match s:
            case ast.Assign(name=name) if isinstance(scope.lookup(name), ValueBinding):
                yield name
            case ast.Realloc(name=name) | ast.Free(name=name):
                yield name
            case ast.Return():
                yield RETURNED
                yield RESULT
            case _:
                pass
        for body in child_bodies(s):
            yield from rebound_names(body, scope)


class ControlFlowGen:
    def __init__(
        self,
        ctx: GenContext,
        exprs: ExpressionGen,
        statements: StatementGen,
        storage: StorageAccess,
        branches: Branches,
        returns: ReturnGen,
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.statements = statements
        self.storage = storage
        self.branches = branches
        self.returns = returns

    def statement_handlers(self) -> StatementTable:
        return {ast.If: self.gen_if, ast.While: self.gen_while}

    # -- if --------------------------------------------------------------------

    def gen_if(self, stmt: ast.If) -> None:
        ctx = self.ctx
        with ctx.at(stmt.cond.loc):
            value = self.exprs.gen_expr(stmt.cond)
            cond = ctx.truthy(require_scalar(value, stmt.cond.loc, "the condition of `if`"))
        else_body = stmt.else_body
        nested_block = self.statements.gen_nested_block
        self.branches.gen_conditional(
            cond,
            stmt.loc,
            lambda: nested_block(stmt.then_body),
            (lambda: nested_block(else_body)) if else_body is not None else None,
        )

    # -- what loops carry ----------------------------------------------------------

    def loop_carried(self, body: tuple[ast.Stmt, ...]) -> list[str]:
        """Outer variables the body may change, in a stable order: values
        become loop-carried; what is known of storage the body reallocates
        or frees is forgotten before the loop (the storage itself is not
        carried, its handle stays the same)."""
        scope = self.ctx.scope
        visible = scope.visible_names()
        wanted = set(rebound_names(body, scope))
        storage = [n for n in visible if n in wanted and isinstance(visible[n], StorageBinding)]
        self.storage.forget_storage_facts(storage, body)
        return [n for n in visible if n in wanted and n not in storage]

    @staticmethod
    def next_carried(
        carried: list[str], types: list[Attribute], body: Scope, loc: SourceLoc
    ) -> tuple[list[SSAValue], list[Attribute]]:
        """The values a loop body leaves in its carried variables, and the
        join of their types with the types the loop carried them with."""
        values = []
        for name in carried:
            binding = body.written(name)
            assert binding is not None
            values.append(binding_value(binding))
        joined = [joined_variable_type(n, v, t, loc) for n, v, t in zip(carried, values, types)]
        return values, joined

    # -- while -------------------------------------------------------------------

    def gen_while(self, stmt: ast.While) -> None:
        ctx = self.ctx
        carried = self.loop_carried(stmt.body)
        parent = ctx.scope
        bindings = [parent.lookup(n) for n in carried]
        types = [binding_value(b).type for b in bindings if b is not None]
        while True:
            attempt = self._while_regions(stmt, carried, bindings, types)
            if isinstance(attempt, tuple):
                break
            # A carried tensor changed shape in the body: generate the loop
            # again with the joined (more dynamic) types.
            types = attempt
        before, after = attempt
        with ctx.at(stmt.loc):
            inits = [ctx.cast_to(binding_value(b), t) for b, t in zip(bindings, types) if b]
            loop = ctx.emit(scf.WhileOp(inits, types, Region(before), Region(after)))
        for name, binding, result in zip(carried, bindings, loop.results):
            assert binding is not None
            parent.rebind(name, with_value(binding, result))

    def _while_regions(
        self,
        stmt: ast.While,
        carried: list[str],
        bindings: list[Binding | None],
        types: list[Attribute],
    ) -> tuple[Block, Block] | list[Attribute]:
        """The before and after blocks of the loop, or more general carried
        types when the body changes the type of a carried variable."""
        ctx = self.ctx
        parent = ctx.scope
        before_scope = Scope(parent)
        before = Block(arg_types=types)
        for name, binding, arg in zip(carried, bindings, before.args):
            assert binding is not None
            before_scope.define(name, with_value(binding, arg))
        with ctx.inside(before, before_scope), ctx.at(stmt.cond.loc):
            value = self.exprs.gen_expr(stmt.cond)
            require_scalar(value, stmt.cond.loc, "the condition of `while`")
            cond = ctx.truthy(value)
            if ctx.uses_return_flag and RETURNED in carried:
                cond = ctx.emit(arith.AndIOp(cond, self.returns.not_returned())).result
            ctx.emit(scf.ConditionOp(cond, *before.args))

        after_scope = Scope(parent)
        after = Block(arg_types=types)
        for name, binding, arg in zip(carried, bindings, after.args):
            assert binding is not None
            after_scope.define(name, with_value(binding, arg))
        body_scope = Scope(after_scope)
        with ctx.inside(after, body_scope):
            self.statements.gen_nested_block(stmt.body)
            next_values, joined = self.next_carried(carried, types, body_scope, stmt.loc)
            if joined != types:
                return joined
            with ctx.at(stmt.loc):
                ctx.emit(scf.YieldOp(*next_values))
        return before, after
