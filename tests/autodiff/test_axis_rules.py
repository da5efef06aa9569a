"""The derivative rules of the built-ins along an axis (`sum`, `mean`,
`max`, `min`, `logsumexp`, `softmax`, `log_softmax` with `axis=`), checked
against central finite differences on hypothesis-drawn shapes, axes
(negative ones too), keepdims and values; and the located error for an
index (`argmax`) on an objective's gradient path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from gradient_cases import AXIS_OPS, Shape, axis_body, axis_result_shape, tensor_program
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jit_functions import compile_functions

from noma.compiler import Program
from noma.diagnostics import NomaError

pytestmark = pytest.mark.slow  # see README.md, "Testing"

SHAPES: list[Shape] = [(4,), (2, 3), (3, 1), (2, 2, 3)]


@cache
def functions(body: str, shapes: tuple[Shape, ...]) -> tuple[Callable, Callable]:
    compiled = compile_functions(tensor_program(body, shapes), ["fn.f", "fn.f__vjp"])
    return compiled["fn.f"], compiled["fn.f__vjp"]


@st.composite
def axis_cases(draw: st.DrawFn, name: str) -> tuple[str, np.ndarray, np.ndarray | float, Shape]:
    shape = draw(st.sampled_from(SHAPES))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = draw(st.booleans())
    values = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
    x = np.array(draw(st.lists(values, min_size=math.prod(shape), max_size=math.prod(shape))))
    out_shape = axis_result_shape(name, shape, axis, keepdims)
    w = np.array(
        draw(st.lists(values, min_size=math.prod(out_shape), max_size=math.prod(out_shape)))
    ).reshape(out_shape)
    return (
        axis_body(name, axis, keepdims),
        x.reshape(shape),
        (w if out_shape else float(w)),
        out_shape,
    )


@pytest.mark.parametrize("name", AXIS_OPS)
def test_axis_rule_matches_central_differences(name: str) -> None:
    @settings(max_examples=8, deadline=None)
    @given(axis_cases(name))
    def check(case: tuple) -> None:
        body, x, w, _ = case
        if name in ("max", "min"):
            # No derivative at a tie; apart from ties the rule is exact.
            flat = np.sort(x.ravel())
            assume(np.all(np.diff(flat) > 1e-3))
        f, vjp = functions(body, (x.shape, np.shape(w)))
        grad = np.asarray(vjp(x, w, 1.0)[0])
        assert grad.shape == x.shape
        for index in np.ndindex(x.shape):
            h = 1e-6
            up, down = x.copy(), x.copy()
            up[index] += h
            down[index] -= h
            fd = (f(up, w) - f(down, w)) / (2 * h)
            assert math.isclose(grad[index], fd, rel_tol=2e-5, abs_tol=2e-6), (
                f"{body} at {index} of {x.shape}: autodiff {grad[index]}, differences {fd}"
            )

    check()


def test_max_gradient_goes_to_the_first_maximum() -> None:
    _, vjp = functions("sum(max(p0 * 1.5, axis=1) * p1)", ((2, 3), (2,)))
    x = np.array([[2.0, 5.0, 5.0], [7.0, 7.0, 7.0]])
    w = np.array([1.0, 3.0])
    grad = vjp(x, w, 1.0)[0]
    assert grad.tolist() == [[0.0, 1.5, 0.0], [4.5, 0.0, 0.0]]


def test_softmax_family_gradients_stay_finite_for_large_logits() -> None:
    for body in ("sum(log_softmax(p0 * 1.5, axis=1) * p1)", "sum(softmax(p0 * 1.5, axis=1) * p1)"):
        f, vjp = functions(body, ((1, 2), (1, 2)))
        x, w = np.array([[1000.0, 0.0]]), np.array([[1.0, 0.0]])
        grad = vjp(x, w, 1.0)[0]
        assert np.all(np.isfinite(grad)) and math.isfinite(f(x, w))
    f, vjp = functions("sum(log_softmax(p0 * 1.5, axis=1) * p1)", ((1, 2), (1, 2)))
    # d/dx of 1.5x0 - logsumexp(1.5x): 1.5 * (1 - softmax) = [0, -0]
    assert vjp(np.array([[1000.0, 0.0]]), np.array([[1.0, 0.0]]), 1.0)[0] == pytest.approx(
        np.array([[0.0, 0.0]])
    )


def test_argmax_on_a_gradient_path_is_a_located_compile_error() -> None:
    source = """fn main() {
    learn W = [[0.5, 0.2], [0.1, 0.3]];
    optimize(W) with sgd(0.1) until 1 {
        let loss = sum(argmax(W, axis=1) * W);
        minimize loss;
    }
}
"""
    with pytest.raises(NomaError) as caught:
        Program(source, "am.noma").ir("llvm")
    text = str(caught.value)
    assert "am.noma:4:24" in text and "noma.argmax" in text


def test_rules_inside_a_while_loop_match_central_differences() -> None:
    """Rules that read their result (softmax, log_softmax) on the values a
    loop recomputes in its reverse sweep."""
    helper = """fn g(a, w) {
    let s = 0; let i = 0; let h = a;
    while i < 3 {
        h = softmax(h * 2, axis=1) + log_softmax(h, axis=0) * 0.1;
        s = s + sum(max(h, axis=1) * w) + sum(logsumexp(h, axis=0));
        i = i + 1;
    }
    return s;
}"""
    compiled = compile_functions(
        tensor_program("g(p0, p1)", ((2, 3), (2,)), helper), ["fn.f", "fn.f__vjp"]
    )
    f, vjp = compiled["fn.f"], compiled["fn.f__vjp"]

    @settings(max_examples=8, deadline=None)
    @given(st.lists(st.floats(-2.0, 2.0), min_size=8, max_size=8))
    def check(values: list[float]) -> None:
        a, w = np.array(values[:6]).reshape(2, 3), np.array(values[6:])
        grad = np.asarray(vjp(a, w, 1.0)[0])
        for index in np.ndindex(a.shape):
            up, down = a.copy(), a.copy()
            up[index] += 1e-6
            down[index] -= 1e-6
            here, high, low = f(a, w), f(up, w), f(down, w)
            # Skip kinks of max (a near tie along the axis): no derivative.
            assume(
                math.isclose((high - here) / 1e-6, (here - low) / 1e-6, rel_tol=1e-3, abs_tol=1e-4)
            )
            fd = (high - low) / 2e-6
            assert math.isclose(grad[index], fd, rel_tol=1e-4, abs_tol=1e-5), (
                index,
                grad[index],
                fd,
            )

    check()
