"""The registry of derivative rules: how the reverse sweep differentiates an op.

The sweep knows no op. It asks a `DerivativeRules` table for the rule of
each op it walks back over; the table finds it by the op's class (or the
nearest registered base class or interface in its MRO). A rule comes in one
of two forms, as in JAX (per-primitive transpose rules) and Enzyme-MLIR
(external models of `AutoDiffOpInterface`):

- a *VJP rule*, for an op computed from its operands alone:
  `rule(op, ctx, result_adjoints) -> operand_adjoints`. It emits code with
  `ctx.b`, reads forward values with `ctx.operand(i)` / `ctx.result(i)`
  (never `op.operands`, see `VJPContext`), and returns one adjoint (or None
  for zero) per operand. The sweep accumulates them.
- a *reverse rule*, for ops with regions or with a callee:
  `rule(sweep, op, result_adjoints) -> None`. It gets the whole `Sweep`
  (its builder, activity, module context) and accumulates adjoints itself;
  `scf.if`, `scf.while` and `func.call` are differentiated this way.

A noma op defines its rule next to itself by implementing the
`DifferentiableOp` interface; the default table routes every op with that
interface to its `vjp`. Ops of other dialects get rules by registration:

    from xdsl.dialects import math
    from noma.passes.autodiff.rules import register_vjp

    @register_vjp(math.AtanOp)
    def atan_vjp(op, ctx, result_adjoints):
        (dz,) = result_adjoints
        ...                                  # dz / (1 + x * x), with ctx.b
        return [adjoint]

`register_vjp` and friends fill the default table, the one `-p autodiff`
uses; a private table (`default_rules().copy()` or `DerivativeRules()`) is
passed to `differentiate_module` instead. See docs/autodiff.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from xdsl.ir import Operation, SSAValue

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.diagnostics import NomaError

if TYPE_CHECKING:
    from noma.passes.autodiff.sweep import Sweep

VJPRule = Callable[[Operation, VJPContext, Sequence[SSAValue | None]], Sequence[SSAValue | None]]
"""`rule(op, ctx, result_adjoints) -> one adjoint or None per operand`."""

ReverseRule = Callable[["Sweep", Operation, list[SSAValue | None]], None]
"""`rule(sweep, op, result_adjoints)`: emits the reverse code and calls
`sweep.accumulate(value, adjoint)` for the values it differentiates."""

RuleT = TypeVar("RuleT", bound=Callable[..., object])


class RuleContext:
    """The `VJPContext` a VJP rule sees: the op's forward values where the
    sweep runs (a recomputed copy inside control flow), and its builder."""

    def __init__(self, sweep: Sweep, op: Operation):
        self._sweep = sweep
        self._op = op

    @property
    def b(self) -> NomaBuilder:
        return self._sweep.b

    def operand(self, index: int) -> SSAValue:
        return self._op.operands[index]

    def result(self, index: int) -> SSAValue:
        return self._op.results[index]

    def needs(self, index: int) -> bool:
        return self._op.operands[index] in self._sweep.activity


def reverse_from_vjp(rule: VJPRule) -> ReverseRule:
    """The reverse rule that runs a VJP rule and accumulates what it returns."""

    def reverse(sweep: Sweep, op: Operation, result_adjoints: list[SSAValue | None]) -> None:
        operand_adjoints = list(rule(op, RuleContext(sweep, op), result_adjoints))
        if len(operand_adjoints) != len(op.operands):
            raise NomaError.at_op(
                sweep.ctx.origin(op),  # a recomputed copy has no place in the input
                f"autodiff: the derivative rule for '{op.name}' returned "
                f"{len(operand_adjoints)} adjoints for {len(op.operands)} operands",
            )
        for operand, adjoint in zip(op.operands, operand_adjoints):
            if adjoint is not None:
                sweep.accumulate(operand, adjoint)

    return reverse


def _no_adjoint(sweep: Sweep, op: Operation, result_adjoints: list[SSAValue | None]) -> None:
    """The rule of a piecewise-constant or non-differentiable op: zero."""


def _interface_vjp(
    op: Operation, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]
) -> Sequence[SSAValue | None]:
    assert isinstance(op, DifferentiableOp)
    return op.vjp(ctx, result_adjoints)


class DerivativeRules:
    """A table of derivative rules by op class (or base class / interface)."""

    def __init__(self) -> None:
        self._rules: dict[type, ReverseRule] = {}
        self._resolved: dict[type, ReverseRule | None] = {}
        """Per concrete op class, the rule found through its MRO."""

    # -- registration ---------------------------------------------------------

    def register_reverse(self, op_type: type, rule: ReverseRule, *, replace: bool = False) -> None:
        """Register a reverse rule for `op_type` and its subclasses. A second
        rule for the same class is an error unless `replace` is set."""
        if op_type in self._rules and not replace:
            name = getattr(op_type, "name", op_type.__name__)
            raise ValueError(f"autodiff: '{name}' already has a derivative rule (use replace=True)")
        self._rules[op_type] = rule
        self._resolved.clear()

    def register_vjp(self, op_type: type, rule: VJPRule, *, replace: bool = False) -> None:
        """Register a VJP rule for `op_type` and its subclasses."""
        self.register_reverse(op_type, reverse_from_vjp(rule), replace=replace)

    def register_non_differentiable(self, *op_types: type, replace: bool = False) -> None:
        """Declare ops whose derivative is zero (constants, comparisons,
        integer casts): adjoints stop at them."""
        for op_type in op_types:
            self.register_reverse(op_type, _no_adjoint, replace=replace)

    def vjp(self, op_type: type, *, replace: bool = False) -> Callable[[RuleT], RuleT]:
        """Decorator form of `register_vjp`."""

        def decorate(rule: RuleT) -> RuleT:
            self.register_vjp(op_type, rule, replace=replace)  # type: ignore[arg-type]
            return rule

        return decorate

    def reverse(self, op_type: type, *, replace: bool = False) -> Callable[[RuleT], RuleT]:
        """Decorator form of `register_reverse`."""

        def decorate(rule: RuleT) -> RuleT:
            self.register_reverse(op_type, rule, replace=replace)  # type: ignore[arg-type]
            return rule

        return decorate

    # -- lookup -----------------------------------------------------------------

    def rule_for(self, op: Operation) -> ReverseRule | None:
        """The rule of `op`'s class or of its nearest registered ancestor."""
        op_type = type(op)
        if op_type not in self._resolved:
            found = next((self._rules[t] for t in op_type.__mro__ if t in self._rules), None)
            self._resolved[op_type] = found
        return self._resolved[op_type]

    def has_rule(self, op_type: type) -> bool:
        return any(t in self._rules for t in op_type.__mro__)

    def copy(self) -> DerivativeRules:
        """An independent table with the same rules."""
        twin = DerivativeRules()
        twin._rules = dict(self._rules)
        return twin


def populate_builtin_rules(rules: DerivativeRules) -> None:
    """NOMA's own rules: the `DifferentiableOp` interface, `arith` and `math`
    float ops, `scf.if`, `scf.while` and `func.call`."""
    from noma.passes.autodiff import arith_rules, calls, math_rules, regions

    rules.register_vjp(DifferentiableOp, _interface_vjp)
    arith_rules.register(rules)
    math_rules.register(rules)
    regions.register(rules)
    calls.register(rules)


_default: DerivativeRules | None = None


def default_rules() -> DerivativeRules:
    """The table `-p autodiff` uses: NOMA's rules plus those registered
    through `register_vjp`, `register_reverse` and
    `register_non_differentiable`. Built on first use."""
    global _default
    if _default is None:
        table = DerivativeRules()
        populate_builtin_rules(table)
        _default = table
    return _default


def register_vjp(op_type: type, *, replace: bool = False) -> Callable[[RuleT], RuleT]:
    """Decorator: register a VJP rule for `op_type` in the default table."""
    return default_rules().vjp(op_type, replace=replace)


def register_reverse(op_type: type, *, replace: bool = False) -> Callable[[RuleT], RuleT]:
    """Decorator: register a reverse rule for `op_type` in the default table."""
    return default_rules().reverse(op_type, replace=replace)


def register_non_differentiable(*op_types: type, replace: bool = False) -> None:
    """Declare ops of zero derivative in the default table."""
    default_rules().register_non_differentiable(*op_types, replace=replace)
