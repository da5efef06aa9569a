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
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jit_functions import compile_functions

pytestmark = pytest.mark.slow  # see README.md, "Testing"

Shape = tuple[int, ...]


def literal(shape: Shape, fill: float = 0.5) -> str:
    """A NOMA literal of the given shape (scalars are numbers)."""
    if not shape:
        return str(fill)
    inner = literal(shape[1:], fill)
    return "[" + ", ".join([inner] * shape[0]) + "]"


@cache
def functions(body: str, shapes: tuple[Shape, ...]) -> tuple[Callable, Callable]:
    """`f(p0, p1, ...)` returning `body` and its vjp, specialised to `shapes`."""
    names = [f"p{i}" for i in range(len(shapes))]
    learns = "\n".join(f"    learn {n} = {literal(s)};" for n, s in zip(names, shapes, strict=True))
    source = f"""
fn f({", ".join(names)}) {{ return {body}; }}
fn main() {{
{learns}
    optimize({", ".join(names)}) with sgd(0.1) until 1 {{
        let loss = f({", ".join(names)});
        minimize loss;
    }}
}}
"""
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


BROADCAST_PAIRS: list[tuple[Shape, Shape]] = [
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 2)),
    ((2, 2), ()),
    ((1, 2, 2), (2, 1)),
]

BINARY = {
    "add": ("p0 + p1", {}),
    "sub": ("p0 - p1", {}),
    "mul": ("p0 * p1", {}),
    "div": ("p0 / p1", {"b": (0.5, 2.0)}),
    "pow": ("p0 ** p1", {"a": (0.2, 2.0)}),
    "pow_builtin": ("pow(p0, p1)", {"a": (0.2, 2.0)}),
    "min": ("min(p0, p1)", {}),
    "max": ("max(p0, p1)", {}),
    "rem": ("p0 % p1", {"b": (0.5, 2.0)}),
}


def broadcast_shape(a: Shape, b: Shape) -> Shape:
    return tuple(np.broadcast_shapes(a, b))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_broadcasting_binary_rule(name: str) -> None:
    expression, ranges = BINARY[name]

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
        body = f"sum(({expression}) * p2)"
        check_gradients(body, args, skip=1)

    check()


UNARY = {
    "exp": (-2.0, 2.0),
    "log": (0.2, 3.0),
    "sqrt": (0.2, 3.0),
    "sin": (-2.0, 2.0),
    "cos": (-2.0, 2.0),
    "tan": (-1.2, 1.2),
    "tanh": (-2.0, 2.0),
    "sigmoid": (-3.0, 3.0),
    "relu": (-2.0, 2.0),
    "abs": (-2.0, 2.0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_elementwise_unary_rule(name: str) -> None:
    @settings(max_examples=10, deadline=None)
    @given(st.sampled_from([(3,), (2, 3), (2, 1, 2)]).flatmap(
        lambda s: st.tuples(arrays(s, *UNARY[name]), arrays(s))
    ))
    def check(args: tuple) -> None:
        check_gradients(f"sum({name}(p0) * p1)", list(args), skip=1)

    check()


def test_unary_minus_and_scalar_broadcast() -> None:
    @settings(max_examples=10, deadline=None)
    @given(arrays((2, 3)), arrays(()))
    def check(a: np.ndarray, s: float) -> None:
        check_gradients("sum(-p0 * p1 + p1 * p1)", [a, s])

    check()


REDUCTIONS_AND_ALGEBRA: dict[str, tuple[str, list[Shape], int]] = {
    "sum": ("sum(p0 * p0)", [(2, 3)], 0),
    "sum_1d": ("sum(exp(p0))", [(4,)], 0),
    "mean": ("mean(p0 * p0 * p0)", [(3, 2)], 0),
    "mean_3d": ("mean(sin(p0))", [(2, 1, 3)], 0),
    "dot": ("dot(p0, p1)", [(3,), (3,)], 0),
    "dot_self": ("dot(p0, p0 * p1)", [(4,), (4,)], 0),
    "matmul": ("sum(matmul(p0, p1) * p2)", [(2, 3), (3, 4), (2, 4)], 1),
    "matmul_chain": ("sum(sigmoid(matmul(sigmoid(matmul(p0, p1)), p2)))", [(4, 2), (2, 3), (3, 1)], 0),
    "index_row": ("sum(p0[1] * p1)", [(3, 2), (2,)], 1),
    "index_negative": ("sum(p0[-1] * p1)", [(3, 2), (2,)], 1),
    "index_element": ("p0[1][0] * 3 + p0[2][1] * p0[0][0]", [(3, 2)], 0),
    "index_1d": ("p0[2] * p0[0]", [(4,)], 0),
    "literal": ("sum([[p0, p1], [p1 * p0, 2]] * p2)", [(), (), (2, 2)], 1),
    "bias_broadcast": ("sum(sigmoid(matmul(p0, p1) + p2))", [(4, 2), (2, 3), (3,)], 0),
}


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
    names = [f"p{i}" for i in range(len(shapes))]
    learns = "\n".join(f"    learn {n} = {literal(s)};" for n, s in zip(names, shapes, strict=True))
    source = f"""
{helper}
fn f({", ".join(names)}) {{ return {body}; }}
fn main() {{
{learns}
    optimize({", ".join(names)}) with sgd(0.1) until 1 {{ let loss = f({", ".join(names)}); minimize loss; }}
}}
"""
    compiled = compile_functions(source, ["fn.f", "fn.f__vjp"])
    return compiled["fn.f"], compiled["fn.f__vjp"]


BATCH_LOOPS: dict[str, tuple[str, list[Shape]]] = {
    # noma.rows in a loop: every block's adjoint lands on its own rows.
    "rows": (
        "fn g(a, w) { let s = 0; batch ab, i in a with 2 { s = s + sum(sin(ab) * w) * (i + 1); } "
        "return s; }",
        [(5, 2), (2,)],
    ),
    "rows_1d": (
        "fn g(a, w) { let s = 0; batch ab, i in a with 3 { s = s + dot(ab, ab) * (i + w); } "
        "return s; }",
        [(7,), ()],
    ),
    "rows_lockstep": (
        "fn g(a, b) { let s = 0; batch ab, bb, i in a, b with 2 { "
        "s = s + sum(ab * bb * bb) * (i + 1); } return s; }",
        [(5, 3), (5, 3)],
    ),
}
"""`g` walks its arguments with a `batch` loop: the loop is differentiated
iteration by iteration, through `noma.rows` of each block."""


@pytest.mark.parametrize("name", sorted(BATCH_LOOPS))
def test_batch_loop_rule(name: str) -> None:
    helper, shapes = BATCH_LOOPS[name]
    names = ", ".join(f"p{i}" for i in range(len(shapes)))
    compiled = _with_helper(helper, f"g({names})", shapes)

    @settings(max_examples=8, deadline=None)
    @given(st.tuples(*(arrays(s) for s in shapes)))
    def check(args: tuple) -> None:
        check_gradients("", list(args), compiled=compiled)

    check()
