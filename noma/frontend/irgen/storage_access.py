"""Reading and writing parameters and buffers, and what the generator knows
about their storage as control flow goes: the shape they have at a point
(a reallocated parameter's handle is dynamic, its reads are refined to the
shape known there) and whether a buffer was freed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from xdsl.ir import Attribute, SSAValue

from noma.dialects.noma import storage
from noma.dialects.noma.shapes import is_static, shape_of
from noma.frontend import ast
from noma.frontend.checks import child_bodies
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.context import GenContext
from noma.frontend.irgen.scope import (
    BufferBinding,
    ParamBinding,
    StorageBinding,
    known_type,
)
from noma.frontend.irgen.tensors import describe, describe_type, joined_type


def all_statements(stmts: Iterable[ast.Stmt]) -> Iterator[ast.Stmt]:
    """Every statement, nested bodies included, in source order."""
    for s in stmts:
        yield s
        for body in child_bodies(s):
            yield from all_statements(body)


def merged_storage(a: StorageBinding, b: StorageBinding) -> StorageBinding:
    """What is known after two paths that left the storage as `a` and `b`:
    the join of the shapes; freed if both freed it, maybe freed if one did."""
    known = joined_type(known_type(a), known_type(b))
    assert known is not None, "a reallocation keeps the rank"
    if isinstance(a, BufferBinding) and isinstance(b, BufferBinding):
        both = a.freed_at is not None and b.freed_at is not None
        some = a.freed_at is not None or b.freed_at is not None
        return replace(
            a,
            freed_at=a.freed_at if both else None,
            maybe_freed=not both and (some or a.maybe_freed or b.maybe_freed),
            known=known,  # type: ignore[arg-type]
        )
    return replace(a, known=known)  # type: ignore[arg-type]


class StorageAccess:
    """Reads and writes of parameters and buffers by name."""

    def __init__(self, ctx: GenContext) -> None:
        self.ctx = ctx

    # -- access ----------------------------------------------------------------

    def read_storage(self, name: str, binding: StorageBinding, loc: SourceLoc) -> SSAValue:
        self.require_alive(name, binding, loc)
        value = self.ctx.emit(storage.ReadOp(binding.handle)).value
        known = known_type(binding)
        return value if value.type == known else self.ctx.cast_to(value, known)

    def write_storage(
        self, name: str, binding: StorageBinding, value: SSAValue, loc: SourceLoc
    ) -> None:
        """`name = value` for a parameter or buffer: the value must have its
        shape (checked at run time where either is dynamic)."""
        ctx = self.ctx
        self.require_alive(name, binding, loc)
        stored = known_type(binding)
        if joined_type(value.type, stored) is None or (
            value.type != stored and is_static(shape_of(value.type)) and is_static(shape_of(stored))
        ):
            raise ctx.error(
                loc, f"cannot store {describe(value)} in '{name}', {describe_type(stored)}"
            )
        handle_type = binding.handle.type.value_type  # type: ignore[attr-defined]
        ctx.emit(storage.WriteOp(ctx.cast_to(value, handle_type), binding.handle))

    def require_alive(self, name: str, binding: StorageBinding, loc: SourceLoc) -> None:
        """A use of a freed buffer is a compile error where it is certain, a
        run-time check where only some paths freed it."""
        if not isinstance(binding, BufferBinding):
            return
        ctx = self.ctx
        if binding.freed_at is not None:
            at = binding.freed_at
            raise ctx.error(loc, f"'{name}' is used after `free` (freed at {at.line}:{at.col})")
        if binding.maybe_freed:
            with ctx.at(loc):
                ctx.emit(storage.CheckAliveOp(binding.handle, name))

    # -- what is known about storage across control flow -------------------------

    def forget_storage_facts(self, names: Iterable[str], body: tuple[ast.Stmt, ...]) -> None:
        """Before a loop: storage the body reallocates has whatever shape a
        previous iteration left (dynamic), and a buffer it frees may be freed."""
        scope = self.ctx.scope
        changed = list(all_statements(body))
        reallocated = {s.name for s in changed if isinstance(s, ast.Realloc)}
        freed = {s.name for s in changed if isinstance(s, ast.Free)}
        for name in names:
            binding = scope.lookup(name)
            if not isinstance(binding, ParamBinding | BufferBinding):
                continue
            known: Attribute | None = None if name in reallocated else binding.known
            if isinstance(binding, BufferBinding):
                maybe = binding.maybe_freed or (name in freed and binding.freed_at is None)
                scope.rebind(name, replace(binding, known=known, maybe_freed=maybe))
            else:
                scope.rebind(name, replace(binding, known=known))
