"""Gradients of generated programs against an independent reference.

Hypothesis generates a NOMA function `f` of learnable parameters (scalars
and tensors) and, for the same program, a NumPy evaluator: every
expression is built by combinators that give its NOMA text and its NumPy
meaning together. NOMA computes the gradient (`f__vjp`, the adjoint the
`autodiff` pass generates for `f`, called from the JIT as in
tests/autodiff/test_tensor_rules.py); the reference is the central finite
difference, in float64, of the NumPy evaluator, for every element of every
parameter. NOMA's value of `f` must match the evaluator's too. PyTorch is
not installed here; when it is, it could serve as a second reference.

Programs cover five kinds: scalar expressions, tensor expressions (with
broadcasting and reductions), control flow (`if`/`else` on a
parameter-dependent condition, a `while` loop), user functions (nested
calls of helpers that are themselves generated) and `batch` loops over the
rows of a tensor parameter.

Tolerance: |autodiff - FD| <= 1e-4 * max(1, |FD|) + 1e-6 * max(1, |f|).
The step is h = 1e-6 * max(1, |x|); central differences are then exact to
about h^2 |f'''| + 1e-16 |f| / h, far inside the tolerance for the moderate
values the grammar keeps (inputs in [-1.5, 1.5], `log` and `sqrt` of
`x*x + 1`, divisions by `b*b + 1`). Nondifferentiable points (a kink of
`abs`, `relu`, `max`, `min`, a branch condition or a `while` test close to
switching) are avoided: a point where the forward and backward differences
of the reference disagree (relative 1e-3) is skipped and counted.

A fixed budget: a fixed number of programs per kind, drawn
deterministically, each compiled once; the counts are printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jit_functions import compile_functions

pytestmark = pytest.mark.slow  # see README.md, "Testing"

Shape = tuple[int, ...]
Env = dict[str, Any]

PROGRAMS_PER_KIND = 12
REL_TOL = 1e-4
ABS_TOL = 1e-6
KINK_TOL = 1e-3


@dataclass(frozen=True)
class Expr:
    """An expression: its NOMA text, its NumPy meaning and its shape."""

    text: str
    value: Callable[[Env], Any]
    shape: Shape


def leaf(name: str, shape: Shape) -> Expr:
    return Expr(name, lambda env: env[name], shape)


def const(c: float) -> Expr:
    # In parentheses when negative: `-0.75 ** 2` is -(0.75 ** 2), as in Python.
    return Expr(repr(c) if c >= 0 else f"({c!r})", lambda env: c, ())


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


UNARY: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "neg": ("-{}", np.negative),
    "sigmoid": ("sigmoid({})", _sigmoid),
    "tanh": ("tanh({})", np.tanh),
    "sin": ("sin({})", np.sin),
    "cos": ("cos({})", np.cos),
    "exp": ("exp({})", np.exp),
    "log": ("log({0} * {0} + 1)", lambda x: np.log(x * x + 1)),
    "sqrt": ("sqrt({0} * {0} + 1)", lambda x: np.sqrt(x * x + 1)),
    "abs": ("abs({})", np.abs),
    "relu": ("relu({})", lambda x: np.maximum(x, 0.0)),
    "square": ("{} ** 2", lambda x: x**2),
}

BINARY: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "+": ("{} + {}", np.add),
    "-": ("{} - {}", np.subtract),
    "*": ("{} * {}", np.multiply),
    "/": ("{0} / ({1} * {1} + 1)", lambda a, b: a / (b * b + 1)),
    "max": ("max({}, {})", np.maximum),
    "min": ("min({}, {})", np.minimum),
}


def unary(name: str, x: Expr) -> Expr:
    template, fn = UNARY[name]
    return Expr("(" + template.format(x.text) + ")", lambda env: fn(x.value(env)), x.shape)


def binary(name: str, a: Expr, b: Expr) -> Expr:
    template, fn = BINARY[name]
    shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    return Expr(
        "(" + template.format(a.text, b.text) + ")",
        lambda env: fn(a.value(env), b.value(env)),
        shape,
    )


def reduce(name: str, x: Expr) -> Expr:
    fn = np.sum if name == "sum" else np.mean
    return Expr(f"{name}({x.text})", lambda env: float(fn(x.value(env))), ())


def expressions(leaves: list[Expr], max_leaves: int = 5) -> st.SearchStrategy[Expr]:
    """Elementwise expressions over `leaves` (whose shapes broadcast
    together) and small constants."""
    base = st.one_of(
        st.sampled_from(leaves), st.sampled_from([0.5, 1.5, -0.75, 2.0]).map(const)
    )

    def extend(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(st.sampled_from(sorted(UNARY)), inner).map(lambda t: unary(*t)),
            st.tuples(st.sampled_from(sorted(BINARY)), inner, inner).map(lambda t: binary(*t)),
        )

    return st.recursive(base, extend, max_leaves=max_leaves)


def to_scalar(e: Expr, how: str = "sum") -> Expr:
    return e if e.shape == () else reduce(how, e)


@dataclass(frozen=True)
class Case:
    """A generated program: helpers, the body of `f`, its parameters (name,
    shape) and the NumPy evaluator of `f`."""

    kind: str
    helpers: str
    body: str
    params: tuple[tuple[str, Shape], ...]
    evaluate: Callable[[Env], float]

    def source(self) -> str:
        names = ", ".join(n for n, _ in self.params)
        learns = "\n".join(f"    learn {n} = {_literal(s)};" for n, s in self.params)
        return (
            f"{self.helpers}fn f({names}) {{\n{self.body}\n}}\n"
            f"fn main() {{\n{learns}\n"
            f"    optimize({names}) with sgd(0.1) until 1 {{\n"
            f"        let loss = f({names});\n        minimize loss;\n    }}\n"
            "}\n"
        )


def _literal(shape: Shape) -> str:
    if not shape:
        return "0.5"
    inner = _literal(shape[1:])
    return "[" + ", ".join([inner] * shape[0]) + "]"


SCALAR_PARAMS = (("a", ()), ("b", ()), ("c", ()))
TENSOR_PARAMS = (("a", ()), ("v", (3,)), ("M", (2, 3)))


def _leaves(params: tuple[tuple[str, Shape], ...]) -> list[Expr]:
    return [leaf(n, s) for n, s in params]


@st.composite
def scalar_cases(draw: st.DrawFn) -> Case:
    e = draw(expressions(_leaves(SCALAR_PARAMS), 6))
    return Case("scalar", "", f"    return {e.text};", SCALAR_PARAMS, e.value)


@st.composite
def tensor_cases(draw: st.DrawFn) -> Case:
    leaves = _leaves(TENSOR_PARAMS)
    e = draw(expressions(leaves, 5))
    how = draw(st.sampled_from(["sum", "mean"]))
    # dot of two vector expressions adds a contraction.
    vec = draw(expressions([leaves[0], leaves[1]], 3))
    vec = vec if vec.shape == (3,) else binary("*", vec, leaves[1])
    total = binary(
        "+",
        to_scalar(binary("*", e, leaves[2]), how),
        Expr(f"dot({vec.text}, v)", lambda env: float(np.dot(vec.value(env), env["v"])), ()),
    )
    return Case("tensor", "", f"    return {total.text};", TENSOR_PARAMS, total.value)


@st.composite
def control_flow_cases(draw: st.DrawFn) -> Case:
    """`if` on a parameter-dependent condition, then a `while` loop of a
    fixed count that folds a generated expression into `r`."""
    params = TENSOR_PARAMS
    leaves = _leaves(params)
    start = to_scalar(draw(expressions(leaves, 4)))
    cond = to_scalar(draw(expressions(leaves, 3)))
    then = to_scalar(draw(expressions(leaves, 3)))
    other = to_scalar(draw(expressions(leaves, 3)))
    step = draw(expressions([*leaves, leaf("r", ())], 4))
    step = to_scalar(step, "mean")
    count = draw(st.integers(1, 3))
    body = (
        f"    let r = {start.text};\n"
        f"    if {cond.text} > 0.1 {{ r = r * {then.text}; }} else {{ r = r + {other.text}; }}\n"
        f"    let k = 0;\n"
        f"    while k < {count} {{ r = 0.5 * r + {step.text}; k = k + 1; }}\n"
        f"    return r;"
    )

    def evaluate(env: Env) -> float:
        r = start.value(env)
        r = r * then.value(env) if cond.value(env) > 0.1 else r + other.value(env)
        for _ in range(count):
            r = 0.5 * r + step.value({**env, "r": r})
        return float(r)

    return Case("control flow", "", body, params, evaluate)


@st.composite
def function_cases(draw: st.DrawFn) -> Case:
    """Two generated helpers, the second calling the first, called nested
    from `f` on generated arguments."""
    x, y = leaf("x", ()), leaf("y", ())
    inner = draw(expressions([x, y], 4))
    outer_rest = draw(expressions([x], 3))

    def h0(p: Any, q: Any) -> Any:
        return inner.value({"x": p, "y": q})

    def h1(p: Any) -> Any:
        return outer_rest.value({"x": p}) * h0(p, p)

    helpers = (
        f"fn h0(x, y) {{ return {inner.text}; }}\n"
        f"fn h1(x) {{ return {outer_rest.text} * h0(x, x); }}\n"
    )
    leaves = _leaves(TENSOR_PARAMS)
    arg1 = draw(expressions(leaves, 3))
    arg2 = draw(expressions(leaves, 3))
    # The results may be scalars or tensors: `sum` of a scalar is the scalar.
    nested = f"sum(h1(h0({arg1.text}, {arg2.text})))"
    single = f"sum(h0(a, {arg2.text}))"
    body = f"    return {nested} + {single};"

    def evaluate(env: Env) -> float:
        first = h1(h0(arg1.value(env), arg2.value(env)))
        return float(np.sum(first) + np.sum(h0(env["a"], arg2.value(env))))

    return Case("functions", helpers, body, TENSOR_PARAMS, evaluate)


BATCH_PARAMS = (("X", (5, 2)), ("w", (2,)), ("a", ()))


@st.composite
def batch_cases(draw: st.DrawFn) -> Case:
    """A `batch` loop over the rows of a parameter, accumulating a generated
    expression of the block, another parameter and the block number."""
    size = draw(st.integers(1, 6))
    leaves = [leaf("xb", (1, 2)), leaf("w", (2,)), leaf("a", ())]
    e = draw(expressions(leaves, 4))
    body = (
        "    let s = 0;\n"
        f"    batch xb, i in X with {size} {{ s = s + sum({e.text} * w) * (i + 1); }}\n"
        "    return s;"
    )

    def evaluate(env: Env) -> float:
        s = 0.0
        rows = env["X"]
        for i, first in enumerate(range(0, rows.shape[0], size)):
            block = {**env, "xb": rows[first : first + size]}
            s = s + float(np.sum(e.value(block) * env["w"])) * (i + 1)
        return s

    return Case("batch", "", body, BATCH_PARAMS, evaluate)


@dataclass
class Tally:
    programs: int = 0
    points: int = 0
    skipped_kinks: int = 0
    failures: list[str] | None = None


KINDS: dict[str, st.SearchStrategy[Case]] = {
    "scalar": scalar_cases(),
    "tensor": tensor_cases(),
    "control flow": control_flow_cases(),
    "functions": function_cases(),
    "batch": batch_cases(),
}


def _values(params: tuple[tuple[str, Shape], ...]) -> st.SearchStrategy[dict[str, Any]]:
    elements = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries(
        {
            name: (
                elements
                if not shape
                else st.lists(elements, min_size=math.prod(shape), max_size=math.prod(shape)).map(
                    lambda v, shape=shape: np.array(v).reshape(shape)
                )
            )
            for name, shape in params
        }
    )


def check_case(case: Case, env: dict[str, Any], tally: Tally) -> None:
    """NOMA's value and gradient of `f` at `env` against the reference."""
    assert tally.failures is not None
    compiled = compile_functions(case.source(), ["fn.f", "fn.f__vjp"])
    f, vjp = compiled["fn.f"], compiled["fn.f__vjp"]
    names = [n for n, _ in case.params]
    args = [env[n] for n in names]
    reference = case.evaluate(env)
    if not math.isfinite(reference) or abs(reference) > 1e8:
        return  # outside the moderate range the tolerance is for
    value = f(*args)
    if not math.isclose(value, reference, rel_tol=1e-9, abs_tol=1e-9):
        tally.failures.append(f"value: NOMA {value}, NumPy {reference}\n{case.source()}")
        return
    grads = vjp(*args, 1.0)
    if len(names) == 1:
        grads = (grads,)
    for name, arg, grad in zip(names, args, grads, strict=True):
        base = np.array(arg, dtype=np.float64)
        assert np.shape(grad) == base.shape
        for index in np.ndindex(base.shape):
            h = 1e-6 * max(1.0, abs(float(base[index])))

            def at(delta: float, index: tuple[int, ...] = index, name: str = name) -> float:
                moved = np.array(base)
                moved[index] += delta
                return case.evaluate({**env, name: moved if moved.shape else float(moved)})

            up, down = at(h), at(-h)
            forward, backward = (up - reference) / h, (reference - down) / h
            tally.points += 1
            if not math.isclose(forward, backward, rel_tol=KINK_TOL, abs_tol=KINK_TOL):
                tally.skipped_kinks += 1
                continue
            fd = (up - down) / (2 * h)
            g = float(np.asarray(grad)[index])
            tolerance = REL_TOL * max(1.0, abs(fd)) + ABS_TOL * max(1.0, abs(reference))
            if not abs(g - fd) <= tolerance:
                tally.failures.append(
                    f"d f / d {name}{list(index)} at {env}: autodiff {g}, finite differences {fd}"
                    f"\n{case.source()}"
                )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_program_gradients_match_finite_differences(kind: str) -> None:
    tally = Tally(failures=[])

    @settings(
        max_examples=PROGRAMS_PER_KIND,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],  # failures are collected, not raised: nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def each(data: st.DataObject) -> None:
        case = data.draw(KINDS[kind], label="program")
        env = data.draw(_values(case.params), label="parameters")
        tally.programs += 1
        check_case(case, env, tally)

    each()
    assert tally.failures is not None
    print(
        f"\ngradient check, {kind}: {tally.programs} programs, {tally.points} derivatives, "
        f"{tally.skipped_kinks} skipped at kinks, {len(tally.failures)} failures"
    )
    assert tally.programs == PROGRAMS_PER_KIND
    assert tally.points - tally.skipped_kinks >= tally.programs  # most points are checked
    assert not tally.failures, "\n\n".join(tally.failures)
