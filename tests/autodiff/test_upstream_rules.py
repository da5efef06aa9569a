"""The derivative rules of `arith` and `math` float ops against central finite
differences, on hand-written upstream IR.

Each case is a `func.func` of arith/math on f64, called from an optimize
body, so that autodiff generates its `__vjp` function from the registered
rules; all cases are one module, compiled once through the whole pipeline,
and both the function and its VJP are called from the JIT at hypothesis
points. `test_generated_expressions` does the same for random expression
trees over every rule. The `noma` ops no NOMA source puts in a
differentiated function (the ops of adjoint code, casts, shape queries) are
checked the same way, on hand-written `noma` IR. The tables are in
tests/support/gradient_cases.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from gradient_cases import NOMA_IR_CASES, UPSTREAM_CASES, IRCase, mlir_module_text
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mlir_functions import compile_mlir_functions

from noma.passes.autodiff.rules import default_rules


def compile_pairs(bodies: dict[str, str]) -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    names = [n for name in bodies for n in (name, f"{name}__vjp")]
    functions = compile_mlir_functions(mlir_module_text(bodies), names)
    return {name: (functions[name], functions[f"{name}__vjp"]) for name in bodies}


@cache
def compiled_cases(table: str) -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    """The functions of `TABLES[table]`, compiled as one module."""
    # Prefixed: a function named `exp` would be the C library's `exp` that
    # math.exp lowers to a call of.
    pairs = compile_pairs({f"case_{name}": case.body for name, case in TABLES[table].items()})
    return {name.removeprefix("case_"): pair for name, pair in pairs.items()}


TABLES: dict[str, dict[str, IRCase]] = {"upstream": UPSTREAM_CASES, "noma": NOMA_IR_CASES}


def _moved(args: tuple[float, float], i: int, h: float) -> list[float]:
    moved = list(args)
    moved[i] += h
    return moved


def assert_matches_finite_differences(
    f: Callable[..., float], vjp: Callable[..., Any], args: tuple[float, float]
) -> None:
    value = f(*args)
    assume(math.isfinite(value) and abs(value) < 1e8)
    grads = vjp(*args, 1.0)
    tolerance = 1e-5 * max(1.0, abs(value))
    for i, g in enumerate(grads):
        h = 1e-6 * max(1.0, abs(args[i]))
        up, down = f(*_moved(args, i, h)), f(*_moved(args, i, -h))
        forward, backward = (up - value) / h, (value - down) / h
        # A kink or a jump (max, abs, select, rounding) has no derivative:
        # skip points where the one-sided differences disagree, by more
        # than the tolerance of the comparison below (floor(x) * y at x = 0
        # with y = 2e-11 is a jump of slopes 0 and 2.2e-5).
        assume(math.isclose(forward, backward, rel_tol=1e-3, abs_tol=tolerance))
        fd = (up - down) / (2 * h)
        assert math.isclose(g, fd, rel_tol=1e-4, abs_tol=tolerance), (
            f"d/d{'xy'[i]} at {args}: autodiff {g}, finite differences {fd}"
        )


@pytest.mark.parametrize("name", sorted(UPSTREAM_CASES))
def test_rule_matches_finite_differences(name: str) -> None:
    check_case("upstream", name)


@pytest.mark.parametrize("name", sorted(NOMA_IR_CASES))
def test_noma_op_without_source_syntax_matches_finite_differences(name: str) -> None:
    """`noma` ops that only passes or rules create (adjoint code, casts,
    shape queries), on hand-written IR."""
    check_case("noma", name)


def check_case(table: str, name: str) -> None:
    f, vjp = compiled_cases(table)[name]
    case = TABLES[table][name]

    @settings(max_examples=40, deadline=None)
    @given(st.floats(*case.x), st.floats(*case.y))
    def check(x: float, y: float) -> None:
        assert_matches_finite_differences(f, vjp, (x, y))

    check()


def test_every_case_has_a_rule_and_every_rule_a_case() -> None:
    from xdsl.dialects import arith
    from xdsl.dialects import math as math_dialect

    from noma.passes.autodiff import arith_rules, math_rules

    registered = {
        *arith_rules.VJP_RULES,
        *arith_rules.NON_DIFFERENTIABLE,
        *math_rules.UNARY_DERIVATIVES,
        math_dialect.PowFOp,
        math_dialect.Atan2Op,
        math_dialect.FmaOp,
        *math_rules.ROUNDING,
    }
    rules = default_rules()
    assert all(rules.has_rule(op_type) for op_type in registered)
    covered = " ".join(case.body for case in UPSTREAM_CASES.values())
    untested = {
        t.name
        for t in registered
        if t.name not in covered
        # Comparisons of integers, unsigned and bit casts get no adjoint code.
        and t not in (arith.CmpiOp, arith.UIToFPOp, arith.FPToUIOp, arith.IndexCastOp, arith.BitcastOp)
    }
    assert not untested


# ---------------------------------------------------------------------------
# Generated expressions
# ---------------------------------------------------------------------------


class Emitter:
    """Emits MLIR lines for an expression tree, one SSA value per node."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def value(self, text: str) -> str:
        name = f"%v{len(self.lines)}"
        self.lines.append(f"{name} = {text}")
        return name


Node = Callable[[Emitter], str]


def _op(template: str, *children: Node) -> Node:
    """A node whose MLIR is `template` with `{0}`, `{1}`... its children's
    values (and `{c1}` a constant 1.0)."""

    def emit(e: Emitter) -> str:
        values = [child(e) for child in children]
        one = e.value("arith.constant 1.0 : f64") if "{c1}" in template else ""
        return e.value(template.format(*values, c1=one))

    return emit


def _leaf(name: str) -> Node:
    return lambda e: name


UNARY_TEMPLATES = [
    "arith.negf {0} : f64",
    "math.exp {0} : f64",
    "math.tanh {0} : f64",
    "math.sin {0} : f64",
    "math.cos {0} : f64",
    "math.atan {0} : f64",
    "math.absf {0} : f64",
    "math.floor {0} : f64",
]
BINARY_TEMPLATES = [
    "arith.addf {0}, {1} : f64",
    "arith.subf {0}, {1} : f64",
    "arith.mulf {0}, {1} : f64",
    "arith.maximumf {0}, {1} : f64",
    "arith.minnumf {0}, {1} : f64",
]


def _positive(child: Node) -> Node:
    """`child * child + 1`: keeps log, sqrt, powf and divisions defined."""

    def emit(e: Emitter) -> str:
        v = child(e)
        square = e.value(f"arith.mulf {v}, {v} : f64")
        one = e.value("arith.constant 1.0 : f64")
        return e.value(f"arith.addf {square}, {one} : f64")

    return emit


def _guarded(template: str, child: Node) -> Node:
    positive = _positive(child)
    return lambda e: e.value(template.format(positive(e)))


def _guarded_binary(template: str, lhs: Node, rhs: Node) -> Node:
    positive = _positive(rhs)

    def emit(e: Emitter) -> str:
        a = lhs(e)
        return e.value(template.format(a, positive(e)))

    return emit


def _select(lhs: Node, rhs: Node) -> Node:
    def emit(e: Emitter) -> str:
        a, b = lhs(e), rhs(e)
        condition = e.value(f"arith.cmpf olt, {a}, {b} : f64")
        return e.value(f"arith.select {condition}, {a}, {b} : f64")

    return emit


def expressions() -> st.SearchStrategy[Node]:
    leaves = st.sampled_from([_leaf("%x"), _leaf("%y")])

    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        unary = st.builds(_op, st.sampled_from(UNARY_TEMPLATES), children)
        binary = st.builds(lambda t, a, b: _op(t, a, b), st.sampled_from(BINARY_TEMPLATES), children, children)
        guarded = st.builds(
            _guarded,
            st.sampled_from(
                ["math.log {0} : f64", "math.sqrt {0} : f64", "math.rsqrt {0} : f64", "math.log1p {0} : f64"]
            ),
            children,
        )
        divisions = st.builds(
            _guarded_binary,
            st.sampled_from(["arith.divf {0}, {1} : f64", "math.powf {1}, {0} : f64"]),
            children,
            children,
        )
        return st.one_of(unary, binary, guarded, divisions, st.builds(_select, children, children))

    return st.recursive(leaves, extend, max_leaves=6)


def body_of(node: Node) -> str:
    e = Emitter()
    result = node(e)
    return "\n".join(e.lines + [f"%r = arith.addf {result}, {result} : f64"])


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(expressions(), min_size=8, max_size=8), st.data())
def test_generated_expressions(trees: list[Node], data: st.DataObject) -> None:
    bodies = {f"g{i}": body_of(tree) for i, tree in enumerate(trees)}
    compiled = compile_pairs(bodies)
    for name, (f, vjp) in compiled.items():
        for _ in range(5):
            x = data.draw(st.floats(-1.5, 1.5), label=f"{name} x")
            y = data.draw(st.floats(-1.5, 1.5), label=f"{name} y")
            args = (x, y)
            value = f(*args)
            if not (math.isfinite(value) and abs(value) < 1e8):
                continue
            _check_point(f, vjp, args, value, bodies[name])


def _check_point(
    f: Callable[..., float], vjp: Callable[..., Any], args: tuple[float, float], value: float, body: str
) -> None:
    """Like `assert_matches_finite_differences`, but a kink skips the point
    instead of the example (the example holds a whole module)."""
    grads = vjp(*args, 1.0)
    for i, g in enumerate(grads):
        h = 1e-6 * max(1.0, abs(args[i]))
        up, down = f(*_moved(args, i, h)), f(*_moved(args, i, -h))
        forward, backward = (up - value) / h, (value - down) / h
        if not math.isclose(forward, backward, rel_tol=1e-3, abs_tol=1e-4):
            continue
        fd = (up - down) / (2 * h)
        assert math.isclose(g, fd, rel_tol=1e-4, abs_tol=1e-5 * max(1.0, abs(value))), (
            f"d/d{'xy'[i]} at {args}: autodiff {g}, finite differences {fd}\n{body}"
        )
