"""Tensor expressions: literals, indexing, the tensor built-ins, dimensions,
and the static shape checks that make a mismatch a compile error at the
expression.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, FloatAttr, TensorType, f64
from xdsl.ir import Attribute, SSAValue

from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.shapes import (
    ShapeError,
    broadcast_shapes,
    format_shape,
    join_shapes,
    shape_of,
    type_of,
)
from noma.frontend import ast
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.irgen.context import ExpressionTable, GenContext

if TYPE_CHECKING:
    from noma.frontend.irgen.expressions import ExpressionGen

MAX_BUFFER_BYTES = 2**48
"""The largest buffer a program may ask for (256 TiB of f64 elements): the
C runtime's NOMA_MAX_BUFFER_BYTES, which checks run-time dimensions."""


def describe(value: SSAValue) -> str:
    return describe_type(value.type)


def describe_type(t: object) -> str:
    shape = shape_of(t)  # type: ignore[arg-type]
    return "a scalar" if not shape else f"a {format_shape(shape)} tensor"


def literal_number(expr: ast.Expr) -> float | None:
    """The value of a number literal, possibly negated, else None."""
    if isinstance(expr, ast.Number):
        return expr.value
    if isinstance(expr, ast.Unary) and expr.op == "-":
        inner = literal_number(expr.operand)
        return None if inner is None else -inner
    return None


def joined_type(a: object, b: object) -> object | None:
    """The type describing values of both types, or None (different ranks)."""
    joined = join_shapes(shape_of(a), shape_of(b))  # type: ignore[arg-type]
    return None if joined is None else type_of(joined)


def joined_variable_type(name: str, value: SSAValue, other: Attribute, loc: SourceLoc) -> Attribute:
    """The type of variable `name` after two paths that left it as `value`
    and with type `other`: their join; different ranks are an error."""
    joined = joined_type(value.type, other)
    if joined is None:
        raise NomaError(
            loc,
            f"'{name}' is {describe(value)} on one path and "
            f"{describe_type(other)} on another; a variable keeps its rank",
        )
    return joined  # type: ignore[return-value]


def check_broadcast(op: str, lhs: SSAValue, rhs: SSAValue, loc: SourceLoc) -> None:
    try:
        broadcast_shapes(shape_of(lhs.type), shape_of(rhs.type))
    except ShapeError as e:
        raise NomaError(loc, f"'{op}' of {describe(lhs)} and {describe(rhs)}: {e}") from None


def require_scalar(value: SSAValue, loc: SourceLoc, what: str) -> SSAValue:
    if value.type != f64:
        raise NomaError(loc, f"{what} must be a scalar, got {describe(value)}")
    return value


def constant_of(value: SSAValue) -> float | None:
    """The value of an f64 constant, else None."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, FloatAttr):
        return owner.value.value.data
    return None


def static_type(dims: list[SSAValue]) -> Attribute | None:
    """The tensor type of constant dimensions (truncated), else None."""
    constants = [constant_of(d) for d in dims]
    if any(c is None for c in constants):
        return None
    return TensorType(f64, [int(c) for c in constants])  # type: ignore[arg-type]


def _dim_text(d: float) -> str:
    """A requested dimension as messages show it: 100000000000, 0.5, 1e+30."""
    return str(int(d)) if d == int(d) and abs(d) < 1e21 else repr(d)


class TensorGen:
    """Tensor literals and indexing (expressions), the tensor built-ins on
    evaluated arguments, and the dimensions of new tensors and buffers."""

    def __init__(self, ctx: GenContext, exprs: ExpressionGen) -> None:
        self.ctx = ctx
        self.exprs = exprs

    def expression_handlers(self) -> ExpressionTable:
        return {ast.TensorLiteral: self.gen_tensor_literal, ast.Index: self.gen_index}

    # -- literals -------------------------------------------------------------

    def gen_tensor_literal(self, expr: ast.TensorLiteral) -> SSAValue:
        """`[[1, 2], [3, 4]]`: a dense constant when every element is a
        number, else `noma.from_elements` of the scalar elements."""
        ctx = self.ctx
        shape, leaves = self.literal_structure(expr)
        numbers = [literal_number(leaf) for leaf in leaves]
        result_type = TensorType(f64, shape)
        if all(n is not None for n in numbers):
            dense = DenseIntOrFPElementsAttr.from_list(result_type, numbers)  # type: ignore[arg-type]
            return ctx.emit(arith.ConstantOp(dense)).result
        values = []
        for leaf in leaves:
            value = self.exprs.gen_expr(leaf)
            if value.type != f64:
                raise ctx.error(
                    leaf.loc,
                    f"tensor literal elements must be scalars, this one is {describe(value)}",
                )
            values.append(value)
        with ctx.at(expr.loc):
            return ctx.emit(tops.FromElementsOp(values, result_type)).result

    def literal_structure(self, expr: ast.TensorLiteral) -> tuple[list[int], list[ast.Expr]]:
        """The shape of a (nested) literal and its leaves in row-major order;
        a ragged literal is an error at the first row that does not fit."""
        nested = [isinstance(e, ast.TensorLiteral) for e in expr.elements]
        if any(nested) and not all(nested):
            odd = expr.elements[nested.index(not nested[0])]
            raise self.ctx.error(
                odd.loc, "ragged tensor literal: mixes nested brackets and single elements"
            )
        if not nested[0]:
            return [len(expr.elements)], list(expr.elements)
        shapes, leaves = [], []
        for row in expr.elements:
            assert isinstance(row, ast.TensorLiteral)
            shape, row_leaves = self.literal_structure(row)
            if shapes and shape != shapes[0]:
                raise self.ctx.error(
                    row.loc,
                    f"ragged tensor literal: this row has shape {format_shape(tuple(shape))} but "
                    f"the first has {format_shape(tuple(shapes[0]))}",
                )
            shapes.append(shape)
            leaves += row_leaves
        return [len(expr.elements), *shapes[0]], leaves

    # -- indexing ---------------------------------------------------------------

    def gen_index(self, expr: ast.Index) -> SSAValue:
        ctx = self.ctx
        base = self.exprs.gen_expr(expr.base)
        index = self.exprs.gen_expr(expr.index)
        if base.type == f64:
            raise ctx.error(expr.loc, "cannot index a scalar")
        if index.type != f64:
            raise ctx.error(expr.index.loc, f"an index must be a scalar, got {describe(index)}")
        with ctx.at(expr.loc):
            return ctx.emit(tops.IndexOp(base, index)).result

    # -- the tensor built-ins -------------------------------------------------

    def gen_tensor_builtin(self, name: str, args: list[SSAValue], call: ast.Call) -> SSAValue:
        ctx = self.ctx
        loc = call.callee_loc or call.loc
        if name in ("sum", "mean") and args[0].type == f64:
            # A scalar is its own sum and mean (one element), as in NumPy;
            # the tensor ops have no scalar form to lower.
            return args[0]
        with ctx.at(loc):
            if name == "sum":
                return ctx.emit(tops.SumOp(args[0])).result
            if name == "mean":
                return ctx.emit(tops.MeanOp(args[0])).result
            if name == "dot":
                a, b = args
                if len(shape_of(a.type)) != 1 or len(shape_of(b.type)) != 1:
                    raise ctx.error(
                        loc, f"dot needs two 1-D tensors, got {describe(a)} and {describe(b)}"
                    )
                ((n,), (m,)) = shape_of(a.type), shape_of(b.type)
                if n is not None and m is not None and n != m:
                    raise ctx.error(loc, f"dot of tensors of lengths {n} and {m}")
                return ctx.emit(tops.DotOp(a, b)).result
            assert name == "matmul"
            try:
                tops.matmul_shape(args[0].type, args[1].type)
            except ShapeError as e:
                raise ctx.error(loc, str(e)) from None
            return ctx.emit(tops.MatmulOp(args[0], args[1])).result

    # -- dimensions -------------------------------------------------------------

    def gen_dims(self, dims: tuple[ast.Expr, ...], loc: SourceLoc) -> list[SSAValue]:
        """Dimensions as f64 scalars. Constant ones are checked here (run-time
        ones by the runtime's `noma_check_dims`): each at least 1 and finite,
        and when all are constant, the buffer within MAX_BUFFER_BYTES
        (reported at `loc`, the statement or call, naming the shape)."""
        ctx = self.ctx
        values = []
        constants: list[float | None] = []
        for d in dims:
            v = self.exprs.gen_expr(d)
            if v.type != f64:
                raise ctx.error(d.loc, f"a dimension must be a scalar, got a {v.type}")
            constant = literal_number(d)
            if constant is None:
                constant = constant_of(v)
            if constant is not None and not constant >= 1:
                raise ctx.error(d.loc, f"a dimension must be at least 1, got {constant:g}")
            if constant is not None and math.isinf(constant):
                raise ctx.error(d.loc, f"a dimension must be finite, got {constant:g}")
            values.append(v)
            constants.append(constant)
        if constants and all(c is not None for c in constants):
            bytes_needed = 8 * math.prod(int(c) for c in constants)  # type: ignore[arg-type]
            if bytes_needed > MAX_BUFFER_BYTES:
                shape = ", ".join(_dim_text(c) for c in constants)  # type: ignore[arg-type]
                raise ctx.error(
                    loc,
                    f"cannot allocate a [{shape}] buffer: it needs "
                    f"{_dim_text(float(bytes_needed))} bytes, "
                    f"more than the limit of {MAX_BUFFER_BYTES} bytes (2^48)",
                )
        return values
