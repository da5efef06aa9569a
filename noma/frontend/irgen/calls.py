"""Calls: `print`, the built-in functions (elementwise, tensor, random) and
user functions, whose instances the module generates (`module.py`)."""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.ir import SSAValue

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.io import PrintOp, PrintStringOp
from noma.frontend import ast
from noma.frontend.builtins import BUILTINS, RANDOM_BUILTINS, TENSOR_BUILTINS
from noma.frontend.irgen.context import ExpressionTable, GenContext
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.random_builtins import RandomGen
from noma.frontend.irgen.reductions import ReductionGen, is_axis_call
from noma.frontend.irgen.shapes import SHAPE_BUILTINS, ShapeGen
from noma.frontend.irgen.tensors import TensorGen, check_broadcast


class CallGen:
    def __init__(
        self, ctx: GenContext, exprs: ExpressionGen, tensors: TensorGen, random: RandomGen
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.tensors = tensors
        self.random = random
        self.reductions = ReductionGen(ctx, exprs)
        self.shapes = ShapeGen(ctx, exprs)

    def expression_handlers(self) -> ExpressionTable:
        return {ast.Call: self.gen_call, **self.shapes.expression_handlers()}

    def gen_call(self, call: ast.Call) -> SSAValue:
        value = self.gen_call_for_effect(call)
        if value is None:
            what = "printing a string" if call.callee == "print" else f"'{call.callee}'"
            raise self.ctx.error(call.loc, f"{what} gives no value")
        return value

    def gen_call_for_effect(self, call: ast.Call) -> SSAValue | None:
        """A call whose value may be absent (a statement such as `f();`)."""
        ctx = self.ctx
        # User functions first: one may hide a built-in of the same name.
        user_function = call.callee in ctx.module.functions
        if call.callee == "print" and not user_function:
            return self.gen_print(call)
        builtin = None if user_function else BUILTINS.get(call.callee)
        if builtin is not None:
            if builtin.milestone is not None:
                raise ctx.not_supported(call.loc, f"'{call.callee}'", builtin.milestone)
            if call.callee in RANDOM_BUILTINS:
                return self.random.gen_random(call)
            if call.callee in SHAPE_BUILTINS:
                return self.shapes.gen_shape_builtin(call)
            if is_axis_call(call):
                return self.reductions.gen(call)
            if call.kwargs:
                name, value = call.kwargs[0]
                raise ctx.error(value.loc, f"'{call.callee}' of {len(call.args)} arguments takes no '{name}='")
            args = [self.exprs.gen_expr(a) for a in call.args]
            if call.callee in TENSOR_BUILTINS:
                return self.tensors.gen_tensor_builtin(call.callee, args, call)
            assert builtin.op is not None
            with ctx.at(call.loc):
                if issubclass(builtin.op, ew.BinaryOp):
                    check_broadcast(call.callee, args[0], args[1], call.loc)
                    return ctx.b.binary(builtin.op, args[0], args[1])
                return ctx.b.unary(builtin.op, args[0])
        args = [self.exprs.gen_expr(a) for a in call.args]
        with ctx.at(call.loc):
            callee = ctx.module.instance(call.callee, [a.type for a in args], call.loc)
            result_types = [] if callee.result_type is None else [callee.result_type]
            op = ctx.emit(func.CallOp(callee.symbol, args, result_types))
        return op.results[0] if op.results else None

    def gen_print(self, call: ast.Call) -> SSAValue | None:
        """`print(x)` prints and gives `x`; `print("text")` gives nothing."""
        ctx = self.ctx
        (arg,) = call.args
        if isinstance(arg, ast.String):
            with ctx.at(call.loc):
                ctx.emit(PrintStringOp(arg.value))
            return None
        value = self.exprs.gen_expr(arg)
        with ctx.at(call.loc):
            ctx.emit(PrintOp(value))
        return value
