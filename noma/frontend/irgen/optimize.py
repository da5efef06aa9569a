"""The `optimize` statement: choosing the optimizer and its hyper-parameters
(the `with` clause, else the compatible variables in scope, else the
defaults of LANGUAGE.md section 5) and building `noma.optimize`, whose body
is one iteration, or one block of a pass for mini-batch training
(`minibatch.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, f64
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.dialects.noma.training import OptimizeOp, UntilOp
from noma.frontend import ast
from noma.frontend.builtins import OPTIMIZER_NAMES
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.base import OptimizeContext
from noma.frontend.irgen.control_flow import binding_value, with_value
from noma.frontend.irgen.minibatch import MinibatchMixin, OptimizeBody, minibatch_statement
from noma.frontend.irgen.scope import Binding, ParamBinding, Scope, ValueBinding

HYPER = ("lr", "beta1", "beta2", "eps", "max_iterations")

POSITIONAL: dict[str, tuple[str, ...]] = {
    "sgd": ("lr",),
    "adam": ("lr", "beta1", "beta2", "eps"),
    "rmsprop": ("lr", "beta2", "eps"),
}
"""The positional arguments of each optimizer in the `with` clause. RMSprop's
`beta` is its second-moment decay, `beta2` in the IR."""

_LR = {"lr": "lr", "learning_rate": "lr"}
_EPS = {"eps": "eps", "epsilon": "eps"}
_MAX = {
    "max_iterations": "max_iterations",
    "max_iter": "max_iterations",
    "iterations": "max_iterations",
}

KEYWORDS: dict[str, dict[str, str]] = {
    "sgd": {**_LR, **_MAX},
    "adam": {**_LR, "beta1": "beta1", "beta2": "beta2", **_EPS, **_MAX},
    "rmsprop": {**_LR, "beta": "beta2", **_EPS, **_MAX},
}
"""Keyword arguments each optimizer accepts, and the hyper-parameter each sets."""

COMPATIBLE_VARIABLES: dict[str, tuple[str, ...]] = {
    "lr": ("learning_rate", "lr"),
    "beta1": ("beta1",),
    "beta2": ("beta2",),
    "eps": ("epsilon", "eps"),
    "max_iterations": ("max_iterations", "max_iter", "iterations"),
}

DEFAULTS: dict[str, float] = {
    "lr": 0.01,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "max_iterations": 1000,
}
RMSPROP_DEFAULT_BETA = 0.9

OPTIMIZER_CODES = {1: "sgd", 2: "adam", 3: "rmsprop"}


@dataclass
class OptimizerChoice:
    name: str
    hyper: dict[str, SSAValue]


class OptimizeMixin(MinibatchMixin):
    def gen_optimize(self, stmt: ast.Optimize) -> None:
        if self.state.optimize is not None:
            raise self.error(stmt.loc, "optimize loops cannot be nested")
        params = [self.lookup_param(p.name, p.loc).handle for p in stmt.params]
        choice = self.choose_optimizer(stmt)
        carried = self.loop_carried(stmt.body)
        parent = self.scope
        bindings = [parent.lookup(n) for n in carried]
        for name, binding in zip(carried, bindings):
            if not isinstance(binding, ValueBinding):
                raise self.error(stmt.loc, f"'{name}' cannot be changed inside an optimize loop")
        types = [binding_value(b).type for b in bindings if b is not None]
        batch = minibatch_statement(stmt.body)
        pass_types: dict[str, Attribute] = {}
        while True:
            if batch is None:
                attempt = self._optimize_body(stmt, carried, bindings, types)
            else:
                attempt = self.minibatch_body(stmt, batch, carried, bindings, types, pass_types)
            if isinstance(attempt, OptimizeBody):
                break
            types = attempt  # a carried tensor changed shape: generalise, again

        hidden_types = [h.type for h in attempt.hidden]
        export_types = [v.type for v in attempt.exports.values()]
        result_types: list[Attribute] = [*types, *hidden_types, *export_types]
        hyper = [choice.hyper[h] for h in HYPER]
        with self.at(stmt.loc):
            inits = [self.cast_to(binding_value(b), t) for b, t in zip(bindings, types) if b]
            inits += [
                self.placeholder(h.type) if h.initial is None else self.constant(h.initial)
                for h in attempt.hidden
            ]
            op = self.emit(
                OptimizeOp(choice.name, params, hyper, inits, Region(attempt.block), result_types)
            )
        for name, binding, result in zip(carried, bindings, op.res):
            assert binding is not None
            parent.rebind(name, with_value(binding, result))
        exported = op.res[len(carried) + len(hidden_types) :]
        for name, result in zip(attempt.exports, exported):
            parent.define(name, ValueBinding(result))

    def _optimize_body(
        self,
        stmt: ast.Optimize,
        carried: list[str],
        bindings: list[Binding | None],
        types: list[Attribute],
    ) -> OptimizeBody | list[Attribute]:
        """The body block and the values it exports, or more general carried
        types when the body changes the type of a carried variable."""
        body = Block(arg_types=types)
        carried_scope = Scope(self.scope)
        for name, binding, arg in zip(carried, bindings, body.args):
            assert binding is not None
            carried_scope.define(name, with_value(binding, arg))
        body_scope = Scope(carried_scope)
        ctx = OptimizeContext(stmt.loc)
        self.state.optimize = ctx
        try:
            with self.inside(body, body_scope):
                ctx.deferred = self.declare_deferred_growth(stmt.body)
                self.gen_block(stmt.body)
                if ctx.minimize_loc is None:
                    raise self.error(stmt.loc, "the optimize body has no `minimize` statement")
                self.emit_deferred_growth(ctx.deferred)
                with self.at(stmt.until.loc):
                    condition = self.gen_expr(stmt.until)
                    self.require_scalar(condition, stmt.until.loc, "the `until` condition")
                next_values, joined = self.next_carried(carried, types, body_scope, stmt.loc)
                if joined != types:
                    return joined
                exports = {
                    name: b.value
                    for name, b in body_scope.defs.items()
                    if isinstance(b, ValueBinding) and not name.startswith("$")
                }
                with self.at(stmt.loc):
                    self.emit(UntilOp(condition, next_values, list(exports.values())))
        finally:
            self.state.optimize = None
        return OptimizeBody(body, exports)

    def lookup_param(self, name: str, loc: SourceLoc) -> ParamBinding:
        binding = self.scope.lookup(name)
        if binding is None:
            raise self.error(loc, f"unknown parameter '{name}'")
        if not isinstance(binding, ParamBinding):
            raise self.error(
                loc,
                f"'{name}' is not a learnable parameter (declare it with `learn {name} = ...;`)",
            )
        return binding

    # -- optimizer and hyper-parameters ---------------------------------------

    def choose_optimizer(self, stmt: ast.Optimize) -> OptimizerChoice:
        given: dict[str, ast.Expr] = {}
        spec = stmt.optimizer
        if spec is not None:
            if spec.name not in OPTIMIZER_NAMES:
                raise self.error(
                    spec.loc,
                    f"unknown optimizer '{spec.name}' (expected {', '.join(OPTIMIZER_NAMES)})",
                )
            name = spec.name
            positional = POSITIONAL[name]
            if len(spec.args) > len(positional):
                raise self.error(
                    spec.args[len(positional)].loc,
                    f"{name} takes at most {len(positional)} positional argument"
                    f"{'' if len(positional) == 1 else 's'} ({', '.join(positional)})",
                )
            given.update(zip(positional, spec.args))
            accepted = KEYWORDS[name]
            for key, value in spec.kwargs:
                if key not in accepted:
                    raise self.error(
                        value.loc,
                        f"{name} has no argument '{key}' (it takes {', '.join(accepted)})",
                    )
                if accepted[key] in given:
                    raise self.error(value.loc, f"'{key}' is given twice")
                given[accepted[key]] = value
        else:
            name = self.optimizer_from_variables(stmt.loc)

        hyper: dict[str, SSAValue] = {}
        for h in HYPER:
            if h in given:
                value = self.gen_expr(given[h])
                if value.type != f64:
                    raise self.error(given[h].loc, f"'{h}' must be a scalar")
                hyper[h] = value
                continue
            # With a `with` clause, the optimizer's hyper-parameters come from
            # it alone; the compatible variables still set the step budget.
            variable = (
                self.compatible_variable(h) if spec is None or h == "max_iterations" else None
            )
            if variable is not None:
                hyper[h] = variable
                continue
            default = RMSPROP_DEFAULT_BETA if (name, h) == ("rmsprop", "beta2") else DEFAULTS[h]
            with self.at(stmt.loc):
                hyper[h] = self.constant(default)
        return OptimizerChoice(name, hyper)

    def compatible_variable(self, hyper: str) -> SSAValue | None:
        for var in COMPATIBLE_VARIABLES[hyper]:
            binding = self.scope.lookup(var)
            if isinstance(binding, ValueBinding) and binding.value.type == f64:
                return binding.value
        return None

    def optimizer_from_variables(self, loc: SourceLoc) -> str:
        """`optimizer` (1 SGD, 2 Adam, 3 RMSprop), else `use_adam` /
        `use_rmsprop` (non-zero selects), else SGD. The choice shapes the
        generated code, so these variables must be compile-time constants."""
        code = self.constant_variable("optimizer", loc)
        if code is not None:
            if code not in OPTIMIZER_CODES:
                raise self.error(
                    loc, f"`optimizer` must be 1 (SGD), 2 (Adam) or 3 (RMSprop), got {code:g}"
                )
            return OPTIMIZER_CODES[int(code)]
        if self.constant_variable("use_adam", loc):
            return "adam"
        if self.constant_variable("use_rmsprop", loc):
            return "rmsprop"
        return "sgd"

    def constant_variable(self, name: str, loc: SourceLoc) -> float | None:
        binding = self.scope.lookup(name)
        if not isinstance(binding, ValueBinding):
            return None
        owner = binding.value.owner
        if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, FloatAttr):
            return owner.value.value.data
        raise self.error(
            loc, f"the optimizer is chosen when compiling, so `{name}` must be a constant here"
        )
