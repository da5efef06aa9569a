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

import math
from dataclasses import dataclass
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
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.control_flow import ControlFlowMixin
from noma.frontend.irgen.scope import (
    BufferBinding,
    ParamBinding,
    StorageBinding,
    ValueBinding,
    known_type,
)
from noma.frontend.irgen.storage_access import all_statements, constant_of
from noma.frontend.irgen.tensors import literal_number

INIT_OPERANDS = {"zeros": 0, "normal": 2, "uniform": 2, "expr": 1}

MAX_BUFFER_BYTES = 2**48
"""The largest buffer a program may ask for (256 TiB of f64 elements): the
C runtime's NOMA_MAX_BUFFER_BYTES, which checks run-time dimensions."""


def _dim_text(d: float) -> str:
    """A requested dimension as messages show it: 100000000000, 0.5, 1e+30."""
    return str(int(d)) if d == int(d) and abs(d) < 1e21 else repr(d)


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


class GrowthMixin(ControlFlowMixin):
    fn: ast.Function

    @cached_property
    def reallocated(self) -> frozenset[str]:
        """Names some `realloc` of this function resizes."""
        return frozenset(
            s.name for s in all_statements(self.fn.body) if isinstance(s, ast.Realloc)
        )

    # -- declarations -------------------------------------------------------------

    def gen_learn(self, stmt: ast.Learn) -> None:
        if self.state.optimize is not None:
            raise self.error(stmt.loc, "`learn` cannot declare a parameter inside an optimize loop")
        init = self.gen_expr(stmt.value)
        param_type = None
        if stmt.name in self.reallocated:
            if init.type == f64:
                raise self.error(
                    stmt.loc,
                    f"'{stmt.name}' is a scalar, which `realloc` cannot resize; "
                    "declare it as a tensor (`learn p = tensor [x];`)",
                )
            param_type = ParamType(dynamic_type(init.type))
        param = self.emit(storage.LearnOp(stmt.name, init, param_type)).param
        known = init.type if param_type is not None else None
        self.scope.define(stmt.name, ParamBinding(param, stmt.loc, known=known))

    def gen_alloc(self, stmt: ast.Alloc) -> None:
        if not stmt.dims:
            raise self.error(stmt.loc, "a buffer needs at least one dimension")
        dims = self.gen_dims(stmt.dims, stmt.loc)
        buffer_type = BufferType(TensorType(f64, [DYNAMIC_INDEX] * len(dims)))
        buffer = self.emit(storage.AllocOp(dims, buffer_type)).buffer
        known = self.static_type(dims)
        self.scope.define(stmt.name, BufferBinding(buffer, stmt.loc, known=known))

    def gen_dims(self, dims: tuple[ast.Expr, ...], loc: SourceLoc) -> list[SSAValue]:
        """Dimensions as f64 scalars. Constant ones are checked here (run-time
        ones by the runtime's `noma_check_dims`): each at least 1 and finite,
        and when all are constant, the buffer within MAX_BUFFER_BYTES
        (reported at `loc`, the statement or call, naming the shape)."""
        values = []
        constants: list[float | None] = []
        for d in dims:
            v = self.gen_expr(d)
            if v.type != f64:
                raise self.error(d.loc, f"a dimension must be a scalar, got a {v.type}")
            constant = literal_number(d)
            if constant is None:
                constant = constant_of(v)
            if constant is not None and not constant >= 1:
                raise self.error(d.loc, f"a dimension must be at least 1, got {constant:g}")
            if constant is not None and math.isinf(constant):
                raise self.error(d.loc, f"a dimension must be finite, got {constant:g}")
            values.append(v)
            constants.append(constant)
        if constants and all(c is not None for c in constants):
            bytes_needed = 8 * math.prod(int(c) for c in constants)  # type: ignore[arg-type]
            if bytes_needed > MAX_BUFFER_BYTES:
                shape = ", ".join(_dim_text(c) for c in constants)  # type: ignore[arg-type]
                raise self.error(
                    loc,
                    f"cannot allocate a [{shape}] buffer: it needs "
                    f"{_dim_text(float(bytes_needed))} bytes, "
                    f"more than the limit of {MAX_BUFFER_BYTES} bytes (2^48)",
                )
        return values

    @staticmethod
    def static_type(dims: list[SSAValue]) -> Attribute | None:
        """The tensor type of constant dimensions (truncated), else None."""
        constants = [constant_of(d) for d in dims]
        if any(c is None for c in constants):
            return None
        return TensorType(f64, [int(c) for c in constants])  # type: ignore[arg-type]

    def gen_free(self, stmt: ast.Free) -> None:
        binding = self.scope.lookup(stmt.name)
        if isinstance(binding, ParamBinding):
            raise self.error(
                stmt.loc,
                f"'{stmt.name}' is a learnable parameter; only buffers made by `alloc` are freed",
            )
        if not isinstance(binding, BufferBinding):
            raise self.error(stmt.loc, f"'{stmt.name}' is not a buffer made by `alloc`")
        self.require_alive(stmt.name, binding, stmt.loc)
        self.emit(storage.FreeOp(binding.handle))
        self.scope.rebind(
            stmt.name,
            BufferBinding(binding.handle, binding.loc, freed_at=stmt.loc, known=binding.known),
        )

    # -- realloc ----------------------------------------------------------------------

    def gen_realloc(self, stmt: ast.Realloc) -> None:
        binding = self.scope.lookup(stmt.name)
        if not isinstance(binding, ParamBinding | BufferBinding):
            raise self.error(
                stmt.loc,
                f"'{stmt.name}' is not a buffer or learnable parameter; only those can be "
                "reallocated",
            )
        self.require_alive(stmt.name, binding, stmt.loc)
        rank = len(shape_of(known_type(binding)))
        if len(stmt.dims) != rank:
            raise self.error(
                stmt.loc,
                f"'{stmt.name}' has rank {rank}; `realloc` keeps the rank, so it needs {rank} "
                f"dimension{'' if rank == 1 else 's'}, got {len(stmt.dims)}",
            )
        if isinstance(binding, BufferBinding) and stmt.init is not None:
            raise self.error(
                stmt.init.loc,
                "a buffer's new elements are zero; `init` is for learnable parameters",
            )
        dims = self.gen_dims(stmt.dims, stmt.loc)
        policy, args = self.gen_init_policy(stmt, binding, dims)
        ctx = self.state.optimize
        site = ctx.deferred.get(id(stmt)) if ctx is not None else None
        if isinstance(binding, ParamBinding) and site is not None:
            self.defer_realloc(site, dims, args)
            return
        self.emit(storage.ReallocOp(binding.handle, dims, policy, args))
        known = self.static_type(dims)
        handle_type = binding.handle.type.value_type  # type: ignore[attr-defined]
        self.scope.rebind(stmt.name, _with_known(binding, known or handle_type))

    def gen_init_policy(
        self, stmt: ast.Realloc, binding: StorageBinding, dims: list[SSAValue]
    ) -> tuple[str, list[SSAValue]]:
        """The init policy of `noma.realloc` and its operands."""
        init = stmt.init
        if init is None:
            return "default", []
        if init.kind == "zeros":
            return "zeros", []
        if init.kind in ("normal", "uniform"):
            args = [self.gen_expr(a) for a in init.args]
            for a, value in zip(init.args, args):
                self.require_scalar(value, a.loc, f"an argument of `init {init.kind}`")
            return init.kind, args
        (expr,) = init.args
        value = self.gen_expr(expr)
        expected = self.static_type(dims)
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
            raise self.error(
                expr.loc,
                f"the init tensor must have the new shape of '{stmt.name}', {wanted}; "
                f"got {self.describe_value(value)}",
            )
        return "tensor", [value]

    @staticmethod
    def describe_value(value: SSAValue) -> str:
        from noma.frontend.irgen.tensors import describe

        return describe(value)

    # -- deferred growth inside an optimize body -------------------------------------

    def declare_deferred_growth(self, body: tuple[ast.Stmt, ...]) -> dict[int, DeferredGrowth]:
        """Pseudo-variables for every `realloc` of a parameter in an optimize
        body, defined at its start: no request yet."""
        sites: dict[int, DeferredGrowth] = {}
        for stmt in all_statements(body):
            if not isinstance(stmt, ast.Realloc):
                continue
            binding = self.scope.lookup(stmt.name)
            if not isinstance(binding, ParamBinding) or not isinstance(
                binding.handle.type, ParamType
            ):
                continue
            site = DeferredGrowth(stmt, len(sites))
            sites[id(stmt)] = site
            with self.at(stmt.loc):
                zero = self.constant(0.0)
                self.scope.define(site.flag, ValueBinding(zero))
                for name in site.dims():
                    self.scope.define(name, ValueBinding(zero))
                value_type = binding.handle.type.value_type
                for name in site.init_args():
                    placeholder = zero
                    if stmt.init is not None and stmt.init.kind == "expr":
                        ones = [self.constant(1.0)] * len(stmt.dims)
                        placeholder = self.emit(FillOp(ones, zero, value_type)).result
                    self.scope.define(name, ValueBinding(placeholder))
        return sites

    def defer_realloc(
        self, site: DeferredGrowth, dims: list[SSAValue], args: list[SSAValue]
    ) -> None:
        """Record a realloc request in the site's pseudo-variables."""
        binding = self.scope.lookup(site.stmt.name)
        assert isinstance(binding, ParamBinding)
        value_type = binding.handle.type.value_type  # type: ignore[attr-defined]
        with self.at(site.stmt.loc):
            self.scope.rebind(site.flag, ValueBinding(self.constant(1.0)))
            for name, d in zip(site.dims(), dims):
                self.scope.rebind(name, ValueBinding(d))
            for name, a in zip(site.init_args(), args):
                value = a if a.type == f64 else self.cast_to(a, value_type)
                self.scope.rebind(name, ValueBinding(value))

    def emit_deferred_growth(self, sites: dict[int, DeferredGrowth]) -> None:
        """At the end of the body: each requested realloc, in source order,
        to run after the step."""
        for site in sites.values():
            stmt = site.stmt
            binding = self.scope.lookup(stmt.name)
            assert isinstance(binding, ParamBinding)

            def value(name: str) -> SSAValue:
                bound = self.scope.lookup(name)
                assert isinstance(bound, ValueBinding)
                return bound.value

            with self.at(stmt.loc):
                requested = self.truthy(value(site.flag))
                block = Block()
                with self.inside(block, self.scope):
                    policy = _POLICY[stmt.init.kind] if stmt.init is not None else "default"
                    self.emit(
                        storage.ReallocOp(
                            binding.handle,
                            [value(n) for n in site.dims()],
                            policy,
                            [value(n) for n in site.init_args()],
                        )
                    )
                    self.emit(scf.YieldOp())
                grow = self.emit(scf.IfOp(requested, [], Region(block)))
                grow.attributes[AFTER_STEP_ATTR] = UnitAttr()


_POLICY = {"zeros": "zeros", "normal": "normal", "uniform": "uniform", "expr": "tensor"}


def _with_known(binding: StorageBinding, known: Attribute) -> StorageBinding:
    from dataclasses import replace

    return replace(binding, known=known)
