"""Building and reading memref descriptors in the LLVM dialect.

A ranked memref is the struct `(allocated ptr, aligned ptr, offset, sizes[R],
strides[R])`, the same layout as upstream MLIR, so that code lowered by NOMA and
by `mlir-opt --convert-to-llvm` (and the C runtime) agree on it. Rank 0 has no
size or stride arrays.

Sizes, strides and offsets that the memref type fixes are used as constants;
`Index` arithmetic folds them in Python so the emitted IR has no `x * 1`,
`x * 0` or `x + 0`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import cast

from xdsl.builder import Builder
from xdsl.dialects import llvm
from xdsl.dialects.builtin import DYNAMIC_INDEX, DenseArrayBase, MemRefType, NoneAttr, i64
from xdsl.ir import Attribute, Operation, SSAValue

from noma.lowering.to_llvm.types import (
    I64,
    PTR,
    constant,
    descriptor_type,
    emit,
    has_identity_layout,
    lowering_error,
)

Index = int | SSAValue
"""An i64 quantity: known in Python, or an SSA value."""


def materialize(b: Builder, x: Index) -> SSAValue:
    return constant(b, x) if isinstance(x, int) else x


def mul(b: Builder, x: Index, y: Index) -> Index:
    if isinstance(x, int) and isinstance(y, int):
        return x * y
    if x == 0 or y == 0:
        return 0
    if x == 1:
        return y
    if y == 1:
        return x
    return emit(b, llvm.MulOp(materialize(b, x), materialize(b, y)))


def add(b: Builder, x: Index, y: Index) -> Index:
    if isinstance(x, int) and isinstance(y, int):
        return x + y
    if x == 0:
        return y
    if y == 0:
        return x
    return emit(b, llvm.AddOp(materialize(b, x), materialize(b, y)))


def field_types(rank: int) -> list[Attribute]:
    """The flattened descriptor, as a memref argument is passed to a function."""
    return [PTR, PTR, I64, *([I64] * (2 * rank))]


def _positions(rank: int) -> list[tuple[int, ...]]:
    """Struct positions of the flattened fields, in argument order."""
    return [(0,), (1,), (2,), *((3, i) for i in range(rank)), *((4, i) for i in range(rank))]


def ranked(t: Attribute, op: Operation) -> MemRefType[Attribute]:
    """`t` as a ranked memref type (unranked memrefs are not supported)."""
    # isinstance, not xDSL's generic `isa(t, MemRefType[Attribute])`: the same
    # test (any element type), without its cost on every memref op.
    if not isinstance(t, MemRefType):
        raise lowering_error(op, f"expected a ranked memref, got {t}")
    return cast(MemRefType[Attribute], t)


def static_offset(t: MemRefType[Attribute]) -> int | None:
    if isinstance(t.layout, NoneAttr):
        return 0
    offset = t.layout.get_offset()
    return None if offset is None or offset == DYNAMIC_INDEX else offset


def static_strides(t: MemRefType[Attribute]) -> list[int | None]:
    """Strides known from the type alone (None where they are dynamic)."""
    shape = t.get_shape()
    if has_identity_layout(t):
        strides: list[int | None] = []
        running: int | None = 1
        for size in reversed(shape):
            strides.append(running)
            running = None if running is None or size == DYNAMIC_INDEX else running * size
        return list(reversed(strides))
    layout_strides = None if isinstance(t.layout, NoneAttr) else t.layout.get_strides()
    if layout_strides is None:
        return [None] * len(shape)
    return [None if s is None or s == DYNAMIC_INDEX else s for s in layout_strides]


@dataclass
class Descriptor:
    """A descriptor struct value of a memref of type `type`."""

    value: SSAValue
    type: MemRefType[Attribute]

    @property
    def rank(self) -> int:
        return self.type.get_num_dims()

    def _extract(self, b: Builder, *position: int) -> SSAValue:
        inserted = _inserted_at(self.value, position)
        if inserted is not None:
            return inserted
        t: Attribute = I64 if position[0] >= 2 else PTR
        return emit(b, llvm.ExtractValueOp(_position_attr(position), self.value, t))

    def allocated_ptr(self, b: Builder) -> SSAValue:
        return self._extract(b, 0)

    def aligned_ptr(self, b: Builder) -> SSAValue:
        return self._extract(b, 1)

    def offset(self, b: Builder) -> Index:
        known = static_offset(self.type)
        return known if known is not None else self._extract(b, 2)

    def size(self, b: Builder, dim: int) -> Index:
        known = self.type.get_shape()[dim]
        return known if known != DYNAMIC_INDEX else self._extract(b, 3, dim)

    def stride(self, b: Builder, dim: int) -> Index:
        known = static_strides(self.type)[dim]
        return known if known is not None else self._extract(b, 4, dim)

    def fields(self, b: Builder) -> list[SSAValue]:
        """Every field, flattened in argument order (for calls)."""
        return [self._extract(b, *p) for p in _positions(self.rank)]

    def element_ptr(self, b: Builder, indices: Sequence[Index], elem: Attribute) -> SSAValue:
        """Address of element `indices`: aligned + offset + sum(index_i * stride_i)."""
        linear = self.offset(b)
        for dim, index in enumerate(indices):
            linear = add(b, linear, mul(b, index, self.stride(b, dim)))
        base = self.aligned_ptr(b)
        if linear == 0:
            return base
        return emit(b, llvm.GEPOp.from_mixed_indices(base, [materialize(b, linear)], elem))

    def num_elements(self, b: Builder) -> Index:
        """Product of the sizes (1 for rank 0)."""
        total: Index = 1
        for dim in range(self.rank):
            total = mul(b, total, self.size(b, dim))
        return total


@cache
def _position_attr(position: tuple[int, ...]) -> DenseArrayBase:
    """The `[i, j]` of an insertvalue/extractvalue (cached: immutable)."""
    return DenseArrayBase.from_list(i64, position)


def _inserted_at(struct: SSAValue, position: tuple[int, ...]) -> SSAValue | None:
    """The value `struct` holds at `position` when the chain of
    `llvm.insertvalue` that built it (`pack`) says so: an extract of it would
    give just that value, which dominates the struct. None if unknown, and
    for the address of a global: xDSL's LLVM backend gives that one the
    global's typed pointer type (`[4 x double]*`), which a call expecting
    another would reject, while the descriptor's field is a plain `ptr`."""
    owner = struct.owner
    while isinstance(owner, llvm.InsertValueOp):
        at = tuple(owner.position.get_values())
        if at == position:
            inserted = owner.value
            return None if isinstance(inserted.owner, llvm.AddressOfOp) else inserted
        if at == position[: len(at)] or position == at[: len(position)]:
            return None  # a whole sub-aggregate: not a field of ours alone
        owner = owner.container.owner
    return None


def pack(b: Builder, rank: int, fields: Sequence[Index]) -> SSAValue:
    """A descriptor struct from its flattened fields (allocated, aligned, offset,
    sizes..., strides...)."""
    struct = emit(b, llvm.UndefOp(descriptor_type(rank)))
    for position, value in zip(_positions(rank), fields, strict=True):
        struct = emit(
            b, llvm.InsertValueOp(_position_attr(position), struct, materialize(b, value))
        )
    return struct


def row_major(b: Builder, sizes: Sequence[Index]) -> tuple[list[Index], Index]:
    """Row-major strides of a buffer of `sizes`, and its number of elements."""
    strides: list[Index] = []
    running: Index = 1
    for size in reversed(sizes):
        strides.append(running)
        running = mul(b, running, size)
    strides.reverse()
    return strides, running
