"""Calls of the built-ins along an axis: `sum(X, axis=k)`, `mean`, `max`,
`min` (with one argument), `logsumexp`, `softmax`, `log_softmax`, `argmax`,
`argmin`, and `one_hot(labels, k)`.

`axis=` must be a whole-number constant; a negative axis counts from the
end. Without it, a 1-D tensor uses its only axis and a higher-rank one is an
error (there is no silent default axis). `keepdims=1` keeps the reduced axis
as size 1.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType, f64
from xdsl.ir import SSAValue

from noma.dialects.noma import reductions as red
from noma.dialects.noma.shapes import shape_of, type_of
from noma.frontend import ast
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.context import GenContext
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.tensors import constant_of, describe, literal_number

REDUCTIONS: dict[str, type[red.AxisReductionOp]] = {
    "sum": red.SumAxisOp,
    "mean": red.MeanAxisOp,
    "max": red.MaxAxisOp,
    "min": red.MinAxisOp,
    "logsumexp": red.LogSumExpOp,
    "argmax": red.ArgMaxOp,
    "argmin": red.ArgMinOp,
}
SAME_SHAPE: dict[str, type[red.SameShapeAxisOp]] = {
    "softmax": red.SoftmaxOp,
    "log_softmax": red.LogSoftmaxOp,
}


def is_axis_call(call: ast.Call) -> bool:
    """Whether a built-in call is one of these forms rather than the
    whole-tensor `sum`/`mean` or the elementwise `max`/`min`."""
    if call.callee in ("sum", "mean"):
        return bool(call.kwargs)
    if call.callee in ("max", "min"):
        return len(call.args) == 1
    return call.callee in REDUCTIONS or call.callee in SAME_SHAPE or call.callee == "one_hot"


class ReductionGen:
    def __init__(self, ctx: GenContext, exprs: ExpressionGen) -> None:
        self.ctx = ctx
        self.exprs = exprs

    def gen(self, call: ast.Call) -> SSAValue:
        ctx = self.ctx
        loc = call.callee_loc or call.loc
        if call.callee == "one_hot":
            return self.gen_one_hot(call, loc)
        source = self.exprs.gen_expr(call.args[0])
        if not isinstance(source.type, TensorType):
            raise ctx.error(
                call.args[0].loc, f"'{call.callee}' needs a tensor, got {describe(source)}"
            )
        keywords = dict(call.kwargs)
        axis = self.axis(call, source, keywords.get("axis"), loc)
        with ctx.at(loc):
            if call.callee in SAME_SHAPE:
                return ctx.emit(SAME_SHAPE[call.callee](source, axis)).result
            keepdims = self.flag(keywords.get("keepdims"), "keepdims")
            return ctx.emit(REDUCTIONS[call.callee](source, axis, keepdims)).result

    def constant(self, expr: ast.Expr, what: str) -> float:
        value = literal_number(expr)
        if value is None:
            value = constant_of(self.exprs.gen_expr(expr))
        if value is None or value != int(value):
            raise self.ctx.error(expr.loc, f"{what} must be a whole-number constant")
        return value

    def axis(self, call: ast.Call, source: SSAValue, expr: ast.Expr | None, loc: SourceLoc) -> int:
        rank = len(shape_of(source.type))
        if expr is None:
            if rank == 1:
                return 0
            raise self.ctx.error(
                loc,
                f"'{call.callee}' of {describe(source)} needs an axis: {call.callee}(X, axis=k)",
            )
        axis = int(self.constant(expr, "an axis"))
        if not -rank <= axis < rank:
            raise self.ctx.error(
                expr.loc, f"axis {axis} is out of range for {describe(source)} (rank {rank})"
            )
        return axis % rank

    def flag(self, expr: ast.Expr | None, what: str) -> bool:
        if expr is None:
            return False
        value = self.constant(expr, what)
        if value not in (0, 1):
            raise self.ctx.error(expr.loc, f"{what} must be 0 or 1, got {value:g}")
        return bool(value)

    def gen_one_hot(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        ctx = self.ctx
        labels = self.exprs.gen_expr(call.args[0])
        classes = self.exprs.gen_expr(call.args[1])
        if len(shape_of(labels.type)) != 1:
            raise ctx.error(
                call.args[0].loc, f"one_hot needs a 1-D tensor of labels, got {describe(labels)}"
            )
        if classes.type != f64:
            raise ctx.error(
                call.args[1].loc, f"the number of classes must be a scalar, got {describe(classes)}"
            )
        count = literal_number(call.args[1])
        if count is None:
            count = constant_of(classes)
        if count is not None and not (count >= 1 and count == int(count)):
            raise ctx.error(
                call.args[1].loc,
                f"one_hot needs a whole number of classes of at least 1, got {count:g}",
            )
        rows = shape_of(labels.type)[0]
        result_type = type_of((rows, None if count is None else int(count)))
        with ctx.at(loc):
            return ctx.emit(red.OneHotOp(labels, classes, result_type)).result
