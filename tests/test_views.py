"""Slices and transposes read in place as strided views (`noma_to_loops/
views.py`): the same values as NumPy when their consumers read them through
the view, the same gradients, and no aliasing hazard when the viewed
parameter changes (an optimizer step, a `realloc`) while the view is used."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noma

READ_IN_PLACE = {
    "rows": ("sum(X[B[0]:B[1]] * 2)", lambda X, a, b, c, d: np.sum(X[a:b] * 2)),
    "column": ("X[:, B[2]] * 2", lambda X, a, b, c, d: X[:, c] * 2),
    "block": (
        "X[B[0]:B[1], B[2]:B[3]] + X[B[0]:B[1], B[2]:B[3]]",
        lambda X, a, b, c, d: 2 * X[a:b, c:d],
    ),
    "row": ("X[B[1] - 1] - 1", lambda X, a, b, c, d: X[b - 1] - 1),
    "transpose": ("transpose(X) * 3", lambda X, a, b, c, d: X.T * 3),
    "matmul": ("matmul(X[B[0]:B[1]], transpose(X))", lambda X, a, b, c, d: X[a:b] @ X.T),
    # matmul takes row-major buffers: a slice feeding it, or feeding a
    # transpose read in place by it, is copied, never passed as its base.
    "matmul_transposed_column_slice": (
        "matmul(transpose(X[:, B[2]:B[3]]), X)",
        lambda X, a, b, c, d: X[:, c:d].T @ X,
    ),
    "matmul_transposed_rows": ("matmul(X, transpose(X[B[0]:B[1]]))", lambda X, a, b, c, d: X @ X[a:b].T),
    "column_max": ("max(X[:, B[2]:B[3]], axis=0)", lambda X, a, b, c, d: X[:, c:d].max(axis=0)),
}
"""Case -> (NOMA expression whose slices are consumed in place, NumPy)."""


@cache
def program(expression: str) -> noma.Program:
    return noma.compile(f"fn main(X, B) {{ return {expression}; }}")


@pytest.mark.parametrize("name", sorted(READ_IN_PLACE))
def test_views_agree_with_numpy(name: str) -> None:
    expression, reference = READ_IN_PLACE[name]
    compiled = program(expression)

    @settings(max_examples=15, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        rows, cols = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
        a = data.draw(st.integers(0, rows - 1))
        b = data.draw(st.integers(a + 1, rows))
        c = data.draw(st.integers(0, cols - 1))
        d = data.draw(st.integers(c + 1, cols))
        X = np.arange(float(rows * cols)).reshape(rows, cols) * 0.5 - 1
        result = compiled.run(args={"X": X, "B": np.array([a, b, c, d], dtype=float)})
        np.testing.assert_array_equal(result, reference(X, a, b, c, d))

    check()


def test_gradients_through_views() -> None:
    """One SGD step of rate 1: the gradient of sum(X[1:3, 1] * 2) is 2 on
    those elements; that of sum(transpose(X) * C) is C transposed."""
    source = """
fn main(X0, C) {
    learn X = X0;
    optimize(X) with sgd(1.0, max_iterations=1) until 0 {
        let loss = sum(X[1:3, 1] * 2) + sum(transpose(X) * C);
        minimize loss;
    }
    return X;
}"""
    X0 = np.arange(12.0).reshape(4, 3)
    C = np.arange(12.0).reshape(3, 4) / 4
    expected = X0 - C.T
    expected[1:3, 1] -= 2
    np.testing.assert_array_equal(noma.compile(source).run(args={"X0": X0, "C": C}), expected)


def test_view_used_after_optimizer_steps_keeps_the_old_values() -> None:
    """Views of a parameter taken before training and used after it see
    the values they were taken from, not the updated parameter."""
    source = """
fn main() {
    learn W = tensor [[1.0, 2.0], [3.0, 4.0]];
    let c = W[:, 0];
    let r = W[1:2];
    let t = transpose(W);
    optimize(W) with sgd(0.1, max_iterations=3) until 0 {
        let loss = sum(W * W);
        minimize loss;
    }
    return sum(c * 1) + 10 * sum(r * 1) + 100 * sum(t * 1) + 1000 * sum(W);
}"""
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    trained = W * 0.8**3
    expected = W[:, 0].sum() + 10 * W[1:2].sum() + 100 * W.T.sum() + 1000 * trained.sum()
    np.testing.assert_allclose(noma.compile(source).run(), expected, rtol=1e-12)


def test_view_used_after_realloc_keeps_the_old_values() -> None:
    source = """
fn main() {
    learn W = tensor [[1.0, 2.0], [3.0, 4.0]];
    let c = W[:, 1];
    let t = transpose(W);
    realloc W = [3, 3];
    return sum(c * 10) + sum(t[0] * 1) + 100 * size(W, 0);
}"""
    assert noma.compile(source).run() == 60.0 + 4.0 + 300.0


def test_update_reading_its_parameter_transposed() -> None:
    """W - 0.5 * grad with grad = transpose(W) for loss sum(transpose(W) * W) / 2:
    the step reads W through a transposed view, so it must not write W
    in place element by element."""
    source = """
fn main(W0) {
    learn W = W0;
    optimize(W) with sgd(0.5, max_iterations=1) until 0 {
        let loss = sum(transpose(W) * W) / 2;
        minimize loss;
    }
    return W;
}"""
    W0 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    np.testing.assert_array_equal(noma.compile(source).run(args={"W0": W0}), W0 - 0.5 * W0.T)
