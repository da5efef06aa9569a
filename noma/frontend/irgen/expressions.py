"""Expressions: the dispatch table from AST expression class to handler,
and the core expressions: literals, names, operators.

Other areas add their expressions to the table (`register`): tensor
literals and indexing (`tensors.py`), calls (`calls.py`). Every generator
that evaluates a sub-expression does it through `ExpressionGen.gen_expr`.
"""

from __future__ import annotations

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import f64
from xdsl.ir import Block, Region, SSAValue

from noma.dialects.noma import elementwise as ew
from noma.frontend import ast
from noma.frontend.irgen.context import ExpressionTable, GenContext
from noma.frontend.irgen.scope import BufferBinding, ParamBinding, Scope, ValueBinding
from noma.frontend.irgen.storage_access import StorageAccess
from noma.frontend.irgen.tensors import check_broadcast, describe

ARITHMETIC: dict[str, type[ew.BinaryOp]] = {
    "+": ew.AddOp,
    "-": ew.SubOp,
    "*": ew.MulOp,
    "/": ew.DivOp,
    "%": ew.RemOp,
    "**": ew.PowOp,
}
COMPARISONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


class ExpressionGen:
    """Evaluates expressions by dispatching on their AST class."""

    def __init__(self, ctx: GenContext, storage: StorageAccess) -> None:
        self.ctx = ctx
        self.storage = storage
        self.table: ExpressionTable = {
            ast.Number: self.gen_number,
            ast.String: self.gen_string,
            ast.Name: self.gen_name,
            ast.Unary: self.gen_unary,
            ast.Binary: self.gen_binary,
            ast.Cast: self.gen_cast,
        }

    def register(self, handlers: ExpressionTable) -> None:
        """Add another area's expressions to the table."""
        self.table.update(handlers)

    def gen_expr(self, expr: ast.Expr) -> SSAValue:
        ctx = self.ctx
        with ctx.at(expr.loc):
            handler = self.table.get(type(expr))
            if handler is None:
                raise ctx.error(expr.loc, f"unexpected expression {type(expr).__name__}")
            return handler(expr)

    # -- literals and names --------------------------------------------------------

    def gen_number(self, expr: ast.Number) -> SSAValue:
        return self.ctx.constant(expr.value)

    def gen_string(self, expr: ast.String) -> SSAValue:
        raise self.ctx.error(expr.loc, "a string can only be printed or used as a file path")

    def gen_cast(self, expr: ast.Cast) -> SSAValue:
        # Every value is an f64 today (LANGUAGE.md section 3).
        return self.gen_expr(expr.operand)

    def gen_name(self, expr: ast.Name) -> SSAValue:
        name = expr.name
        binding = self.ctx.scope.lookup(name)
        if binding is None or name.startswith("$"):
            raise self.ctx.error(expr.loc, f"unknown variable '{name}'" + self.suggest(name))
        if isinstance(binding, ValueBinding):
            return binding.value
        assert isinstance(binding, ParamBinding | BufferBinding)
        return self.storage.read_storage(name, binding, expr.loc)

    def suggest(self, name: str) -> str:
        import difflib  # only on this error path: keeps the import of irgen light

        candidates = [n for n in self.ctx.scope.visible_names() if not n.startswith("$")]
        close = difflib.get_close_matches(name, candidates, n=1)
        return f"; did you mean '{close[0]}'?" if close else ""

    # -- operators ---------------------------------------------------------------

    def gen_unary(self, expr: ast.Unary) -> SSAValue:
        value = self.gen_expr(expr.operand)
        return self.ctx.b.unary(ew.NegOp if expr.op == "-" else ew.NotOp, value)

    def gen_binary(self, expr: ast.Binary) -> SSAValue:
        # A left-associative chain (`1 + 2 + ... + n`, `a && b && ...`) is
        # as deep as it is long: walk down its left operands here rather
        # than recursing, so a long sum costs no Python stack per term.
        chain: list[ast.Binary] = []
        node: ast.Expr = expr
        while isinstance(node, ast.Binary):
            chain.append(node)
            node = node.lhs
        value = self.gen_expr(node)
        for link in reversed(chain):
            with self.ctx.at(link.loc):
                value = self.gen_binary_step(link, value)
        return value

    def gen_binary_step(self, expr: ast.Binary, lhs: SSAValue) -> SSAValue:
        """`expr` applied to `lhs`, the value of its left operand."""
        if expr.op in ("&&", "||"):
            return self.gen_short_circuit(expr, lhs)
        rhs = self.gen_expr(expr.rhs)
        check_broadcast(expr.op, lhs, rhs, expr.loc)
        with self.ctx.at(expr.loc):
            if expr.op in COMPARISONS:
                return self.ctx.b.cmp(COMPARISONS[expr.op], lhs, rhs)
            return self.ctx.b.binary(ARITHMETIC[expr.op], lhs, rhs)

    def gen_short_circuit(self, expr: ast.Binary, lhs: SSAValue) -> SSAValue:
        """`a && b` evaluates `b` only if `a` is true, `a || b` only if `a` is
        false, so that `i < n && a[i] > 0` is safe; the result is 1.0 or 0.0.
        `lhs` is the value of `a`."""
        ctx = self.ctx
        if lhs.type != f64:
            # On tensors `&&` and `||` are elementwise: both sides are evaluated.
            rhs = self.gen_expr(expr.rhs)
            check_broadcast(expr.op, lhs, rhs, expr.loc)
            with ctx.at(expr.loc):
                return ctx.b.binary(ew.AndOp if expr.op == "&&" else ew.OrOp, lhs, rhs)
        lhs_true = ctx.truthy(lhs)
        evaluate_rhs, skip = Block(), Block()
        with ctx.inside(evaluate_rhs, Scope(ctx.scope)):
            rhs = self.gen_expr(expr.rhs)
            if rhs.type != f64:
                raise ctx.error(
                    expr.loc,
                    f"`{expr.op}` of a scalar and {describe(rhs)}: with a scalar on the left it "
                    "short-circuits, so the right side must be a scalar too (put the tensor on "
                    f"the left for an elementwise `{expr.op}`)",
                )
            rhs_true = ctx.truthy(rhs)
            ctx.emit(scf.YieldOp(ctx.emit(arith.UIToFPOp(rhs_true, f64)).result))
        with ctx.inside(skip, Scope(ctx.scope)):
            ctx.emit(scf.YieldOp(ctx.constant(1.0 if expr.op == "||" else 0.0)))
        then_block, else_block = (evaluate_rhs, skip) if expr.op == "&&" else (skip, evaluate_rhs)
        if_op = ctx.emit(scf.IfOp(lhs_true, [f64], Region(then_block), Region(else_block)))
        return if_op.results[0]
