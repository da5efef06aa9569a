"""Reductions along one axis, the softmax family, arg-extrema and one-hot
encoding (issue 12, points 1 to 3). Every op here names its axis as a
non-negative `axis` property (the frontend resolves negative axes); a
reduced result keeps the axis as size 1 exactly when its rank is the
source's (`keepdims=1`), and a 1-D source reduced without keepdims gives
an f64. Their loop nests are in `noma/lowering/noma_to_loops/reductions.py`.

    %s = noma.sum_axis %x 1 : tensor<3x4xf64> -> tensor<3xf64>
    %m = noma.max_axis %x 0 : tensor<3x4xf64> -> tensor<1x4xf64>
    %p = noma.softmax %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
    %i = noma.argmax %x 1 : tensor<3x4xf64> -> tensor<3xf64>
    %h = noma.one_hot %labels, %k : tensor<5xf64>, f64 -> tensor<5x10xf64>

The softmax family subtracts the maximum along the axis before `exp`, and
so do its derivative rules (they use `softmax` or `exp` of a log-softmax,
never a bare `exp` of the input). `argmax`, `argmin` and `one_hot` give
indices: they have no derivative rule, so autodiff reports a located error
when one lies on an objective's gradient path.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import I64, IntegerAttr, TensorType, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.dialects.noma.shapes import Shape, format_shape, shape_of, type_of
from noma.dialects.noma.types import ValueType


def reduced_shape(shape: Shape, axis: int, keepdims: bool) -> Shape:
    """The shape of `shape` reduced along `axis` (kept as size 1 or dropped)."""
    if keepdims:
        return (*shape[:axis], 1, *shape[axis + 1 :])
    return (*shape[:axis], *shape[axis + 1 :])


def _verify_axis(op: AxisOp) -> int:
    rank = len(shape_of(op.source.type))
    axis = op.axis.value.data
    if not 0 <= axis < rank:
        raise VerifyException(f"axis {axis} of a rank-{rank} tensor")
    return axis


class AxisOp(IRDLOperation):
    """Base of the ops working along one axis of a tensor."""

    source = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(ValueType)

    traits = traits_def(Pure())

    assembly_format = "$source $axis attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue | Operation, axis: int, result_type: Attribute):
        super().__init__(
            operands=[source],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, 64)},
        )

    @property
    def axis_index(self) -> int:
        return self.axis.value.data


class AxisReductionOp(AxisOp):
    """Base of the reductions along an axis: the result is the source's
    shape with the axis dropped, or kept as size 1."""

    def __init__(self, source: SSAValue | Operation, axis: int, keepdims: bool = False):
        shape = shape_of(SSAValue.get(source).type)
        super().__init__(source, axis, type_of(reduced_shape(shape, axis, keepdims)))

    @property
    def keepdims(self) -> bool:
        return len(shape_of(self.result.type)) == len(shape_of(self.source.type))

    def verify_(self) -> None:
        axis = _verify_axis(self)
        shape = shape_of(self.source.type)
        expected = {type_of(reduced_shape(shape, axis, k)) for k in (False, True)}
        if self.result.type not in expected:
            raise VerifyException(
                f"reducing a {format_shape(shape)} tensor along axis {axis} gives "
                f"{' or '.join(sorted(str(t) for t in expected))}, not {self.result.type}"
            )


class SameShapeAxisOp(AxisOp):
    """Base of the ops along an axis whose result has the source's type."""

    def __init__(self, source: SSAValue | Operation, axis: int):
        super().__init__(source, axis, SSAValue.get(source).type)

    def verify_(self) -> None:
        _verify_axis(self)
        if self.result.type != self.source.type:
            raise VerifyException(f"the result has the type of the source, {self.source.type}")


# -- helpers of the derivative rules -------------------------------------------


def spread_along_axis(ctx: VJPContext, g: SSAValue, like: SSAValue, axis: int) -> SSAValue:
    """`g`, the adjoint of a reduction of `like` along `axis`, repeated along
    that axis to the shape of `like`."""
    return ctx.b.insert(BroadcastAxisOp(g, like, axis)).result


def kept_sum(ctx: VJPContext, value: SSAValue, axis: int) -> SSAValue:
    """`sum(value, axis, keepdims=1)`: broadcasts against `value` itself."""
    return ctx.b.insert(SumAxisOp(value, axis, keepdims=True)).result


# -- reductions ----------------------------------------------------------------


@irdl_op_definition
class SumAxisOp(AxisReductionOp, DifferentiableOp):
    """`sum(X, axis=k)`: the sum along one axis.

    %s = noma.sum_axis %x 1 : tensor<3x4xf64> -> tensor<3xf64>
    """

    name = "noma.sum_axis"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        return [spread_along_axis(ctx, g, ctx.operand(0), self.axis_index)]


@irdl_op_definition
class MeanAxisOp(AxisReductionOp, DifferentiableOp):
    """`mean(X, axis=k)`: the mean along one axis.

    %m = noma.mean_axis %x 0 : tensor<3x4xf64> -> tensor<4xf64>
    """

    name = "noma.mean_axis"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        from noma.dialects.noma.creation import DimOp

        (g,) = result_adjoints
        assert g is not None
        x = ctx.operand(0)
        count = ctx.b.insert(DimOp(x, self.axis_index)).result
        return [spread_along_axis(ctx, ctx.b.div(g, count), x, self.axis_index)]


class ExtremumAxisOp(AxisReductionOp, DifferentiableOp):
    """Base of `max_axis` and `min_axis`: the adjoint goes to the first
    position along the axis that attains the extremum (as the index
    `argmax`/`argmin` give), through a 0/1 mask."""

    def mask(self, x: SSAValue, axis: int) -> ExtremumMaskOp:
        return (MaxMaskOp if isinstance(self, MaxAxisOp) else MinMaskOp)(x, axis)

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        x, axis = ctx.operand(0), self.axis_index
        mask = ctx.b.insert(self.mask(x, axis)).result
        return [ctx.b.mul(spread_along_axis(ctx, g, x, axis), mask)]


@irdl_op_definition
class MaxAxisOp(ExtremumAxisOp):
    """`max(X, axis=k)`: the maximum along one axis (NaN if any is NaN).

    %m = noma.max_axis %x 1 : tensor<3x4xf64> -> tensor<3x1xf64>
    """

    name = "noma.max_axis"


@irdl_op_definition
class MinAxisOp(ExtremumAxisOp):
    """`min(X, axis=k)`: the minimum along one axis (NaN if any is NaN).

    %m = noma.min_axis %x 1 : tensor<3x4xf64> -> tensor<3xf64>
    """

    name = "noma.min_axis"


@irdl_op_definition
class LogSumExpOp(AxisReductionOp, DifferentiableOp):
    """`logsumexp(X, axis=k)`: `m + log(sum(exp(X - m)))` along the axis,
    `m` its maximum, so that large inputs stay finite. Its adjoint is the
    adjoint spread along the axis times `softmax(X)`.

        %l = noma.logsumexp %x 1 : tensor<3x4xf64> -> tensor<3xf64>
    """

    name = "noma.logsumexp"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        x, axis = ctx.operand(0), self.axis_index
        probabilities = ctx.b.insert(SoftmaxOp(x, axis)).result
        return [ctx.b.mul(spread_along_axis(ctx, g, x, axis), probabilities)]


# -- the softmax family ------------------------------------------------------------


@irdl_op_definition
class SoftmaxOp(SameShapeAxisOp, DifferentiableOp):
    """`softmax(X, axis=k)`: `exp(X - m) / sum(exp(X - m))` along the axis,
    `m` its maximum. Adjoint `y * (g - sum(g * y, axis))`.

        %p = noma.softmax %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
    """

    name = "noma.softmax"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        b, y = ctx.b, ctx.result(0)
        inner = kept_sum(ctx, b.mul(g, y), self.axis_index)
        return [b.mul(y, b.sub(g, inner))]


@irdl_op_definition
class LogSoftmaxOp(SameShapeAxisOp, DifferentiableOp):
    """`log_softmax(X, axis=k)`: `X - logsumexp(X, axis)`, computed as
    `X - m - log(sum(exp(X - m)))`. Adjoint `g - softmax(X) * sum(g, axis)`,
    with `softmax(X) = exp(y)` (`y <= 0`: no overflow).

        %l = noma.log_softmax %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
    """

    name = "noma.log_softmax"

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        from noma.dialects.noma.elementwise import ExpOp

        (g,) = result_adjoints
        assert g is not None
        b = ctx.b
        probabilities = b.unary(ExpOp, ctx.result(0))
        return [b.sub(g, b.mul(probabilities, kept_sum(ctx, g, self.axis_index)))]


# -- indices -------------------------------------------------------------------------


@irdl_op_definition
class ArgMaxOp(AxisReductionOp):
    """`argmax(X, axis=k)`: the index (an f64) of the first maximum along
    the axis. No derivative rule: an index is not differentiable.

        %i = noma.argmax %x 1 : tensor<3x4xf64> -> tensor<3xf64>
    """

    name = "noma.argmax"


@irdl_op_definition
class ArgMinOp(AxisReductionOp):
    """`argmin(X, axis=k)`: the index (an f64) of the first minimum along
    the axis. No derivative rule.

        %i = noma.argmin %x 0 : tensor<3x4xf64> -> tensor<4xf64>
    """

    name = "noma.argmin"


class ExtremumMaskOp(SameShapeAxisOp, DifferentiableOp):
    """Base of the masks of the first extremum along an axis: 1 there, 0
    elsewhere. Piecewise constant: no adjoint."""

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [None]


@irdl_op_definition
class MaxMaskOp(ExtremumMaskOp):
    """1 at the first maximum along the axis, 0 elsewhere (the adjoint of
    `noma.max_axis` goes through it).

        %k = noma.max_mask %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
    """

    name = "noma.max_mask"


@irdl_op_definition
class MinMaskOp(ExtremumMaskOp):
    """1 at the first minimum along the axis, 0 elsewhere.

    %k = noma.min_mask %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
    """

    name = "noma.min_mask"


@irdl_op_definition
class OneHotOp(IRDLOperation):
    """`one_hot(labels, k)`: row `i` is 1 at column `labels[i]`, 0
    elsewhere. A label that is not a whole number in `[0, k)` is a run-time
    error. No derivative rule (labels are indices).

        %h = noma.one_hot %labels, %k : tensor<5xf64>, f64 -> tensor<5x10xf64>
    """

    name = "noma.one_hot"

    labels = operand_def(TensorType)
    classes = operand_def(f64)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = (
        "$labels `,` $classes attr-dict `:` type($labels) `,` type($classes) `->` type($result)"
    )

    def __init__(
        self, labels: SSAValue | Operation, classes: SSAValue | Operation, result_type: Attribute
    ):
        super().__init__(operands=[labels, classes], result_types=[result_type])

    def verify_(self) -> None:
        labels, result = shape_of(self.labels.type), shape_of(self.result.type)
        if len(labels) != 1:
            raise VerifyException(f"one_hot needs 1-D labels, got {format_shape(labels)}")
        if len(result) != 2 or result[0] != labels[0]:
            raise VerifyException(
                f"one_hot of {format_shape(labels)} labels gives a [{labels[0] or '?'}, k] "
                f"tensor, not {format_shape(result)}"
            )


# -- the adjoint's helper ---------------------------------------------------------


@irdl_op_definition
class BroadcastAxisOp(IRDLOperation, DifferentiableOp):
    """`value`, a tensor reduced along `axis` of `like` (kept or dropped),
    repeated along that axis to the shape of `like` (whose values are not
    used): the adjoint of a reduction.

        %b = noma.broadcast_axis %g, %x 1 : tensor<3xf64>, tensor<3x4xf64> -> tensor<3x4xf64>
    """

    name = "noma.broadcast_axis"

    value = operand_def(ValueType)
    like = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = (
        "$value `,` $like $axis attr-dict `:` type($value) `,` type($like) `->` type($result)"
    )

    def __init__(self, value: SSAValue | Operation, like: SSAValue | Operation, axis: int):
        like_v = SSAValue.get(like)
        super().__init__(
            operands=[value, like_v],
            result_types=[like_v.type],
            properties={"axis": IntegerAttr(axis, 64)},
        )

    @property
    def keepdims(self) -> bool:
        return len(shape_of(self.value.type)) == len(shape_of(self.like.type))

    def verify_(self) -> None:
        shape = shape_of(self.like.type)
        axis = self.axis.value.data
        if not 0 <= axis < len(shape):
            raise VerifyException(f"axis {axis} of a rank-{len(shape)} tensor")
        if self.result.type != self.like.type:
            raise VerifyException("the result has the type of `like`")
        value = shape_of(self.value.type)
        allowed = [reduced_shape(shape, axis, k) for k in (False, True)]
        if not any(
            len(value) == len(a) and all(v is None or d is None or v == d for v, d in zip(value, a))
            for a in allowed
        ):
            raise VerifyException(
                f"a {format_shape(value)} tensor is not a reduction of a {format_shape(shape)} "
                f"tensor along axis {axis}"
            )

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        (g,) = result_adjoints
        assert g is not None
        if not ctx.needs(0):
            return [None, None]
        summed = ctx.b.insert(SumAxisOp(g, self.axis.value.data, keepdims=self.keepdims)).result
        value_type = ctx.operand(0).type
        if summed.type != value_type:
            from noma.dialects.noma.tensor_ops import CastOp

            summed = ctx.b.insert(CastOp(summed, value_type)).result
        return [summed, None]


REDUCTION_OPS = (
    SumAxisOp,
    MeanAxisOp,
    MaxAxisOp,
    MinAxisOp,
    LogSumExpOp,
    SoftmaxOp,
    LogSoftmaxOp,
    ArgMaxOp,
    ArgMinOp,
    MaxMaskOp,
    MinMaskOp,
    OneHotOp,
    BroadcastAxisOp,
)

FUSING_CONSUMERS = (
    SumAxisOp,
    MeanAxisOp,
    MaxAxisOp,
    MinAxisOp,
    LogSumExpOp,
    SoftmaxOp,
    LogSoftmaxOp,
    ArgMaxOp,
    ArgMinOp,
)
"""Ops whose loops read their source element by element at its own
indices: an elementwise producer used only by one of them is computed
inline rather than stored (see `fusible_producer`)."""
