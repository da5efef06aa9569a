"""The random built-ins (LANGUAGE.md section 7): draws from the program's
seeded generator, as `noma.random` ops.

    rand()                                  uniform on [0, 1)
    rand_uniform(lo, hi)                    uniform on [lo, hi)
    rand_normal(mean, std)                  normal
    rand_tensor(d1, ...)                    a tensor, uniform on [0, 1)
    rand_normal_tensor(mean, std, d1, ...)  a tensor, normal
    xavier_init(fan_in, fan_out, d1, ...)   uniform on [-a, a), a = sqrt(6 / (fan_in + fan_out))
    he_init(fan_in, d1, ...)                normal, mean 0, std sqrt(2 / fan_in)

Dimensions are truncated toward zero and must be at least 1; constant ones
give a tensor of static shape.
"""

from __future__ import annotations

from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, f64
from xdsl.ir import Attribute, SSAValue

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.creation import RandomOp
from noma.frontend import ast
from noma.frontend.irgen.context import GenContext
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.tensors import TensorGen, require_scalar, static_type

SCALAR_DRAWS = {"rand": "uniform", "rand_uniform": "uniform", "rand_normal": "normal"}

PARAMETERS = {
    "rand": 0,
    "rand_uniform": 2,
    "rand_normal": 2,
    "rand_tensor": 0,
    "rand_normal_tensor": 2,
    "xavier_init": 2,
    "he_init": 1,
}
"""How many leading arguments are the distribution's, not dimensions."""


class RandomGen:
    def __init__(self, ctx: GenContext, exprs: ExpressionGen, tensors: TensorGen) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.tensors = tensors
        """For the dimensions of random tensors."""

    def gen_random(self, call: ast.Call) -> SSAValue:
        ctx = self.ctx
        name = call.callee
        count = PARAMETERS[name]
        params = [
            require_scalar(self.exprs.gen_expr(a), a.loc, f"an argument of '{name}'")
            for a in call.args[:count]
        ]
        dims = self.tensors.gen_dims(call.args[count:], call.loc)
        with ctx.at(call.loc):
            distribution, a, b = self.distribution(name, params)
            result: Attribute = f64
            if name not in SCALAR_DRAWS:
                static = static_type(dims)
                result = static or TensorType(f64, [DYNAMIC_INDEX] * len(dims))
            return ctx.emit(RandomOp(distribution, dims, a, b, result)).result

    def distribution(self, name: str, params: list[SSAValue]) -> tuple[str, SSAValue, SSAValue]:
        """The distribution of a random built-in and its two operands."""
        b, constant = self.ctx.b, self.ctx.constant
        match name:
            case "rand" | "rand_tensor":
                return "uniform", constant(0.0), constant(1.0)
            case "rand_uniform":
                return "uniform", params[0], params[1]
            case "rand_normal" | "rand_normal_tensor":
                return "normal", params[0], params[1]
            case "xavier_init":
                fan_sum = b.add(params[0], params[1])
                limit = b.unary(ew.SqrtOp, b.div(constant(6.0), fan_sum))
                return "uniform", b.sub(constant(0.0), limit), limit
            case "he_init":
                std = b.unary(ew.SqrtOp, b.div(constant(2.0), params[0]))
                return "normal", constant(0.0), std
        raise AssertionError(name)
