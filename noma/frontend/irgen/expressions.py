"""Expressions: literals, names, operators, built-in and user calls."""

from __future__ import annotations

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import f64
from xdsl.ir import Block, Region, SSAValue

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.io import PrintOp, PrintStringOp
from noma.frontend import ast
from noma.frontend.builtins import BUILTINS, RANDOM_BUILTINS, TENSOR_BUILTINS
from noma.frontend.irgen.scope import BufferBinding, ParamBinding, Scope, ValueBinding
from noma.frontend.irgen.storage_access import StorageAccessMixin
from noma.frontend.irgen.tensors import describe

ARITHMETIC: dict[str, type[ew.BinaryOp]] = {
    "+": ew.AddOp,
    "-": ew.SubOp,
    "*": ew.MulOp,
    "/": ew.DivOp,
    "%": ew.RemOp,
    "**": ew.PowOp,
}
COMPARISONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}

class ExpressionsMixin(StorageAccessMixin):
    def gen_expr(self, expr: ast.Expr) -> SSAValue:
        with self.at(expr.loc):
            match expr:
                case ast.Number(value=value):
                    return self.constant(value)
                case ast.String():
                    raise self.error(
                        expr.loc, "a string can only be printed or used as a file path"
                    )
                case ast.Name(name=name):
                    return self.gen_name(name, expr)
                case ast.Unary(op=op, operand=operand):
                    value = self.gen_expr(operand)
                    return self.b.unary(ew.NegOp if op == "-" else ew.NotOp, value)
                case ast.Binary():
                    return self.gen_binary(expr)
                case ast.Call():
                    return self.gen_call(expr)
                case ast.Cast(operand=operand):
                    # Every value is an f64 today (LANGUAGE.md section 3).
                    return self.gen_expr(operand)
                case ast.TensorLiteral():
                    return self.gen_tensor_literal(expr)
                case ast.Index():
                    return self.gen_index(expr)
                case _:
                    raise self.error(expr.loc, f"unexpected expression {type(expr).__name__}")

    def gen_name(self, name: str, expr: ast.Name) -> SSAValue:
        binding = self.scope.lookup(name)
        if binding is None or name.startswith("$"):
            raise self.error(expr.loc, f"unknown variable '{name}'" + self.suggest(name))
        if isinstance(binding, ValueBinding):
            return binding.value
        assert isinstance(binding, ParamBinding | BufferBinding)
        return self.read_storage(name, binding, expr.loc)

    def suggest(self, name: str) -> str:
        import difflib

        candidates = [n for n in self.scope.visible_names() if not n.startswith("$")]
        close = difflib.get_close_matches(name, candidates, n=1)
        return f"; did you mean '{close[0]}'?" if close else ""

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
            with self.at(link.loc):
                value = self.gen_binary_step(link, value)
        return value

    def gen_binary_step(self, expr: ast.Binary, lhs: SSAValue) -> SSAValue:
        """`expr` applied to `lhs`, the value of its left operand."""
        if expr.op in ("&&", "||"):
            return self.gen_short_circuit(expr, lhs)
        rhs = self.gen_expr(expr.rhs)
        self.check_broadcast(expr.op, lhs, rhs, expr.loc)
        with self.at(expr.loc):
            if expr.op in COMPARISONS:
                return self.b.cmp(COMPARISONS[expr.op], lhs, rhs)
            return self.b.binary(ARITHMETIC[expr.op], lhs, rhs)

    def gen_short_circuit(self, expr: ast.Binary, lhs: SSAValue) -> SSAValue:
        """`a && b` evaluates `b` only if `a` is true, `a || b` only if `a` is
        false, so that `i < n && a[i] > 0` is safe; the result is 1.0 or 0.0.
        `lhs` is the value of `a`."""
        if lhs.type != f64:
            # On tensors `&&` and `||` are elementwise: both sides are evaluated.
            rhs = self.gen_expr(expr.rhs)
            self.check_broadcast(expr.op, lhs, rhs, expr.loc)
            with self.at(expr.loc):
                return self.b.binary(ew.AndOp if expr.op == "&&" else ew.OrOp, lhs, rhs)
        lhs_true = self.truthy(lhs)
        evaluate_rhs, skip = Block(), Block()
        with self.inside(evaluate_rhs, Scope(self.scope)):
            rhs = self.gen_expr(expr.rhs)
            if rhs.type != f64:
                raise self.error(
                    expr.loc,
                    f"`{expr.op}` of a scalar and {describe(rhs)}: with a scalar on the left it "
                    "short-circuits, so the right side must be a scalar too (put the tensor on "
                    f"the left for an elementwise `{expr.op}`)",
                )
            rhs_true = self.truthy(rhs)
            self.emit(scf.YieldOp(self.emit(arith.UIToFPOp(rhs_true, f64)).result))
        with self.inside(skip, Scope(self.scope)):
            self.emit(scf.YieldOp(self.constant(1.0 if expr.op == "||" else 0.0)))
        then_block, else_block = (evaluate_rhs, skip) if expr.op == "&&" else (skip, evaluate_rhs)
        if_op = self.emit(scf.IfOp(lhs_true, [f64], Region(then_block), Region(else_block)))
        return if_op.results[0]

    # -- calls ---------------------------------------------------------------------

    def gen_call(self, call: ast.Call) -> SSAValue:
        value = self.gen_call_for_effect(call)
        if value is None:
            what = "printing a string" if call.callee == "print" else f"'{call.callee}'"
            raise self.error(call.loc, f"{what} gives no value")
        return value

    def gen_call_for_effect(self, call: ast.Call) -> SSAValue | None:
        """A call whose value may be absent (a statement such as `f();`)."""
        # User functions first: one may hide a built-in of the same name.
        user_function = call.callee in self.state.module.functions
        if call.callee == "print" and not user_function:
            return self.gen_print(call)
        builtin = None if user_function else BUILTINS.get(call.callee)
        if builtin is not None:
            if builtin.milestone is not None:
                raise self.not_supported(call.loc, f"'{call.callee}'", builtin.milestone)
            if call.callee in RANDOM_BUILTINS:
                return self.gen_random(call)
            args = [self.gen_expr(a) for a in call.args]
            if call.callee in TENSOR_BUILTINS:
                return self.gen_tensor_builtin(call.callee, args, call)
            assert builtin.op is not None
            with self.at(call.loc):
                if issubclass(builtin.op, ew.BinaryOp):
                    self.check_broadcast(call.callee, args[0], args[1], call.loc)
                    return self.b.binary(builtin.op, args[0], args[1])
                return self.b.unary(builtin.op, args[0])
        args = [self.gen_expr(a) for a in call.args]
        with self.at(call.loc):
            callee = self.state.module.instance(call.callee, [a.type for a in args], call.loc)
            result_types = [] if callee.result_type is None else [callee.result_type]
            op = self.emit(func.CallOp(callee.symbol, args, result_types))
        return op.results[0] if op.results else None

    def gen_print(self, call: ast.Call) -> SSAValue | None:
        """`print(x)` prints and gives `x`; `print("text")` gives nothing."""
        (arg,) = call.args
        if isinstance(arg, ast.String):
            with self.at(call.loc):
                self.emit(PrintStringOp(arg.value))
            return None
        value = self.gen_expr(arg)
        with self.at(call.loc):
            self.emit(PrintOp(value))
        return value
