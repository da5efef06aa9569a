"""Tensor expressions: literals, indexing, the tensor built-ins, and the
static shape checks that make a mismatch a compile error at the expression.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, f64
from xdsl.ir import SSAValue

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
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.base import GenBase


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


class TensorsMixin(GenBase):
    # -- literals -------------------------------------------------------------

    def gen_tensor_literal(self, expr: ast.TensorLiteral) -> SSAValue:
        """`[[1, 2], [3, 4]]`: a dense constant when every element is a
        number, else `noma.from_elements` of the scalar elements."""
        shape, leaves = self.literal_structure(expr)
        numbers = [literal_number(leaf) for leaf in leaves]
        result_type = TensorType(f64, shape)
        if all(n is not None for n in numbers):
            dense = DenseIntOrFPElementsAttr.from_list(result_type, numbers)  # type: ignore[arg-type]
            return self.emit(arith.ConstantOp(dense)).result
        values = []
        for leaf in leaves:
            value = self.gen_expr(leaf)
            if value.type != f64:
                raise self.error(
                    leaf.loc, f"tensor literal elements must be scalars, this one is {describe(value)}"
                )
            values.append(value)
        with self.at(expr.loc):
            return self.emit(tops.FromElementsOp(values, result_type)).result

    def literal_structure(self, expr: ast.TensorLiteral) -> tuple[list[int], list[ast.Expr]]:
        """The shape of a (nested) literal and its leaves in row-major order;
        a ragged literal is an error at the first row that does not fit."""
        nested = [isinstance(e, ast.TensorLiteral) for e in expr.elements]
        if any(nested) and not all(nested):
            odd = expr.elements[nested.index(not nested[0])]
            raise self.error(
                odd.loc, "ragged tensor literal: mixes nested brackets and single elements"
            )
        if not nested[0]:
            return [len(expr.elements)], list(expr.elements)
        shapes, leaves = [], []
        for row in expr.elements:
            assert isinstance(row, ast.TensorLiteral)
            shape, row_leaves = self.literal_structure(row)
            if shapes and shape != shapes[0]:
                raise self.error(
                    row.loc,
                    f"ragged tensor literal: this row has shape {format_shape(tuple(shape))} but "
                    f"the first has {format_shape(tuple(shapes[0]))}",
                )
            shapes.append(shape)
            leaves += row_leaves
        return [len(expr.elements), *shapes[0]], leaves

    # -- indexing ---------------------------------------------------------------

    def gen_index(self, expr: ast.Index) -> SSAValue:
        base = self.gen_expr(expr.base)
        index = self.gen_expr(expr.index)
        if base.type == f64:
            raise self.error(expr.loc, "cannot index a scalar")
        if index.type != f64:
            raise self.error(expr.index.loc, f"an index must be a scalar, got {describe(index)}")
        with self.at(expr.loc):
            return self.emit(tops.IndexOp(base, index)).result

    # -- shape-checked operations ---------------------------------------------

    def check_broadcast(self, op: str, lhs: SSAValue, rhs: SSAValue, loc: SourceLoc) -> None:
        try:
            broadcast_shapes(shape_of(lhs.type), shape_of(rhs.type))
        except ShapeError as e:
            raise self.error(loc, f"'{op}' of {describe(lhs)} and {describe(rhs)}: {e}") from None

    def gen_tensor_builtin(self, name: str, args: list[SSAValue], call: ast.Call) -> SSAValue:
        loc = call.callee_loc or call.loc
        if name in ("sum", "mean") and args[0].type == f64:
            # A scalar is its own sum and mean (one element), as in NumPy;
            # the tensor ops have no scalar form to lower.
            return args[0]
        with self.at(loc):
            if name == "sum":
                return self.emit(tops.SumOp(args[0])).result
            if name == "mean":
                return self.emit(tops.MeanOp(args[0])).result
            if name == "dot":
                a, b = args
                if len(shape_of(a.type)) != 1 or len(shape_of(b.type)) != 1:
                    raise self.error(
                        loc, f"dot needs two 1-D tensors, got {describe(a)} and {describe(b)}"
                    )
                ((n,), (m,)) = shape_of(a.type), shape_of(b.type)
                if n is not None and m is not None and n != m:
                    raise self.error(loc, f"dot of tensors of lengths {n} and {m}")
                return self.emit(tops.DotOp(a, b)).result
            assert name == "matmul"
            try:
                tops.matmul_shape(args[0].type, args[1].type)
            except ShapeError as e:
                raise self.error(loc, str(e)) from None
            return self.emit(tops.MatmulOp(args[0], args[1])).result

    def require_scalar(self, value: SSAValue, loc: SourceLoc, what: str) -> SSAValue:
        if value.type != f64:
            raise self.error(loc, f"{what} must be a scalar, got {describe(value)}")
        return value

    def cast_to(self, value: SSAValue, target: object) -> SSAValue:
        """`value` with the (more dynamic) type `target`."""
        if value.type == target:
            return value
        return self.emit(tops.CastOp(value, target)).result  # type: ignore[arg-type]


def joined_type(a: object, b: object) -> object | None:
    """The type describing values of both types, or None (different ranks)."""
    joined = join_shapes(shape_of(a), shape_of(b))  # type: ignore[arg-type]
    return None if joined is None else type_of(joined)
