"""Statements: the dispatch table from AST statement class to handler,
blocks (with the guard after a nested `return`), and the statements that
bind names: `let`, assignment, and expressions evaluated for effect.

Every other area adds its statements to the table (`register`; see
`function.py`), and generates nested bodies through `gen_block` or
`gen_nested_block`.
"""

from __future__ import annotations

from noma.frontend import ast
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.branches import Branches
from noma.frontend.irgen.calls import CallGen
from noma.frontend.irgen.context import RESULT, RETURNED, GenContext, StatementTable
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.returns import ReturnGen, contains_return
from noma.frontend.irgen.scope import ParamBinding, ValueBinding
from noma.frontend.irgen.storage_access import StorageAccess

MAX_RETURN_GUARDS = 200
"""How many statements that may `return` can follow each other in one
function body (see `gen_unless_returned`); the Python stack, and every pass
walking the nested regions, grow with it."""


class StatementGen:
    def __init__(
        self,
        ctx: GenContext,
        exprs: ExpressionGen,
        calls: CallGen,
        storage: StorageAccess,
        branches: Branches,
        returns: ReturnGen,
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.calls = calls
        self.storage = storage
        self.branches = branches
        self.returns = returns
        self.table: StatementTable = {
            ast.Let: self.gen_let,
            ast.Assign: self.gen_assign,
            ast.ExprStmt: self.gen_expr_statement,
        }

    def register(self, handlers: StatementTable) -> None:
        """Add another area's statements to the table."""
        self.table.update(handlers)

    # -- blocks -----------------------------------------------------------------

    def gen_block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1 :]
            self.gen_stmt(stmt)
            if isinstance(stmt, ast.Return):
                if rest:
                    raise self.ctx.error(
                        rest[0].loc, "this code is never run: it follows a `return`"
                    )
                return
            if rest and self.ctx.uses_return_flag and contains_return((stmt,)):
                self.gen_unless_returned(rest, rest[0].loc)
                return

    def gen_stmt(self, stmt: ast.Stmt) -> None:
        ctx = self.ctx
        with ctx.at(stmt.loc):
            handler = self.table.get(type(stmt))
            if handler is None:
                raise ctx.error(stmt.loc, f"unexpected statement {type(stmt).__name__}")
            handler(stmt)

    def gen_nested_block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        """A body nested in control flow inside an optimize body counts as
        nested for the rules on `minimize`."""
        optimize = self.ctx.optimize
        if optimize is not None:
            optimize.nesting += 1
        try:
            self.gen_block(stmts)
        finally:
            if optimize is not None:
                optimize.nesting -= 1

    def gen_unless_returned(self, rest: tuple[ast.Stmt, ...], loc: SourceLoc) -> None:
        """Run `rest` only if no `return` ran before it. Each such guard
        nests the rest of the function one level deeper (in the IR too), so
        their number is limited, with a located error."""
        ctx = self.ctx
        if ctx.return_guards >= MAX_RETURN_GUARDS:
            raise ctx.error(
                loc,
                f"more than {MAX_RETURN_GUARDS} statements in a row may `return` in this "
                "function, and each puts the rest of the function inside a branch: "
                "split the function",
            )
        with ctx.at(loc):
            cond = self.returns.not_returned()
        ctx.return_guards += 1
        try:
            self.branches.gen_conditional(cond, loc, lambda: self.gen_block(rest), None)
        finally:
            ctx.return_guards -= 1

    # -- variables ---------------------------------------------------------------

    def gen_let(self, stmt: ast.Let) -> None:
        self.ctx.scope.define(stmt.name, ValueBinding(self.exprs.gen_expr(stmt.value)))

    def gen_expr_statement(self, stmt: ast.ExprStmt) -> None:
        value = stmt.value
        if isinstance(value, ast.Call):
            self.calls.gen_call_for_effect(value)
        else:
            self.exprs.gen_expr(value)

    def gen_assign(self, stmt: ast.Assign) -> None:
        ctx = self.ctx
        if stmt.name in (RETURNED, RESULT):
            raise ctx.error(stmt.loc, f"unknown variable '{stmt.name}'")
        binding = ctx.scope.lookup(stmt.name)
        if binding is None:
            raise ctx.error(
                stmt.loc,
                f"assignment to undeclared variable '{stmt.name}'; declare it with "
                f"`let {stmt.name} = ...;`",
            )
        value = self.exprs.gen_expr(stmt.value)
        if isinstance(binding, ValueBinding):
            # A variable may take a value of another shape; control flow merges
            # join the shapes (see `Branches.merged_type`).
            ctx.scope.rebind(stmt.name, ValueBinding(value))
            return
        if isinstance(binding, ParamBinding) and ctx.optimize is not None:
            raise ctx.error(
                stmt.loc,
                f"cannot assign to learnable parameter '{stmt.name}' inside an optimize "
                "loop: the optimizer updates it",
            )
        self.storage.write_storage(stmt.name, binding, value, stmt.value.loc)
