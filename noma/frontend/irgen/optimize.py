"""The `optimize` statement: choosing the optimizer and its hyper-parameters
(the `with` clause, else the compatible variables in scope, else the
defaults of LANGUAGE.md section 5) and building `noma.optimize`, whose body
is one iteration, or one block of a pass for mini-batch training
(`minibatch.py`); and the statements that belong to it, `minimize` and
`reset_optimizer`."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import f64
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.dialects.noma import storage
from noma.dialects.noma.optimizers import (
    DEFAULT_OPTIMIZER,
    HYPER_OPERANDS,
    OPTIMIZERS,
    listed,
    optimizer_names,
)
from noma.dialects.noma.training import MinimizeOp, OptimizeOp, UntilOp
from noma.frontend import ast
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.context import GenContext, OptimizeContext, StatementTable
from noma.frontend.irgen.control_flow import ControlFlowGen
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.growth import GrowthGen
from noma.frontend.irgen.minibatch import MinibatchGen, OptimizeBody, minibatch_statement
from noma.frontend.irgen.scope import (
    Binding,
    ParamBinding,
    Scope,
    ValueBinding,
    binding_value,
    with_value,
)
from noma.frontend.irgen.statements import StatementGen
from noma.frontend.irgen.tensors import constant_of, require_scalar

HYPER = (*HYPER_OPERANDS, "max_iterations")
"""The operands of `noma.optimize` that the `with` clause, the compatible
variables or the defaults give, in its order. Which optimizer takes which,
under what keywords, is the optimizer table's (`noma.dialects.noma.optimizers`)."""

MAX_ITERATIONS_KEYWORDS = ("max_iterations", "max_iter", "iterations")
"""Keywords every optimizer takes for the step limit, a property of the loop."""
DEFAULT_MAX_ITERATIONS = 1000

COMPATIBLE_VARIABLES: dict[str, tuple[str, ...]] = {
    "lr": ("learning_rate", "lr"),
    "beta1": ("beta1",),
    "beta2": ("beta2",),
    "eps": ("epsilon", "eps"),
    "max_iterations": ("max_iterations", "max_iter", "iterations"),
}
"""The variables in scope that give each operand when there is no `with`
clause (LANGUAGE.md section 5), first found first."""


@dataclass
class OptimizerChoice:
    name: str
    hyper: dict[str, SSAValue]


class OptimizeGen:
    """`optimize` and the statements that only make sense inside or around
    it: `minimize`, `reset_optimizer`."""

    def __init__(
        self,
        ctx: GenContext,
        exprs: ExpressionGen,
        statements: StatementGen,
        control: ControlFlowGen,
        growth: GrowthGen,
        minibatch: MinibatchGen,
    ) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.statements = statements
        self.control = control
        """For the variables the loop carries."""
        self.growth = growth
        """For the `realloc`s deferred to after the step."""
        self.minibatch = minibatch

    def statement_handlers(self) -> StatementTable:
        return {
            ast.Optimize: self.gen_optimize,
            ast.Minimize: self.gen_minimize,
            ast.ResetOptimizer: self.gen_reset_optimizer,
        }

    def gen_optimize(self, stmt: ast.Optimize) -> None:
        ctx = self.ctx
        if ctx.optimize is not None:
            raise ctx.error(stmt.loc, "optimize loops cannot be nested")
        params = [self.lookup_param(p.name, p.loc).handle for p in stmt.params]
        choice = self.choose_optimizer(stmt)
        carried = self.control.loop_carried(stmt.body)
        parent = ctx.scope
        bindings = [parent.lookup(n) for n in carried]
        for name, binding in zip(carried, bindings):
            if not isinstance(binding, ValueBinding):
                raise ctx.error(stmt.loc, f"'{name}' cannot be changed inside an optimize loop")
        types = [binding_value(b).type for b in bindings if b is not None]
        batch = minibatch_statement(stmt.body)
        pass_types: dict[str, Attribute] = {}
        while True:
            if batch is None:
                attempt = self._optimize_body(stmt, carried, bindings, types)
            else:
                attempt = self.minibatch.minibatch_body(
                    stmt, batch, carried, bindings, types, pass_types
                )
            if isinstance(attempt, OptimizeBody):
                break
            types = attempt  # a carried tensor changed shape: generalise, again

        hidden_types = [h.type for h in attempt.hidden]
        export_types = [v.type for v in attempt.exports.values()]
        result_types: list[Attribute] = [*types, *hidden_types, *export_types]
        hyper = [choice.hyper[h] for h in HYPER]
        with ctx.at(stmt.loc):
            inits = [ctx.cast_to(binding_value(b), t) for b, t in zip(bindings, types) if b]
            inits += [
                ctx.placeholder(h.type) if h.initial is None else ctx.constant(h.initial)
                for h in attempt.hidden
            ]
            op = ctx.emit(
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
        ctx = self.ctx
        body = Block(arg_types=types)
        carried_scope = Scope(ctx.scope)
        for name, binding, arg in zip(carried, bindings, body.args):
            assert binding is not None
            carried_scope.define(name, with_value(binding, arg))
        body_scope = Scope(carried_scope)
        optimize = OptimizeContext(stmt.loc)
        ctx.optimize = optimize
        try:
            with ctx.inside(body, body_scope):
                optimize.deferred = self.growth.declare_deferred_growth(stmt.body)
                self.statements.gen_block(stmt.body)
                if optimize.minimize_loc is None:
                    raise ctx.error(stmt.loc, "the optimize body has no `minimize` statement")
                self.growth.emit_deferred_growth(optimize.deferred)
                with ctx.at(stmt.until.loc):
                    condition = self.exprs.gen_expr(stmt.until)
                    require_scalar(condition, stmt.until.loc, "the `until` condition")
                next_values, joined = self.control.next_carried(
                    carried, types, body_scope, stmt.loc
                )
                if joined != types:
                    return joined
                exports = {
                    name: b.value
                    for name, b in body_scope.defs.items()
                    if isinstance(b, ValueBinding) and not name.startswith("$")
                }
                with ctx.at(stmt.loc):
                    ctx.emit(UntilOp(condition, next_values, list(exports.values())))
        finally:
            ctx.optimize = None
        return OptimizeBody(body, exports)

    def gen_minimize(self, stmt: ast.Minimize) -> None:
        ctx = self.ctx
        optimize = ctx.optimize
        if optimize is None:
            raise ctx.error(stmt.loc, "`minimize` must be inside an optimize loop")
        if optimize.nesting > 0:
            raise ctx.error(
                stmt.loc,
                "`minimize` must be a statement of the optimize body itself, not "
                "nested in `if` or `while`",
            )
        if optimize.minimize_loc is not None:
            first = optimize.minimize_loc
            raise ctx.error(
                stmt.loc,
                f"an optimize loop has exactly one `minimize`; the first is at "
                f"{first.line}:{first.col}",
            )
        optimize.minimize_loc = stmt.loc
        objective = self.exprs.gen_expr(stmt.value)
        if objective.type != f64:
            raise ctx.error(
                stmt.value.loc, f"the objective must be a scalar, got a {objective.type}"
            )
        ctx.emit(MinimizeOp(objective))

    def gen_reset_optimizer(self, stmt: ast.ResetOptimizer) -> None:
        ctx = self.ctx
        if stmt.params:
            handles = [self.lookup_param(p.name, p.loc).handle for p in stmt.params]
        else:
            handles = [
                b.handle for b in ctx.scope.visible_names().values() if isinstance(b, ParamBinding)
            ]
        ctx.emit(storage.ResetOptimizerOp(handles))

    def lookup_param(self, name: str, loc: SourceLoc) -> ParamBinding:
        ctx = self.ctx
        binding = ctx.scope.lookup(name)
        if binding is None:
            raise ctx.error(loc, f"unknown parameter '{name}'")
        if not isinstance(binding, ParamBinding):
            raise ctx.error(
                loc,
                f"'{name}' is not a learnable parameter (declare it with `learn {name} = ...;`)",
            )
        return binding

    # -- optimizer and hyper-parameters ---------------------------------------

    def choose_optimizer(self, stmt: ast.Optimize) -> OptimizerChoice:
        ctx = self.ctx
        given: dict[str, ast.Expr] = {}  # by operand of `noma.optimize`
        spec = stmt.optimizer
        if spec is not None:
            optimizer = OPTIMIZERS.get(spec.name)
            if optimizer is None:
                raise ctx.error(
                    spec.loc,
                    f"unknown optimizer '{spec.name}' (expected {', '.join(optimizer_names())})",
                )
            name = spec.name
            positional = optimizer.positional
            if len(spec.args) > len(positional):
                raise ctx.error(
                    spec.args[len(positional)].loc,
                    f"{name} takes at most {len(positional)} positional argument"
                    f"{'' if len(positional) == 1 else 's'} ({', '.join(positional)})",
                )
            given.update((h.operand, arg) for h, arg in zip(optimizer.hyper, spec.args))
            accepted = {k: h.operand for k, h in optimizer.keywords().items()}
            accepted.update((k, "max_iterations") for k in MAX_ITERATIONS_KEYWORDS)
            for key, value in spec.kwargs:
                if key not in accepted:
                    raise ctx.error(
                        value.loc,
                        f"{name} has no argument '{key}' (it takes {', '.join(accepted)})",
                    )
                if accepted[key] in given:
                    raise ctx.error(value.loc, f"'{key}' is given twice")
                given[accepted[key]] = value
        else:
            name = self.optimizer_from_variables(stmt.loc)

        defaults = {h.operand: h.default_value for h in OPTIMIZERS[name].hyper}
        hyper: dict[str, SSAValue] = {}
        for h in HYPER:
            if h in given:
                value = self.exprs.gen_expr(given[h])
                if value.type != f64:
                    raise ctx.error(given[h].loc, f"'{h}' must be a scalar")
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
            # An operand the optimizer does not use still gets a value.
            default = (
                DEFAULT_MAX_ITERATIONS
                if h == "max_iterations"
                else defaults.get(h, HYPER_OPERANDS[h])
            )
            with ctx.at(stmt.loc):
                hyper[h] = ctx.constant(default)
        return OptimizerChoice(name, hyper)

    def compatible_variable(self, hyper: str) -> SSAValue | None:
        ctx = self.ctx
        for var in COMPATIBLE_VARIABLES[hyper]:
            binding = ctx.scope.lookup(var)
            if isinstance(binding, ValueBinding) and binding.value.type == f64:
                return binding.value
        return None

    def optimizer_from_variables(self, loc: SourceLoc) -> str:
        """`optimizer` (an optimizer's code: 1 SGD, 2 Adam, 3 RMSprop), else
        the first optimizer whose selecting variable (`use_adam`, ...) is
        non-zero, else SGD. The choice shapes the generated code, so these
        variables must be compile-time constants."""
        ctx = self.ctx
        code = self.constant_variable("optimizer", loc)
        if code is not None:
            by_code = {o.code: o for o in OPTIMIZERS.values()}
            if code not in by_code:
                choices = [f"{o.code} ({o.title})" for o in OPTIMIZERS.values()]
                raise ctx.error(loc, f"`optimizer` must be {listed(choices, ' or ')}, got {code:g}")
            return by_code[int(code)].name
        for optimizer in OPTIMIZERS.values():
            if optimizer.selected_by and self.constant_variable(optimizer.selected_by, loc):
                return optimizer.name
        return DEFAULT_OPTIMIZER

    def constant_variable(self, name: str, loc: SourceLoc) -> float | None:
        ctx = self.ctx
        binding = ctx.scope.lookup(name)
        if not isinstance(binding, ValueBinding):
            return None
        value = constant_of(binding.value)
        if value is not None:
            return value
        raise ctx.error(
            loc, f"the optimizer is chosen when compiling, so `{name}` must be a constant here"
        )
