"""`learn`, `alloc`, `realloc` and `free`: storage whose shape may change.

A parameter that some `realloc` in its function resizes gets a handle of
dynamic shape; so does every buffer. Where the shape is known (after `learn`,
after a `realloc` or `alloc` with constant dimensions, until control flow
makes it unknown) reads are refined to it, so code between two growths is
as static as code without growth.

A `realloc` of a parameter inside an optimize body takes effect at the end of
the iteration, after that iteration's step (LANGUAGE.md section 6). The body
records the request in pseudo-variables (a flag, the dimensions, the init
policy's operands), which control flow carries like any variable; at the end
of the body an `scf.if` on the flag holds the `noma.realloc`, marked
`noma.after_step` for `expand-optimizers` to run after the step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from xdsl.dialects import scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, UnitAttr, f64
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.dialects.noma import storage
from noma.dialects.noma.creation import FillOp
from noma.dialects.noma.shapes import shape_of, type_of
from noma.dialects.noma.training import AFTER_STEP_ATTR
from noma.dialects.noma.types import BufferType, ParamType
from noma.frontend import ast
from noma.frontend.irgen.context import GenContext, StatementTable
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.scope import (
    BufferBinding,
    ParamBinding,
    ValueBinding,
    known_type,
)
from noma.frontend.irgen.storage_access import StorageAccess, all_statements
from noma.frontend.irgen.tensors import TensorGen, describe, require_scalar, static_type

INIT_OPERANDS = {"zeros": 0, "normal": 2, "uniform": 2, "expr": 1}


def dynamic_type(t: Attribute) -> Attribute:
    """The type of the same rank with every dimension dynamic."""
    return type_of(tuple(None for _ in shape_of(t)))


@dataclass
class DeferredGrowth:
    """The pseudo-variables of one `realloc` site inside an optimize body."""

    stmt: ast.Realloc
    index: int

    def name(self, part: str) -> str:
        return f"$grow{self.index}.{part}"

    @property
    def flag(self) -> str:
        return self.name("flag")

    def dims(self) -> list[str]:
        return [self.name(f"d{i}") for i in range(len(self.stmt.dims))]

    def init_args(self) -> list[str]:
        kind = self.stmt.init.kind if self.stmt.init is not None else "zeros"
        return [self.name(f"a{i}") for i in range(INIT_OPERANDS[kind])]


class GrowthGen:
    def __init__(
        self, ctx: GenContext, exprs: ExpressionGen, tensors: TensorGen, storage: StorageAccess
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.tensors = tensors
        """For the dimensions of buffers and reallocations."""
        self.storage = storage

    def statement_handlers(self) -> StatementTable:
        return {
            ast.Learn: self.gen_learn,
            ast.Alloc: self.gen_alloc,
            ast.Realloc: self.gen_realloc,
            ast.Free: self.gen_free,
        }

    @cached_property
    def reallocated(self) -> frozenset[str]:
        """Names some `realloc` of this function resizes."""
        return frozenset(
            s.name for s in all_statements(self.ctx.fn.body) if isinstance(s, ast.Realloc)
        )

    # -- declarations -------------------------------------------------------------

    def gen_learn(self, stmt: ast.Learn) -> None:
        ctx = self.ctx
        if ctx.optimize is not None:
            raise ctx.error(stmt.loc, "`learn` cannot declare a parameter inside an optimize loop")
        init = self.exprs.gen_expr(stmt.value)
        param_type = None
        if stmt.name in self.reallocated:
            if init.type == f64:
                raise ctx.error(
                    stmt.loc,
                    f"'{stmt.name}' is a scalar, which `realloc` cannot resize; "
                    "declare it as a tensor (`learn p = tensor [x];`)",
                )
            param_type = ParamType(dynamic_type(init.type))
        param = ctx.emit(storage.LearnOp(stmt.name, init, param_type)).param
        known = init.type if param_type is not None else None
        ctx.scope.define(stmt.name, ParamBinding(param, stmt.loc, known=known))

    def gen_alloc(self, stmt: ast.Alloc) -> None:
        ctx = self.ctx
        if not stmt.dims:
            raise ctx.error(stmt.loc, "a buffer needs at least one dimension")
        dims = self.tensors.gen_dims(stmt.dims, stmt.loc)
        buffer_type = BufferType(TensorType(f64, [DYNAMIC_INDEX] * len(dims)))
        buffer = ctx.emit(storage.AllocOp(dims, buffer_type)).buffer
        known = static_type(dims)
        ctx.scope.define(stmt.name, BufferBinding(buffer, stmt.loc, known=known))

    def gen_free(self, stmt: ast.Free) -> None:
        ctx = self.ctx
        binding = ctx.scope.lookup(stmt.name)
        if isinstance(binding, ParamBinding):
            raise ctx.error(
                stmt.loc,
                f"'{stmt.name}' is a learnable parameter; only buffers made by `alloc` are freed",
            )
        if not isinstance(binding, BufferBinding):
            raise ctx.error(stmt.loc, f"'{stmt.name}' is not a buffer made by `alloc`")
        self.storage.require_alive(stmt.name, binding, stmt.loc)
        ctx.emit(storage.FreeOp(binding.handle))
        ctx.scope.rebind(
            stmt.name,
            BufferBinding(binding.handle, binding.loc, freed_at=stmt.loc, known=binding.known),
        )

    # -- realloc ----------------------------------------------------------------------

    def gen_realloc(self, stmt: ast.Realloc) -> None:
        ctx = self.ctx
        binding = ctx.scope.lookup(stmt.name)
        if not isinstance(binding, ParamBinding | BufferBinding):
            raise ctx.error(
                stmt.loc,
                f"'{stmt.name}' is not a buffer or learnable parameter; only those can be "
                "reallocated",
            )
        self.storage.require_alive(stmt.name, binding, stmt.loc)
        rank = len(shape_of(known_type(binding)))
        if len(stmt.dims) != rank:
            raise ctx.error(
                stmt.loc,
                f"'{stmt.name}' has rank {rank}; `realloc` keeps the rank, so it needs {rank} "
                f"dimension{'' if rank == 1 else 's'}, got {len(stmt.dims)}",
            )
        if isinstance(binding, BufferBinding) and stmt.init is not None:
            raise ctx.error(
                stmt.init.loc,
                "a buffer's new elements are zero; `init` is for learnable parameters",
            )
        dims = self.tensors.gen_dims(stmt.dims, stmt.loc)
        policy, args = self.gen_init_policy(stmt, dims)
        optimize = ctx.optimize
        site = optimize.deferred.get(id(stmt)) if optimize is not None else None
        if isinstance(binding, ParamBinding) and site is not None:
            self.defer_realloc(site, dims, args)
            return
        ctx.emit(storage.ReallocOp(binding.handle, dims, policy, args))
        known = static_type(dims)
        handle_type = binding.handle.type.value_type  # type: ignore[attr-defined]
        ctx.scope.rebind(stmt.name, replace(binding, known=known or handle_type))

    def gen_init_policy(
        self, stmt: ast.Realloc, dims: list[SSAValue]
    ) -> tuple[str, list[SSAValue]]:
        """The init policy of `noma.realloc` and its operands."""
        init = stmt.init
        if init is None:
            return "default", []
        if init.kind == "zeros":
            return "zeros", []
        if init.kind in ("normal", "uniform"):
            args = [self.exprs.gen_expr(a) for a in init.args]
            for a, value in zip(init.args, args):
                require_scalar(value, a.loc, f"an argument of `init {init.kind}`")
            return init.kind, args
        (expr,) = init.args
        value = self.exprs.gen_expr(expr)
        expected = static_type(dims)
        value_rank = len(shape_of(value.type))
        if value_rank != len(dims) or (
            expected is not None
            and all(d is not None for d in shape_of(value.type))
            and value.type != expected
        ):
            wanted = (
                f"a {list(expected.get_shape())} tensor"  # type: ignore[attr-defined]
                if expected is not None
                else f"a rank-{len(dims)} tensor"
            )
            raise self.ctx.error(
                expr.loc,
                f"the init tensor must have the new shape of '{stmt.name}', {wanted}; "
                f"got {describe(value)}",
            )
        return "tensor", [value]

    # -- deferred growth inside an optimize body -------------------------------------

    def declare_deferred_growth(self, body: tuple[ast.Stmt, ...]) -> dict[int, DeferredGrowth]:
        """Pseudo-variables for every `realloc` of a parameter in an optimize
        body, defined at its start: no request yet."""
        ctx = self.ctx
        sites: dict[int, DeferredGrowth] = {}
        for stmt in all_statements(body):
            if not isinstance(stmt, ast.Realloc):
                continue
            binding = ctx.scope.lookup(stmt.name)
            if not isinstance(binding, ParamBinding) or not isinstance(
                binding.handle.type, ParamType
            ):
                continue
            site = DeferredGrowth(stmt, len(sites))
            sites[id(stmt)] = site
            with ctx.at(stmt.loc):
                zero = ctx.constant(0.0)
                ctx.scope.define(site.flag, ValueBinding(zero))
                for name in site.dims():
                    ctx.scope.define(name, ValueBinding(zero))
                value_type = binding.handle.type.value_type
                for name in site.init_args():
                    placeholder = zero
                    if stmt.init is not None and stmt.init.kind == "expr":
                        ones = [ctx.constant(1.0)] * len(stmt.dims)
                        placeholder = ctx.emit(FillOp(ones, zero, value_type)).result
                    ctx.scope.define(name, ValueBinding(placeholder))
        return sites

    def defer_realloc(
        self, site: DeferredGrowth, dims: list[SSAValue], args: list[SSAValue]
    ) -> None:
        """Record a realloc request in the site's pseudo-variables."""
        ctx = self.ctx
        binding = ctx.scope.lookup(site.stmt.name)
        assert isinstance(binding, ParamBinding)
        value_type = binding.handle.type.value_type  # type: ignore[attr-defined]
        with ctx.at(site.stmt.loc):
            ctx.scope.rebind(site.flag, ValueBinding(ctx.constant(1.0)))
            for name, d in zip(site.dims(), dims):
                ctx.scope.rebind(name, ValueBinding(d))
            for name, a in zip(site.init_args(), args):
                value = a if a.type == f64 else ctx.cast_to(a, value_type)
                ctx.scope.rebind(name, ValueBinding(value))

    def emit_deferred_growth(self, sites: dict[int, DeferredGrowth]) -> None:
        """At the end of the body: each requested realloc, in source order,
        to run after the step."""
        ctx = self.ctx
        for site in sites.values():
            stmt = site.stmt
            binding = ctx.scope.lookup(stmt.name)
            assert isinstance(binding, ParamBinding)

            def value(name: str) -> SSAValue:
                bound = ctx.scope.lookup(name)
                assert isinstance(bound, ValueBinding)
                return bound.value

            with ctx.at(stmt.loc):
                requested = ctx.truthy(value(site.flag))
                block = Block()
                with ctx.inside(block, ctx.scope):
                    policy = _POLICY[stmt.init.kind] if stmt.init is not None else "default"
                    ctx.emit(
                        storage.ReallocOp(
                            binding.handle,
                            [value(n) for n in site.dims()],
                            policy,
                            [value(n) for n in site.init_args()],
                        )
                    )
                    ctx.emit(scf.YieldOp())
                grow = ctx.emit(scf.IfOp(requested, [], Region(block)))
                grow.attributes[AFTER_STEP_ATTR] = UnitAttr()


_POLICY = {"zeros": "zeros", "normal": "normal", "uniform": "uniform", "expr": "tensor"}
