"""Slicing `X[a:b]`, `X[:, j]`, `X[a:b, c:d]`: agreement with NumPy on
hypothesis-generated shapes and bounds (negative ones counting from the
end), located run-time errors out of range, compile errors for static
bounds, and gradients that scatter into zeros (checked against central
finite differences)."""

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

SLICES = {
    "rows": ("X[B[0]:B[1]]", lambda X, a, b, c, d: X[a:b]),
    "from": ("X[B[0]:]", lambda X, a, b, c, d: X[a:]),
    "to": ("X[:B[1]]", lambda X, a, b, c, d: X[:b]),
    "column": ("X[:, B[2]]", lambda X, a, b, c, d: X[:, c]),
    "block": ("X[B[0]:B[1], B[2]:B[3]]", lambda X, a, b, c, d: X[a:b, c:d]),
    "row_range": ("X[B[0], B[2]:B[3]]", lambda X, a, b, c, d: X[a, c:d]),
    "element": ("X[B[1], B[3]]", lambda X, a, b, c, d: X[b, d]),
}
"""Case -> (NOMA expression of X and the bounds B = [a, b, c, d], NumPy)."""


@cache
def program(expression: str) -> noma.Program:
    return noma.compile(f"fn main(X, B) {{ return {expression}; }}")


def _normalised(i: int, n: int) -> int:
    return i + n if i < 0 else i


def _valid(name: str, shape: tuple[int, int], bounds: tuple[int, int, int, int]) -> bool:
    """NOMA's rule: a slice's normalised bounds satisfy 0 <= a <= b <= n
    (no clamping, unlike NumPy; an empty slice of run-time bounds is
    allowed); an index lies in [-n, n)."""
    (rows, cols), (a, b, c, d) = shape, bounds
    a, b, c, d = (_normalised(a, rows), _normalised(b, rows), _normalised(c, cols), _normalised(d, cols))
    row_slice = 0 <= a <= b <= rows
    col_slice = 0 <= c <= d <= cols
    match name:
        case "rows":
            return row_slice
        case "from":
            return 0 <= a <= rows
        case "to":
            return 0 <= b <= rows
        case "column":
            return 0 <= c < cols
        case "block":
            return row_slice and col_slice
        case "row_range":
            return 0 <= a < rows and col_slice
        case _:
            return 0 <= b < rows and 0 <= d < cols


@pytest.mark.parametrize("name", sorted(SLICES))
def test_slices_agree_with_numpy(name: str) -> None:
    expression, reference = SLICES[name]
    compiled = program(expression)

    @settings(max_examples=25, deadline=None)
    @given(
        st.tuples(st.integers(1, 5), st.integers(1, 5)),
        st.tuples(*[st.integers(-6, 6)] * 4),
    )
    def check(shape: tuple[int, int], bounds: tuple[int, int, int, int]) -> None:
        X = np.arange(float(shape[0] * shape[1])).reshape(shape) + 1
        args = {"X": X, "B": np.array(bounds, dtype=float)}
        if not _valid(name, shape, bounds):
            with pytest.raises(ProgramError):
                compiled.run(args=args)
            return
        result = compiled.run(args=args)
        np.testing.assert_array_equal(result, reference(X, *bounds))

    check()


def test_out_of_range_slice_is_a_located_runtime_error(tmp_path: Path) -> None:
    source = (
        "fn main() {\n  let X = [[1, 2], [3, 4], [5, 6]];\n  let k = 0;\n"
        "  while k < 4 { k = k + 1; }\n  return X[1:k];\n}\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr.startswith("p.noma:5:11: runtime error: a block of rows ending at row 3 ")
    assert "Traceback" not in proc.stderr


def test_negative_start_out_of_range_is_a_runtime_error(tmp_path: Path) -> None:
    source = (
        "fn main() {\n  let X = [[1, 2], [3, 4]];\n  let k = 0;\n"
        "  while k < 5 { k = k + 1; }\n  return X[-k:];\n}\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr.startswith("p.noma:5:11: runtime error: a block of rows cannot start at row -3")


@pytest.mark.parametrize(
    ("expression", "column", "message"),
    [
        ("X[0:5]", 12, "the slice [0:5] is empty or out of bounds for an axis of length 2"),
        ("X[1:1]", 12, "the slice [1:1] is empty or out of bounds"),
        ("X[-3:]", 12, "the slice [-1:2] is empty or out of bounds"),
        ("X[:, 2:0]", 15, "the slice [2:0] is empty or out of bounds"),
        ("X[0, 0, 0]", 18, "3 subscripts for a rank-2 tensor"),
        ("X[[0, 1]:]", 12, "a slice bound must be a scalar"),
    ],
)
def test_static_slice_errors_are_compile_errors(
    tmp_path: Path, expression: str, column: int, message: str
) -> None:
    proc = run_cli(tmp_path, f"fn main() {{\n  let X = [[1, 2], [3, 4]];\n  return {expression};\n}}\n")
    assert proc.returncode == 1
    assert f"p.noma:3:{column}: error: {message}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_row_indexing_still_works() -> None:
    result = noma.compile("fn main() { let m = [[1, 2], [3, 4]]; return m[1][0] + m[-1][1]; }").run()
    assert result == 7.0


def test_slice_of_a_slice_and_static_shapes() -> None:
    """Constant bounds of a static tensor give a static shape."""
    program = noma.compile("fn main() { let X = [[1, 2, 3], [4, 5, 6]]; return X[:, 1:][1:, :1]; }")
    assert "tensor<1x1xf64>" in str(program.ir("noma"))
    np.testing.assert_array_equal(program.run(), [[5.0]])


def test_slice_gradient_scatters_into_zeros() -> None:
    """One SGD step of rate 1 on sum(X[1:3, 1]) lowers exactly those elements by 1."""
    source = """
fn main(X0) {
    learn X = X0;
    optimize(X) with sgd(1.0, max_iterations=1) until 0 {
        let loss = sum(X[1:3, 1]);
        minimize loss;
    }
    return X;
}"""
    X0 = np.arange(12.0).reshape(4, 3)
    expected = X0.copy()
    expected[1:3, 1] -= 1
    np.testing.assert_array_equal(noma.compile(source).run(args={"X0": X0}), expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    ["sum(sin(p0[B0:B1]) * p0[B0:B1])", "sum(exp(p0[B0:B1, B2:B3]))", "sum(p0[:, B2] * sin(p0[:, B2]))"],
)
def test_slice_gradients_match_finite_differences_on_generated_shapes(body: str) -> None:
    from finite_differences import check_gradients_fd

    @settings(max_examples=6, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
        a = data.draw(st.integers(-rows, rows - 1))
        b = data.draw(st.integers(_normalised(a, rows) + 1, rows))
        c = data.draw(st.integers(-cols, cols - 1))
        d = data.draw(st.integers(_normalised(c, cols) + 1, cols))
        text = body.replace("B0", str(a)).replace("B1", str(b))
        text = text.replace("B2", str(c)).replace("B3", str(d))
        values = data.draw(
            st.lists(st.floats(-2, 2, allow_nan=False), min_size=rows * cols, max_size=rows * cols)
        )
        check_gradients_fd(text, [np.array(values).reshape(rows, cols)])

    check()
