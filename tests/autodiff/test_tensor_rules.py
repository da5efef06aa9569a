"""The derivative rule of every tensor op, with NumPy broadcasting, checked
against central finite differences on hypothesis-generated shapes and values.

Each case is a NOMA function `f` of tensors returning a scalar; `autodiff`
generates `f__vjp`, and both are called from the JIT with numpy arrays.
Compiled functions are cached per shape, so most examples are just calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from gradient_cases import (
    BATCH_LOOPS,
    BROADCAST_PAIRS,
    REDUCTIONS_AND_ALGEBRA,
    TENSOR_BINARY,
    TENSOR_UNARY,
    TENSOR_UNARY_SHAPES,
    Shape,
    batch_loop_body,
    tensor_binary_body,
    tensor_program,
    tensor_unary_body,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jit_functions import compile_functions

pytestmark = pytest.mark.slow  # see README.md, "Testing"


@cache
def functions(body: str, shapes: tuple[Shape, ...]) -> tuple[Callable, Callable]:
    """`f(p0, p1, ...)` returning `body` and its vjp, specialised to `shapes`."""
    source = tensor_program(body, shapes)
    compiled = compile_functions(source, ["fn.f", "fn.f__vjp"])
    return compiled["fn.f"], compiled["fn.f__vjp"]


def check_gradients(
    body: str,
    args: list[np.ndarray | float],
    skip: int = 0,
    compiled: tuple[Callable, Callable] | None = None,
) -> None:
    """Autodiff against central differences for every element of every
    argument but the last `skip` ones (fixed projections). `compiled` gives
    `f` and its vjp when they are not made from `body` alone."""
    shapes = tuple(np.shape(a) for a in args)
    f, vjp = compiled if compiled is not None else functions(body, shapes)
    value = f(*args)
    assume(math.isfinite(value))
    grads = vjp(*args, 1.0)
    if len(args) == 1:
        grads = (grads,)
    for i, (arg, grad) in enumerate(zip(args[: len(args) - skip], grads, strict=False)):
        arg_array = np.array(arg, dtype=np.float64)
        assert np.shape(grad) == arg_array.shape
        for index in np.ndindex(arg_array.shape):
            h = 1e-6 * max(1.0, abs(float(arg_array[index])))

            def at(delta: float) -> float:
                moved = [np.array(a, dtype=np.float64) for a in args]
                moved[i][index] += delta
                return f(*[m if m.shape else float(m) for m in moved])

            up, here, down = at(h), value, at(-h)
            forward, backward = (up - here) / h, (here - down) / h
            # Skip kinks (branches of max, relu, abs, %): no derivative there.
            assume(math.isclose(forward, backward, rel_tol=1e-3, abs_tol=1e-4))
            fd = (up - down) / (2 * h)
            g = float(np.asarray(grad)[index])
            # Next to a kink with small one-sided slopes, any value between
            # them is a valid (sub)gradient.
            low, high = sorted((forward, backward))
            subgradient = low - 2e-6 <= g <= high + 2e-6
            assert subgradient or math.isclose(g, fd, rel_tol=2e-5, abs_tol=2e-6), (
                f"d f/d p{i}{list(index)} of {body!r} with shapes {shapes}: "
                f"autodiff {g}, finite differences {fd}"
            )


def arrays(shape: Shape, low: float = -2.0, high: float = 2.0) -> st.SearchStrategy:
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if not shape:
        return elements
    return st.lists(elements, min_size=math.prod(shape), max_size=math.prod(shape)).map(
        lambda v: np.array(v).reshape(shape)
    )


def broadcast_shape(a: Shape, b: Shape) -> Shape:
    return tuple(np.broadcast_shapes(a, b))


@pytest.mark.parametrize("name", sorted(TENSOR_BINARY))
def test_broadcasting_binary_rule(name: str) -> None:
    ranges = TENSOR_BINARY[name][1]

    @st.composite
    def cases(draw: st.DrawFn) -> list:
        a_shape, b_shape = draw(st.sampled_from(BROADCAST_PAIRS))
        a = draw(arrays(a_shape, *ranges.get("a", (-2.0, 2.0))))
        b = draw(arrays(b_shape, *ranges.get("b", (-2.0, 2.0))))
        w = draw(arrays(broadcast_shape(a_shape, b_shape)))
        return [a, b, w]

    @settings(max_examples=12, deadline=None)
    @given(cases())
    def check(args: list) -> None:
        if name in ("min", "max"):
            a, b = np.broadcast_arrays(args[0], args[1])
            assume(np.all(np.abs(a - b) > 1e-3))  # no derivative at a tie
        check_gradients(tensor_binary_body(name), args, skip=1)

    check()


@pytest.mark.parametrize("name", sorted(TENSOR_UNARY))
def test_elementwise_unary_rule(name: str) -> None:
    @settings(max_examples=10, deadline=None)
    @given(st.sampled_from(TENSOR_UNARY_SHAPES).flatmap(
        lambda s: st.tuples(arrays(s, *TENSOR_UNARY[name]), arrays(s))
    ))
    def check(args: tuple) -> None:
        check_gradients(tensor_unary_body(name), list(args), skip=1)

    check()


def test_unary_minus_and_scalar_broadcast() -> None:
    @settings(max_examples=10, deadline=None)
    @given(arrays((2, 3)), arrays(()))
    def check(a: np.ndarray, s: float) -> None:
        check_gradients("sum(-p0 * p1 + p1 * p1)", [a, s])

    check()


@pytest.mark.parametrize("name", sorted(REDUCTIONS_AND_ALGEBRA))
def test_tensor_op_rule(name: str) -> None:
    body, shapes, skip = REDUCTIONS_AND_ALGEBRA[name]

    @settings(max_examples=10, deadline=None)
    @given(st.tuples(*(arrays(s) for s in shapes)))
    def check(args: tuple) -> None:
        check_gradients(body, list(args), skip=skip)

    check()


def test_gradient_of_a_join_of_shapes() -> None:
    """A variable whose shape differs on two branches becomes dynamic
    (`noma.cast`); gradients flow through the casts."""
    body = "g(p0, p1)"
    source_f = """
fn g(a, b) {
    let x = a;
    if sum(b) > 0 { x = a * 2; } else { x = [1.0, 2.0, 3.0] * sum(a); }
    return sum(x * x);
}"""
    f, vjp = _with_helper(source_f, body, [(3,), (2,)])
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0])
    assert vjp(a, b, 1.0)[0] == pytest.approx(8 * a)
    b = -b
    expected = 2 * np.dot(np.array([1.0, 2.0, 3.0]) ** 2, np.ones(3)) * a.sum()
    assert vjp(a, b, 1.0)[0] == pytest.approx(np.full(3, expected))
    assert f(a, b) == pytest.approx(np.sum((np.array([1.0, 2.0, 3.0]) * a.sum()) ** 2))


def _with_helper(helper: str, body: str, shapes: list[Shape]) -> tuple[Callable, Callable]:
    source = tensor_program(body, tuple(shapes), helper)
    compiled = compile_functions(source, ["fn.f", "fn.f__vjp"])
    return compiled["fn.f"], compiled["fn.f__vjp"]


@pytest.mark.parametrize("name", sorted(BATCH_LOOPS))
def test_batch_loop_rule(name: str) -> None:
    helper, shapes = BATCH_LOOPS[name]
    compiled = _with_helper(helper, batch_loop_body(name), shapes)

    @settings(max_examples=8, deadline=None)
    @given(st.tuples(*(arrays(s) for s in shapes)))
    def check(args: tuple) -> None:
        check_gradients("", list(args), compiled=compiled)

    check()
