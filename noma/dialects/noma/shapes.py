"""Shapes of NOMA values and NumPy broadcasting.

A scalar `f64` has shape `()`; `tensor<2x?xf64>` has shape `(2, None)`, None
standing for a dimension known only at run time (`?`). Broadcasting follows
NumPy: shapes are aligned on the right, and each pair of dimensions must be
equal or one of them 1. With a dynamic dimension the answer may depend on
the run-time size; the static result is then as precise as can be proven,
and the lowering checks the rest at run time.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, Float64Type, TensorType, f64
from xdsl.ir import Attribute

Dim = int | None
Shape = tuple[Dim, ...]


class ShapeError(Exception):
    """Shapes that can never be compatible; the message says why."""


def shape_of(t: Attribute) -> Shape:
    if isinstance(t, Float64Type):
        return ()
    if isinstance(t, TensorType):
        return tuple(None if d == DYNAMIC_INDEX else d for d in t.get_shape())
    raise ValueError(f"{t} is not a NOMA value type")


def type_of(shape: Shape) -> Attribute:
    if not shape:
        return f64
    return TensorType(f64, [DYNAMIC_INDEX if d is None else d for d in shape])


def format_shape(shape: Shape) -> str:
    if not shape:
        return "a scalar"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def broadcast_dim(a: Dim, b: Dim) -> Dim:
    """One dimension of the broadcast of two, or ShapeError."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if a is None or b is None:
        # `?` against n: n if `?` turns out to be 1 or n (checked at run time).
        # `?` against `?`: unknown.
        return b if a is None else a
    raise ShapeError(f"they do not broadcast: dimensions {a} and {b} differ and neither is 1")


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    rank = max(len(a), len(b))
    padded_a = (1,) * (rank - len(a)) + a
    padded_b = (1,) * (rank - len(b)) + b
    return tuple(broadcast_dim(x, y) for x, y in zip(padded_a, padded_b, strict=True))


def broadcast_types(a: Attribute, b: Attribute) -> Attribute:
    return type_of(broadcast_shapes(shape_of(a), shape_of(b)))


def join_shapes(a: Shape, b: Shape) -> Shape | None:
    """The most precise shape that describes both (a dimension that differs
    becomes dynamic), or None when the ranks differ."""
    if len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b, strict=True))


def is_static(shape: Shape) -> bool:
    return all(d is not None for d in shape)


def num_elements(shape: Shape) -> int | None:
    total = 1
    for d in shape:
        if d is None:
            return None
        total *= d
    return total


def reduced_axes(source: Shape, target: Sequence[Dim]) -> tuple[int, ...]:
    """The axes of `source` that broadcasting `target` to `source` created or
    stretched: summing over them gives back `target`'s shape."""
    offset = len(source) - len(target)
    axes = list(range(offset))
    for i, d in enumerate(target):
        if d == 1 and source[offset + i] != 1:
            axes.append(offset + i)
    return tuple(axes)


def row_major_strides(shape: Sequence[int]) -> list[int]:
    """Element strides of a static row-major shape: (2, 3) -> [3, 1]."""
    strides, total = [], 1
    for d in reversed(shape):
        strides.append(total)
        total *= d
    return strides[::-1]
