"""Statements: bindings, parameters, buffers and the dispatch to control flow,
the optimize loop and I/O."""

from __future__ import annotations

from xdsl.dialects.builtin import f64

from noma.dialects.noma import storage
from noma.dialects.noma.training import MinimizeOp
from noma.frontend import ast
from noma.frontend.irgen.base import RESULT, RETURNED
from noma.frontend.irgen.control_flow import contains_return
from noma.frontend.irgen.files import FilesMixin
from noma.frontend.irgen.optimize import OptimizeMixin
from noma.frontend.irgen.scope import ParamBinding, ValueBinding


class StatementsMixin(OptimizeMixin, FilesMixin):
    """Statements; storage declarations come from `GrowthMixin`."""

    def gen_block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1 :]
            if isinstance(stmt, ast.Return):
                self.gen_return(stmt)
                if rest:
                    raise self.error(rest[0].loc, "this code is never run: it follows a `return`")
                return
            self.gen_stmt(stmt)
            if rest and self.state.uses_return_flag and contains_return((stmt,)):
                self.gen_unless_returned(rest, rest[0].loc)
                return

    def gen_stmt(self, stmt: ast.Stmt) -> None:
        with self.at(stmt.loc):
            match stmt:
                case ast.Let(name=name, value=value):
                    self.scope.define(name, ValueBinding(self.gen_expr(value)))
                case ast.Assign():
                    self.gen_assign(stmt)
                case ast.Learn():
                    self.gen_learn(stmt)
                case ast.ExprStmt(value=value):
                    self.gen_expr_statement(value)
                case ast.If():
                    self.gen_if(stmt)
                case ast.While():
                    self.gen_while(stmt)
                case ast.Optimize():
                    self.gen_optimize(stmt)
                case ast.Minimize():
                    self.gen_minimize(stmt)
                case ast.ResetOptimizer():
                    self.gen_reset_optimizer(stmt)
                case ast.Alloc():
                    self.gen_alloc(stmt)
                case ast.Realloc():
                    self.gen_realloc(stmt)
                case ast.Free():
                    self.gen_free(stmt)
                case ast.Batch():
                    self.gen_batch(stmt)
                case ast.LoadCsv():
                    self.gen_load_csv(stmt)
                case ast.SaveCsv():
                    self.gen_save_csv(stmt)
                case ast.LoadSafetensors():
                    self.gen_load_safetensors(stmt)
                case ast.SaveSafetensors():
                    self.gen_save_safetensors(stmt)
                case _:
                    raise self.error(stmt.loc, f"unexpected statement {type(stmt).__name__}")

    def gen_expr_statement(self, value: ast.Expr) -> None:
        if isinstance(value, ast.Call):
            self.gen_call_for_effect(value)
        else:
            self.gen_expr(value)

    # -- variables and parameters ----------------------------------------------

    def gen_assign(self, stmt: ast.Assign) -> None:
        if stmt.name in (RETURNED, RESULT):
            raise self.error(stmt.loc, f"unknown variable '{stmt.name}'")
        binding = self.scope.lookup(stmt.name)
        if binding is None:
            raise self.error(
                stmt.loc,
                f"assignment to undeclared variable '{stmt.name}'; declare it with "
                f"`let {stmt.name} = ...;`",
            )
        value = self.gen_expr(stmt.value)
        if isinstance(binding, ValueBinding):
            # A variable may take a value of another shape; control flow merges
            # join the shapes (see `joined`).
            self.scope.rebind(stmt.name, ValueBinding(value))
            return
        if isinstance(binding, ParamBinding) and self.state.optimize is not None:
            raise self.error(
                stmt.loc,
                f"cannot assign to learnable parameter '{stmt.name}' inside an optimize "
                "loop: the optimizer updates it",
            )
        self.write_storage(stmt.name, binding, value, stmt.value.loc)

    def gen_minimize(self, stmt: ast.Minimize) -> None:
        ctx = self.state.optimize
        if ctx is None:
            raise self.error(stmt.loc, "`minimize` must be inside an optimize loop")
        if ctx.nesting > 0:
            raise self.error(
                stmt.loc,
                "`minimize` must be a statement of the optimize body itself, not "
                "nested in `if` or `while`",
            )
        if ctx.minimize_loc is not None:
            first = ctx.minimize_loc
            raise self.error(
                stmt.loc,
                f"an optimize loop has exactly one `minimize`; the first is at "
                f"{first.line}:{first.col}",
            )
        ctx.minimize_loc = stmt.loc
        objective = self.gen_expr(stmt.value)
        if objective.type != f64:
            raise self.error(
                stmt.value.loc, f"the objective must be a scalar, got a {objective.type}"
            )
        self.emit(MinimizeOp(objective))

    def gen_reset_optimizer(self, stmt: ast.ResetOptimizer) -> None:
        if stmt.params:
            handles = [self.lookup_param(p.name, p.loc).handle for p in stmt.params]
        else:
            handles = [
                b.handle for b in self.scope.visible_names().values() if isinstance(b, ParamBinding)
            ]
        self.emit(storage.ResetOptimizerOp(handles))
