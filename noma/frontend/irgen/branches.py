"""Two-way branches as `scf.if`: the results are the outer variables either
branch changed, rebound after it; what is known of storage is merged.
Used by `if`, by the guard after a nested `return` and by mini-batch
training's once-per-pass code; what runs in each branch is a callable, so
this file needs no statement generation of its own."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import scf
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.context import GenContext
from noma.frontend.irgen.scope import (
    Binding,
    Scope,
    StorageBinding,
    binding_value,
    with_value,
)
from noma.frontend.irgen.storage_access import merged_storage
from noma.frontend.irgen.tensors import joined_variable_type


class Branches:
    def __init__(self, ctx: GenContext) -> None:
        self.ctx = ctx

    def gen_conditional(
        self,
        cond: SSAValue,
        loc: SourceLoc,
        then_fn: Callable[[], None],
        else_fn: Callable[[], None] | None,
    ) -> None:
        """`scf.if` on an i1 whose results are the outer variables either
        branch changed; those variables are rebound to the results."""
        ctx = self.ctx
        parent = ctx.scope
        then_scope, else_scope = Scope(parent), Scope(parent)
        then_block, else_block = Block(), Block()
        with ctx.inside(then_block, then_scope):
            then_fn()
        if else_fn is not None:
            with ctx.inside(else_block, else_scope):
                else_fn()

        changed = [
            n for n in parent.visible_names() if n in then_scope.writes or n in else_scope.writes
        ]
        for name in [n for n in changed if isinstance(parent.lookup(n), StorageBinding)]:
            changed.remove(name)
            then_b, else_b = then_scope.written(name), else_scope.written(name)
            assert isinstance(then_b, StorageBinding) and isinstance(else_b, StorageBinding)
            parent.rebind(name, merged_storage(then_b, else_b))
        then_values, else_values, types = [], [], []
        for name in changed:
            # A branch's own `let` of the same name shadows, so read the write.
            then_b, else_b = then_scope.written(name), else_scope.written(name)
            assert then_b is not None and else_b is not None
            types.append(self.merged_type(name, then_b, else_b, loc))
            then_values.append(binding_value(then_b))
            else_values.append(binding_value(else_b))

        with ctx.inside(then_block, then_scope), ctx.at(loc):
            ctx.emit(scf.YieldOp(*map(ctx.cast_to, then_values, types)))
        if else_fn is not None or changed:
            with ctx.inside(else_block, else_scope), ctx.at(loc):
                ctx.emit(scf.YieldOp(*map(ctx.cast_to, else_values, types)))
            else_region = Region(else_block)
        else:
            else_region = Region()
        with ctx.at(loc):
            if_op = ctx.emit(scf.IfOp(cond, types, Region(then_block), else_region))
        for name, result in zip(changed, if_op.results):
            binding = parent.lookup(name)
            assert binding is not None
            parent.rebind(name, with_value(binding, result))

    def merged_type(self, name: str, a: Binding, b: Binding, loc: SourceLoc) -> Attribute:
        """The type of a variable after a branch: the join of its types on
        both branches (tensor shapes that differ become dynamic)."""
        if type(a) is not type(b):
            raise self.ctx.error(loc, f"'{name}' is a different kind of variable on each branch")
        return joined_variable_type(name, binding_value(a), binding_value(b).type, loc)
