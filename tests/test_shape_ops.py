"""The shape built-ins `transpose`, `reshape`, `size`, `where` and `clip`:
agreement with NumPy (hypothesis-generated shapes where the program takes
its tensor as an argument), compile errors for static sizes that disagree,
located run-time errors for dynamic ones, views instead of copies, and
gradients against central finite differences on generated shapes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from programs import run_cli

import noma
from noma.compiler import ProgramError


@cache
def program(source: str) -> noma.Program:
    return noma.compile(source)


def matrices(max_side: int = 5) -> st.SearchStrategy[np.ndarray]:
    return st.tuples(st.integers(1, max_side), st.integers(1, max_side)).flatmap(
        lambda shape: st.lists(
            st.floats(-5, 5, allow_nan=False), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]
        ).map(lambda v: np.array(v).reshape(shape))
    )


@settings(max_examples=20, deadline=None)
@given(matrices())
def test_transpose_agrees_with_numpy(X: np.ndarray) -> None:
    compiled = program("fn main(X) { return transpose(X) * 2 + transpose(X, [1, 0]); }")
    np.testing.assert_array_equal(compiled.run(args={"X": X}), 3 * X.T)


@settings(max_examples=15, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    st.permutations([0, 1, 2]),
)
def test_transpose_with_a_permutation_agrees_with_numpy(
    shape: tuple[int, int, int], permutation: list[int]
) -> None:
    X = np.arange(float(np.prod(shape))).reshape(shape)
    dims = ", ".join(map(str, shape))
    compiled = program(f"fn main(X) {{ return transpose(reshape(X, [{dims}]), {permutation}); }}")
    result = compiled.run(args={"X": X.reshape(shape[0], -1)})
    np.testing.assert_array_equal(result, np.transpose(X, permutation))


@settings(max_examples=20, deadline=None)
@given(matrices(), st.sampled_from(["[-1]", "[C, -1]", "[-1, R]", "[R * C, 1]", "[1, -1, C]"]))
def test_reshape_of_dynamic_shapes_agrees_with_numpy(X: np.ndarray, shape: str) -> None:
    compiled = program(f"fn main(X) {{ let R = size(X, 0); let C = size(X, -1); return reshape(X, {shape}); }}")
    rows, cols = X.shape
    numpy_shape = eval(shape.replace("R", str(rows)).replace("C", str(cols)))  # noqa: S307
    np.testing.assert_array_equal(compiled.run(args={"X": X}), X.reshape(numpy_shape))


def test_reshape_of_static_shapes_is_a_view() -> None:
    source = "fn main() { let X = [[1, 2, 3], [4, 5, 6]]; return reshape(X * 2, [3, -1]) + 1; }"
    compiled = noma.compile(source)
    np.testing.assert_array_equal(compiled.run(), np.array([[2, 4], [6, 8], [10, 12]]) + 1)
    loops = str(compiled.ir("loops"))
    assert "memref.reinterpret_cast" in loops and "to memref<3x2xf64>" in loops


def test_reshape_of_a_parameter_trains_through_the_view() -> None:
    """One SGD step on sum(reshape(W)^2) + sum(W): W - 0.1 * (2 W + 1)."""
    source = """
fn main(W0) {
    learn W = W0;
    optimize(W) with sgd(0.1, max_iterations=1) until 0 {
        let v = reshape(W, [3, 2]);
        let loss = sum(v * v) + sum(W);
        minimize loss;
    }
    return W;
}"""
    W0 = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(noma.compile(source).run(args={"W0": W0}), W0 - 0.1 * (2 * W0 + 1))


@pytest.mark.parametrize(
    ("call", "column", "message"),
    [
        ("reshape(X, [4, 2])", 10, "cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)"),
        ("reshape(X, [4, -1])", 10, "cannot reshape [2, 3] (6 elements) into rows of 4 elements"),
        ("reshape(X, [-1, -1])", 26, "only one dimension of a reshape can be -1"),
        ("reshape(X, [0, 6])", 22, "a dimension must be at least 1, got 0"),
        ("reshape(X, 6)", 21, "the new shape is a list of dimensions"),
        ("transpose(X, [0, 0])", 23, "[0, 0] is not a permutation of the 2 axes"),
        ("transpose(X, [0, 1, 2])", 23, "[0, 1, 2] is not a permutation of the 2 axes"),
        ("size(X, 2)", 18, "axis 2 of a rank-2 tensor"),
        ("size(X, 0.5)", 18, "an axis must be a whole number literal"),
        ("size(1, 0)", 15, "size needs a tensor, got a scalar"),
        ("where(X, [1, 2], 0)", 10, "'where' of a [2, 3] tensor, a [2] tensor, a scalar"),
        ("clip(X, [1, 2], 0)", 10, "'clip' of a [2, 3] tensor, a [2] tensor, a scalar"),
        ("concat(X, [[1, 2]], axis=1)", 10, "concat along axis 1 of [2, 3], [1, 2]: their extents along axis 0 differ"),
        ("concat(X, [1, 2, 3])", 10, "concat needs tensors of one rank, got [2, 3], [3]"),
        ("concat(X, X, axis=2)", 28, "axis 2 of a rank-2 tensor"),
        ("concat(X, X, along=1)", 29, "unknown keyword argument 'along=': 'concat' takes only axis"),
        ("concat([[[1]]], [[[2]]], axis=1)", 10, "concat along axis 1 of rank-3 tensors is not supported yet"),
    ],
)
def test_static_errors_are_located_compile_errors(
    tmp_path: Path, call: str, column: int, message: str
) -> None:
    proc = run_cli(tmp_path, f"fn main() {{\n  let X = [[1, 2, 3], [4, 5, 6]];\n  return {call};\n}}\n")
    assert proc.returncode == 1
    assert f"p.noma:3:{column}: error: {message}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dynamic_reshape_mismatch_is_a_located_runtime_error(tmp_path: Path) -> None:
    source = (
        "fn main() {\n  let n = 0;\n  while n < 3 { n = n + 1; }\n"
        "  let X = rand_tensor(n, 2);\n  return reshape(X, [4, -1]);\n}\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr == (
        "p.noma:5:10: runtime error: cannot reshape 6 elements into a shape of 4 elements\n"
    )


def test_size_is_a_loop_bound_and_a_realloc_size() -> None:
    source = """
fn main(X) {
    let total = 0;
    let i = 0;
    while i < size(X, 0) { total = total + sum(X[i]); i = i + 1; }
    alloc B = [1, 1];
    realloc B = [size(X, 0), size(X, 1)];
    return total + sum(B) + 100 * size(B, -1);
}"""
    X = np.arange(12.0).reshape(4, 3)
    assert noma.compile(source).run(args={"X": X}) == X.sum() + 100 * 3


@settings(max_examples=20, deadline=None)
@given(matrices(), matrices(), st.sampled_from([0, 1, -1]))
def test_concat_agrees_with_numpy(A: np.ndarray, B: np.ndarray, axis: int) -> None:
    """A and B are cut to agree off the axis; the program gets them with
    dynamic shapes, so the result's shape is found when it runs."""
    if axis == 0:
        B = B[:, : A.shape[1]] if B.shape[1] >= A.shape[1] else np.resize(B, (B.shape[0], A.shape[1]))
    else:
        B = B[: A.shape[0]] if B.shape[0] >= A.shape[0] else np.resize(B, (A.shape[0], B.shape[1]))
    compiled = program(f"fn main(A, B) {{ return concat(A, B * 2, A, axis={axis}); }}")
    expected = np.concatenate([A, B * 2, A], axis=axis)
    np.testing.assert_array_equal(compiled.run(args={"A": A, "B": B}), expected)


def test_concat_of_dynamic_extents_that_differ_is_a_runtime_error(tmp_path: Path) -> None:
    source = (
        "fn main() {\n  let n = 0;\n  while n < 3 { n = n + 1; }\n"
        "  let X = rand_tensor(n, 2);\n  return concat([[1, 2]], X, axis=1);\n}\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr == (
        "p.noma:5:10: runtime error: concat of an extent 3 along axis 0 where 1 is needed\n"
    )


@settings(max_examples=20, deadline=None)
@given(matrices(), st.floats(-5, 5, allow_nan=False))
def test_where_and_clip_agree_with_numpy(X: np.ndarray, threshold: float) -> None:
    compiled = program(
        "fn main(X, T) { return where(X > T[0], X * 2, T[0] - X) + clip(X, -1, T[0]); }"
    )
    T = np.array([threshold])
    expected = np.where(X > threshold, X * 2, threshold - X) + np.clip(X, -1, threshold)
    if threshold < -1:  # NumPy's clip gives hi when lo > hi; NOMA's min(max(x, lo), hi) too
        expected = np.where(X > threshold, X * 2, threshold - X) + threshold
    np.testing.assert_allclose(compiled.run(args={"X": X, "T": T}), expected)


def test_where_broadcasts_and_the_side_not_taken_does_not_leak() -> None:
    """A real select: log of a negative number on the side not taken does
    not turn the result into NaN, nor its gradient."""
    source = """
fn main() {
    learn x = [[1.0, -1.0, 4.0]];
    optimize(x) with sgd(1.0, max_iterations=1) until 0 {
        let y = where(x > 0, log(x), [10, 20, 30]);
        let loss = sum(y);
        minimize loss;
    }
    return where(x > 0, log(x), [10, 20, 30]);
}"""
    # The step: x - 1/x where x > 0, unchanged elsewhere: [0, -1, 3.75].
    values = noma.compile(source).run()
    np.testing.assert_allclose(values, [[10.0, 20.0, np.log(3.75)]])


def test_where_on_scalars() -> None:
    assert noma.compile("fn main() { return where(0, 1, 2) + where(3, 10, 20); }").run() == 12.0


def test_out_of_range_column_is_a_runtime_error() -> None:
    compiled = program("fn main(X) { return X[:, 3]; }")
    with pytest.raises(ProgramError):
        compiled.run(args={"X": np.ones((2, 3))})


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        "sum(sin(transpose(p0)) * transpose(p0))",
        "sum(exp(reshape(p0, [-1])) * reshape(p0, [-1]))",
        "sum(where(sin(3 * p1) > 0, p0 * p0, cos(p0)))",
        "sum(clip(p0, -0.7312, 0.6181) * p1)",
        "sum(sin(concat(p0, p1 * p0, axis=1)) * concat(p1, p0, axis=-1))",
        "sum(exp(concat(p1, p0)) * concat(p0, p0))",
        "sum(sin(transpose(reshape(p0, [1, -1, 1]), [1, 2, 0])) * transpose(p1, [1, 0]))",
    ],
)
def test_gradients_match_finite_differences_on_generated_shapes(body: str) -> None:
    from finite_differences import check_gradients_fd

    @settings(max_examples=5, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        shape = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
        size = shape[0] * shape[1]
        args = [
            np.array(
                data.draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=size, max_size=size))
            ).reshape(shape)
            for _ in range(2)
        ]
        # clip has kinks at its bounds: keep the values off them.
        near_bounds = np.isclose(args[0], -0.7312, atol=1e-4) | np.isclose(args[0], 0.6181, atol=1e-4)
        if "clip" in body and np.any(near_bounds):
            return
        if "where" in body and np.any(np.abs(np.sin(3 * args[1])) < 1e-4):
            return
        check_gradients_fd(body, args)

    check()
