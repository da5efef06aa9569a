"""Shape built-ins and slicing: `transpose`, `reshape`, `size`, `where`,
`clip`, and subscripts with slices `X[a:b, j]`.

Slices are built from existing ops, so their derivatives come with them: a
block of rows is `noma.rows` (whose adjoint scatters into zeros), an index
is `noma.index`, and a slice of the second axis of a matrix is taken on its
transpose (`noma.transpose`) and transposed back.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import f64
from xdsl.ir import SSAValue

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.creation import DimOp
from noma.dialects.noma.shape_ops import ConcatOp, PermuteOp, ReshapeOp, WhereOp, concat_shape
from noma.dialects.noma.shapes import ShapeError, broadcast_shapes, format_shape, shape_of, type_of
from noma.dialects.noma.slicing import RowsOp
from noma.frontend import ast
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.context import ExpressionTable, GenContext
from noma.frontend.irgen.tensors import constant_of, describe, literal_number

if TYPE_CHECKING:
    from noma.frontend.irgen.expressions import ExpressionGen

SHAPE_BUILTINS = ("transpose", "reshape", "size", "where", "clip", "concat")


class ShapeGen:
    def __init__(self, ctx: GenContext, exprs: ExpressionGen) -> None:
        self.ctx = ctx
        self.exprs = exprs

    def expression_handlers(self) -> ExpressionTable:
        return {ast.Sliced: self.gen_sliced, ast.Slice: self.gen_bare_slice}

    # -- helpers ---------------------------------------------------------------

    def tensor_arg(self, expr: ast.Expr, what: str) -> SSAValue:
        value = self.exprs.gen_expr(expr)
        if value.type == f64:
            raise self.ctx.error(expr.loc, f"{what} needs a tensor, got a scalar")
        return value

    def constant_int(self, expr: ast.Expr, what: str) -> int:
        """A whole-number literal (for axes and permutations)."""
        value = literal_number(expr)
        if value is None or value != int(value):
            raise self.ctx.error(expr.loc, f"{what} must be a whole number literal")
        return int(value)

    def axis_of(self, expr: ast.Expr, rank: int) -> int:
        axis = self.constant_int(expr, "an axis")
        if not -rank <= axis < rank:
            raise self.ctx.error(expr.loc, f"axis {axis} of a rank-{rank} tensor")
        return axis % rank

    def dim(self, value: SSAValue, axis: int) -> SSAValue:
        extent = shape_of(value.type)[axis]
        if extent is not None:
            return self.ctx.constant(float(extent))
        return self.ctx.emit(DimOp(value, axis)).result

    def check_broadcast(self, name: str, values: list[SSAValue], loc: SourceLoc) -> None:
        try:
            shape = shape_of(values[0].type)
            for v in values[1:]:
                shape = broadcast_shapes(shape, shape_of(v.type))
        except ShapeError as e:
            described = ", ".join(describe(v) for v in values)
            raise self.ctx.error(loc, f"'{name}' of {described}: {e}") from None

    # -- built-ins -------------------------------------------------------------

    def gen_shape_builtin(self, call: ast.Call) -> SSAValue:
        loc = call.callee_loc or call.loc
        handler = {
            "transpose": self.gen_transpose,
            "reshape": self.gen_reshape,
            "size": self.gen_size,
            "where": self.gen_where,
            "clip": self.gen_clip,
            "concat": self.gen_concat,
        }[call.callee]
        return handler(call, loc)

    def gen_transpose(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        x = self.tensor_arg(call.args[0], "transpose")
        rank = len(shape_of(x.type))
        perm = list(range(rank))[::-1]  # without a permutation, as NumPy: axes reversed
        if len(call.args) == 2:
            perm_expr = call.args[1]
            if not isinstance(perm_expr, ast.TensorLiteral):
                raise self.ctx.error(perm_expr.loc, "a permutation is a list such as [1, 0]")
            perm = [self.constant_int(e, "an axis of a permutation") for e in perm_expr.elements]
            if sorted(perm) != list(range(rank)):
                raise self.ctx.error(
                    perm_expr.loc, f"{perm} is not a permutation of the {rank} axes"
                )
        if perm == list(range(rank)):
            return x
        with self.ctx.at(loc):
            if rank == 2:
                return self.ctx.emit(tops.TransposeOp(x)).result
            return self.ctx.emit(PermuteOp(x, perm)).result

    def gen_reshape(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        ctx = self.ctx
        x = self.tensor_arg(call.args[0], "reshape")
        dims_expr = call.args[1]
        if not isinstance(dims_expr, ast.TensorLiteral) or not dims_expr.elements:
            raise ctx.error(dims_expr.loc, "the new shape is a list of dimensions such as [2, -1]")
        inferred_at: int | None = None
        dims: list[SSAValue | None] = []
        static: list[int | None] = []
        for d in dims_expr.elements:
            if literal_number(d) == -1:
                if inferred_at is not None:
                    raise ctx.error(d.loc, "only one dimension of a reshape can be -1")
                inferred_at = len(dims)
                dims.append(None)
                static.append(None)
                continue
            value = self.exprs.gen_expr(d)
            if value.type != f64:
                raise ctx.error(d.loc, f"a dimension must be a scalar, got {describe(value)}")
            constant = constant_of(value)
            if constant is not None and not constant >= 1:
                raise ctx.error(d.loc, f"a dimension must be at least 1, got {constant:g}")
            dims.append(value)
            static.append(None if constant is None else int(constant))
        source_shape = shape_of(x.type)
        source_count = math.prod(source_shape) if None not in source_shape else None
        known = [s for s in static if s is not None]
        with ctx.at(loc):
            if inferred_at is not None:
                others = [s for i, s in enumerate(static) if i != inferred_at]
                if source_count is not None and None not in others:
                    rest = math.prod(others)  # type: ignore[arg-type]
                    if source_count % rest:
                        raise ctx.error(
                            loc,
                            f"cannot reshape {format_shape(source_shape)} ({source_count} "
                            f"elements) into rows of {rest} elements",
                        )
                    static[inferred_at] = source_count // rest
                    dims[inferred_at] = ctx.constant(float(source_count // rest))
                else:
                    # Known at run time only: the count over the other
                    # dimensions (the lowering checks that it divides).
                    rest_value = ctx.emit(tops.NumelOp(x)).result
                    for i, d in enumerate(dims):
                        if i != inferred_at:
                            assert d is not None
                            rest_value = ctx.b.div(rest_value, d)
                    dims[inferred_at] = rest_value
            elif source_count is not None and len(known) == len(static):
                if math.prod(known) != source_count:
                    raise ctx.error(
                        loc,
                        f"cannot reshape {format_shape(source_shape)} ({source_count} elements) "
                        f"to {format_shape(tuple(known))} ({math.prod(known)} elements)",
                    )
            result_type = type_of(tuple(static))
            values = [d for d in dims if d is not None]
            return ctx.emit(ReshapeOp(x, values, result_type)).result

    def gen_size(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        x = self.tensor_arg(call.args[0], "size")
        axis = self.axis_of(call.args[1], len(shape_of(x.type)))
        with self.ctx.at(loc):
            return self.ctx.emit(DimOp(x, axis)).result

    def gen_where(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        values = [self.exprs.gen_expr(a) for a in call.args]
        self.check_broadcast("where", values, loc)
        with self.ctx.at(loc):
            return self.ctx.emit(WhereOp(*values)).result

    def gen_clip(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        """`min(max(x, lo), hi)`: the gradient flows where x is inside."""
        x, lo, hi = (self.exprs.gen_expr(a) for a in call.args)
        self.check_broadcast("clip", [x, lo, hi], loc)
        with self.ctx.at(loc):
            raised = self.ctx.b.binary(ew.MaxOp, x, lo)
            return self.ctx.b.binary(ew.MinOp, raised, hi)

    def gen_concat(self, call: ast.Call, loc: SourceLoc) -> SSAValue:
        """`concat(A, B, ..., axis=k)`, axis 0 unless given."""
        inputs = [self.tensor_arg(a, "concat") for a in call.args]
        rank = len(shape_of(inputs[0].type))
        axis_expr = next((e for name, e in call.kwargs if name == "axis"), None)
        axis = 0 if axis_expr is None else self.axis_of(axis_expr, rank)
        if axis > 0 and rank != 2:
            # The derivative takes blocks of rows, on the transpose for axis 1.
            raise self.ctx.not_supported(
                loc, f"concat along axis {axis} of rank-{rank} tensors",
                "concat joins along the first axis, or either axis of matrices",
            )
        try:
            concat_shape([shape_of(x.type) for x in inputs], axis)
        except ShapeError as e:
            raise self.ctx.error(loc, str(e)) from None
        with self.ctx.at(loc):
            return self.ctx.emit(ConcatOp(inputs, axis)).result

    # -- slicing ---------------------------------------------------------------

    def gen_bare_slice(self, expr: ast.Slice) -> SSAValue:
        raise self.ctx.error(expr.loc, "a slice `a:b` can only appear inside brackets")

    def gen_sliced(self, expr: ast.Sliced) -> SSAValue:
        """`X[s0, s1, ...]`: each subscript applies to the next axis; an
        index removes its axis, a slice keeps it. The axes are taken from
        the front, so after a kept axis the next subscript works on the
        transpose (2-D only)."""
        ctx = self.ctx
        value = self.exprs.gen_expr(expr.base)
        rank = len(shape_of(value.type))
        if rank == 0:
            raise ctx.error(expr.loc, "cannot index a scalar")
        if len(expr.subscripts) > rank:
            raise ctx.error(
                expr.subscripts[rank].loc,
                f"{len(expr.subscripts)} subscripts for a rank-{rank} tensor",
            )
        kept = 0
        for subscript in expr.subscripts:
            if kept == 0:
                value = self.apply_front(value, subscript, expr.loc)
                kept = 1 if isinstance(subscript, ast.Slice) else 0
                continue
            if len(shape_of(value.type)) != 2:
                raise ctx.not_supported(
                    subscript.loc,
                    "a subscript after a slice of a tensor of rank above 2",
                    "slices apply to matrices and the leading axis",
                )
            with ctx.at(expr.loc):
                flipped = ctx.emit(tops.TransposeOp(value)).result
            value = self.apply_front(flipped, subscript, expr.loc)
            if isinstance(subscript, ast.Slice):
                with ctx.at(expr.loc):
                    value = ctx.emit(tops.TransposeOp(value)).result
        return value

    def apply_front(self, value: SSAValue, subscript: ast.Expr, loc: SourceLoc) -> SSAValue:
        """`subscript` applied to the first axis of `value`."""
        ctx = self.ctx
        if not isinstance(subscript, ast.Slice):
            index = self.exprs.gen_expr(subscript)
            if index.type != f64:
                raise ctx.error(subscript.loc, f"an index must be a scalar, got {describe(index)}")
            with ctx.at(loc):
                return ctx.emit(tops.IndexOp(value, index)).result
        if subscript.lower is None and subscript.upper is None:
            return value  # `:` keeps the whole axis
        shape = shape_of(value.type)
        extent = shape[0]
        with ctx.at(loc):
            n = self.dim(value, 0)
            start, start_c = self.bound(subscript.lower, n, extent, 0.0)
            end, end_c = self.bound(subscript.upper, n, extent, None)
            count_c = None
            if start_c is not None and end_c is not None:
                count_c = end_c - start_c
                if start_c < 0 or count_c < 1 or (extent is not None and end_c > extent):
                    raise ctx.error(
                        subscript.loc,
                        f"the slice [{start_c}:{end_c}] is empty or out of bounds for an "
                        f"axis of length {'?' if extent is None else extent}",
                    )
            count = ctx.constant(float(count_c)) if count_c is not None else ctx.b.sub(end, start)
            result_type = type_of((count_c, *shape[1:]))
            return ctx.emit(RowsOp(value, start, count, result_type)).result

    def bound(
        self, expr: ast.Expr | None, n: SSAValue, extent: int | None, default: float | None
    ) -> tuple[SSAValue, int | None]:
        """A slice bound from the front (negative counts from the end), and
        its value when known here."""
        ctx = self.ctx
        if expr is None:
            if default is not None:
                return ctx.constant(default), int(default)
            return n, extent
        value = self.exprs.gen_expr(expr)
        if value.type != f64:
            raise ctx.error(expr.loc, f"a slice bound must be a scalar, got {describe(value)}")
        constant = literal_number(expr)
        if constant is None:
            constant = constant_of(value)
        if constant is not None:
            whole = math.trunc(constant)
            if whole >= 0:
                return ctx.constant(float(whole)), whole
            if extent is not None:
                return ctx.constant(float(whole + extent)), whole + extent
        # From the end when negative: value + n * (value < 0), truncated.
        whole_value = ctx.b.unary(ew.FloorOp, ctx.b.unary(ew.AbsOp, value))
        signed = ctx.b.mul(whole_value, ctx.b.sub(ctx.constant(1.0), ctx.b.mul(
            ctx.constant(2.0), ctx.b.cmp("lt", value, ctx.constant(0.0)))))
        negative = ctx.b.cmp("lt", signed, ctx.constant(0.0))
        return ctx.b.add(signed, ctx.b.mul(n, negative)), None

