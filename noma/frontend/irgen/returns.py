"""`return`. A function whose every `return` is its last statement returns
that value. Otherwise a `return` nested in control flow sets two
pseudo-variables (returned flag and result) and the statements after it run
under `scf.if !returned` (`StatementGen.gen_unless_returned`), so every
function stays in structured form, which `autodiff` differentiates.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import f64
from xdsl.ir import Attribute, SSAValue

from noma.frontend import ast
from noma.frontend.checks import child_bodies
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.context import RESULT, RETURNED, GenContext, StatementTable
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.scope import ValueBinding
from noma.frontend.irgen.tensors import describe, describe_type, joined_type


def contains_return(stmts: tuple[ast.Stmt, ...]) -> bool:
    return any(
        isinstance(s, ast.Return) or any(map(contains_return, child_bodies(s))) for s in stmts
    )


def definitely_returns(stmts: tuple[ast.Stmt, ...]) -> bool:
    for s in stmts:
        if isinstance(s, ast.Return):
            return True
        if (
            isinstance(s, ast.If)
            and s.else_body is not None
            and definitely_returns(s.then_body)
            and definitely_returns(s.else_body)
        ):
            return True
    return False


class ResultTypeRetry(Exception):
    """Generate the function again with its result variable of this type."""

    def __init__(self, result_type: Attribute, loc: SourceLoc):
        super().__init__(str(result_type))
        self.result_type = result_type
        self.loc = loc


class ReturnGen:
    def __init__(self, ctx: GenContext, exprs: ExpressionGen) -> None:
        self.ctx = ctx
        self.exprs = exprs

    def statement_handlers(self) -> StatementTable:
        return {ast.Return: self.gen_return}

    def setup_return_flag(self, body: tuple[ast.Stmt, ...]) -> None:
        """Use the flag only when some `return` is not the last statement of
        the function body."""
        ctx = self.ctx
        nested = contains_return(body[:-1]) or (
            len(body) > 0 and not isinstance(body[-1], ast.Return) and contains_return(body[-1:])
        )
        if not nested:
            return
        ctx.uses_return_flag = True
        ctx.scope.define(RETURNED, ValueBinding(ctx.constant(0.0)))
        result_type = ctx.result_type or f64
        ctx.scope.define(RESULT, ValueBinding(ctx.placeholder(result_type)))

    def not_returned(self) -> SSAValue:
        """An i1: no `return` ran yet."""
        ctx = self.ctx
        returned = ctx.scope.lookup(RETURNED)
        assert isinstance(returned, ValueBinding)
        return ctx.emit(arith.CmpfOp(returned.value, ctx.constant(0.0), "oeq")).result

    def gen_return(self, stmt: ast.Return) -> None:
        ctx = self.ctx
        if ctx.optimize is not None:
            raise ctx.error(stmt.loc, "`return` cannot leave an optimize loop")
        has_value = stmt.value is not None
        if ctx.returns_value is not None and ctx.returns_value != has_value:
            raise ctx.error(
                stmt.loc, "this function returns a value on some paths and nothing on others"
            )
        ctx.returns_value = has_value
        value = self.exprs.gen_expr(stmt.value) if stmt.value is not None else None
        if not ctx.uses_return_flag:
            ctx.final_return = (value, stmt.loc)
            return
        with ctx.at(stmt.loc):
            ctx.scope.rebind(RETURNED, ValueBinding(ctx.constant(1.0)))
            if value is not None:
                ctx.scope.rebind(RESULT, ValueBinding(self.fit_result(value, stmt.loc)))

    def fit_result(self, value: SSAValue, loc: SourceLoc) -> SSAValue:
        """`value` as the type of the result variable. The first return fixes
        that type; a later one of another shape makes it the join of both
        (the function is generated again, `ResultTypeRetry`); one of another
        rank, or a scalar against a tensor, is an error: as a variable, a
        function's result keeps its rank."""
        ctx = self.ctx
        if ctx.result_type is None:
            if value.type == f64:
                ctx.result_type = f64  # the result variable already is an f64
                return value
            raise ResultTypeRetry(value.type, loc)
        if value.type == ctx.result_type:
            return value
        joined = joined_type(value.type, ctx.result_type)
        if joined is None:
            raise ctx.error(
                loc,
                f"function '{ctx.fn.name}' returns {describe(value)} here and "
                f"{describe_type(ctx.result_type)} on another path; a function's result keeps "
                "its rank (return the same kind of value on every path)",
            )
        if joined != ctx.result_type:
            raise ResultTypeRetry(joined, loc)  # type: ignore[arg-type]
        return ctx.cast_to(value, joined)
