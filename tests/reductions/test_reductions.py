"""Values of the built-ins along an axis, the softmax family, argmax/argmin
and one_hot against NumPy (static shapes from literals, dynamic ones from
main's arguments), and their compile-time and run-time errors."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from in_process import noma_in_process

import noma
from noma.compiler import Program
from noma.diagnostics import NomaError


def _logsumexp(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    return x - _logsumexp(x, axis, keepdims=True)


REFERENCE = {
    "sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "mean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "min": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "logsumexp": _logsumexp,
    "argmax": lambda x, a, k: np.argmax(x, axis=a, keepdims=k).astype(float),
    "argmin": lambda x, a, k: np.argmin(x, axis=a, keepdims=k).astype(float),
    "softmax": lambda x, a, k: _softmax(x, a),
    "log_softmax": lambda x, a, k: _log_softmax(x, a),
}


@cache
def program(name: str, axis: int, keepdims: bool) -> noma.Program:
    """`main(X)` giving `name(X * 1, axis=...)`: X of a dynamic shape, and a
    fused elementwise producer."""
    keep = ", keepdims=1" if keepdims else ""
    if name in ("softmax", "log_softmax"):
        keep = ""
    return noma.compile(f"fn main(X) {{ return {name}(X * 1, axis={axis}{keep}); }}")


CASES = [
    (name, shape, axis, keepdims)
    for name in REFERENCE
    for shape, axis, keepdims in [((3, 4), 1, False), ((3, 4), 0, True), ((2, 3, 4), -2, False)]
]


@pytest.mark.parametrize(("name", "shape", "axis", "keepdims"), CASES)
def test_agrees_with_numpy(name: str, shape: tuple[int, ...], axis: int, keepdims: bool) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape) * 3
    x.flat[1] = x.flat[0]  # a tie: argmax and argmin keep the first
    got = program(name, axis, keepdims).run(args={"X": x})
    expected = REFERENCE[name](x, axis, keepdims and name not in ("softmax", "log_softmax"))
    assert np.shape(got) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@st.composite
def shaped_values(draw: st.DrawFn) -> tuple[np.ndarray, int, bool]:
    shape = draw(st.lists(st.integers(1, 5), min_size=2, max_size=3).map(tuple))
    scale = draw(st.sampled_from([1.0, 1e3]))  # large logits too
    values = st.floats(-scale, scale, allow_nan=False, allow_infinity=False)
    x = np.array(draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    return x.reshape(shape), draw(st.sampled_from([0, 1, -1])), draw(st.booleans())


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_agrees_with_numpy_on_drawn_shapes(name: str) -> None:
    """One compiled program per axis and keepdims (main's argument has a
    dynamic shape); hypothesis draws the shapes and values."""

    @settings(max_examples=12, deadline=None)
    @given(shaped_values())
    def check(case: tuple[np.ndarray, int, bool]) -> None:
        x, axis, keepdims = case
        got = program(name, axis, keepdims).run(args={"X": x})
        expected = REFERENCE[name](x, axis, keepdims and name not in ("softmax", "log_softmax"))
        assert np.shape(got) == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)

    check()


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_large_logits_stay_finite(name: str) -> None:
    x = np.array([[1000.0, 0.0, -5.0], [-1000.0, 710.0, 709.0]])
    got = program(name, 1, False).run(args={"X": x})
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, REFERENCE[name](x, 1, False), rtol=1e-12, atol=1e-300)


def test_log_softmax_of_the_issues_example() -> None:
    got = noma.compile("fn main() { return log_softmax(tensor [[1000.0, 0.0]], axis=1); }").run()
    assert got.tolist() == [[0.0, -1000.0]]


def test_static_shapes_and_one_dimensional_reductions() -> None:
    source = """fn main() {
    let x = tensor [[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]];
    let r = sum(x, axis=0) + mean(x, axis=0, keepdims=1) + max(x, axis=-1, keepdims=1);
    return r + max(sum(x, axis=0), axis=0) + argmin(tensor [3.0, 1.0, 1.0]);
}"""
    x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    expected = x.sum(0) + x.mean(0, keepdims=True) + x.max(-1, keepdims=True) + 9.0 + 1.0
    got = noma.compile(source).run()
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, expected)


def test_two_argument_max_and_min_stay_elementwise() -> None:
    got = noma.compile(
        "fn main() { return max(tensor [1.0, 5.0], 3) + min(tensor [1.0, 5.0], 3); }"
    )
    assert got.run().tolist() == [4.0, 8.0]


def test_one_hot() -> None:
    got = noma.compile("fn main(Y) { return one_hot(Y, 4); }").run(
        args={"Y": np.array([2.0, 0.0, 3.0])}
    )
    assert got.tolist() == np.eye(4)[[2, 0, 3]].tolist()
    static = noma.compile("fn main() { let k = 3; return one_hot(tensor [1.0, 1.0], k); }").run()
    assert static.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    # The class count computed at run time (a dynamic second dimension).
    counted = noma.compile("fn main(Y) { return one_hot(Y, sum(Y) - 1); }")
    assert (
        counted.run(args={"Y": np.array([1.0, 1.0, 2.0])}).tolist() == np.eye(3)[[1, 1, 2]].tolist()
    )


def test_one_dimensional_inputs_need_no_axis() -> None:
    source = "fn main(Y) { return max(Y) + argmax(Y) + sum(softmax(Y)) + sum(Y, axis=0); }"
    y = np.array([1.0, 4.0, 4.0, -2.0])
    assert noma.compile(source).run(args={"Y": y}) == pytest.approx(4.0 + 1.0 + 1.0 + 7.0)


@pytest.mark.parametrize("label", [4.0, -1.0, 1.5])
def test_one_hot_label_out_of_range_is_a_located_runtime_error(
    tmp_path: Path, label: float
) -> None:
    path = tmp_path / "oh.noma"
    path.write_text(f"fn main() {{\n    print(one_hot(tensor [0.0, {label}], 4));\n}}\n")
    run = noma_in_process("run", str(path))
    assert run.returncode == 1
    assert f"oh.noma:2:11: runtime error: one_hot label {label:g}" in run.stderr
    assert "Traceback" not in run.stderr


COMPILE_ERRORS = [
    # (call, the text the error points at, message)
    ("sum(x, axis=2)", "2)", "axis 2 is out of range for a [2, 2] tensor (rank 2)"),
    ("softmax(x, axis=-3)", "-3", "axis -3 is out of range"),
    ("max(x)", "max", "'max' of a [2, 2] tensor needs an axis"),
    ("sum(x, axis=0.5)", "0.5", "an axis must be a whole-number constant"),
    ("sum(x, keepdims=2, axis=0)", "2,", "keepdims must be 0 or 1"),
    ("sum(x, axes=1)", "1)", "unknown keyword argument 'axes='"),
    ("max(x, x, axis=1)", "1)", "'max' of 2 arguments takes no 'axis='"),
    ("argmax(1, axis=0)", "1,", "'argmax' needs a tensor, got a scalar"),
    ("one_hot(x, 3)", "x,", "one_hot needs a 1-D tensor of labels"),
    ("one_hot(tensor [1.0], 0)", "0)", "whole number of classes of at least 1"),
]


@pytest.mark.parametrize(("call", "anchor", "message"), COMPILE_ERRORS)
def test_bad_calls_are_located_compile_errors(call: str, anchor: str, message: str) -> None:
    source = f"fn main() {{ let x = [[1, 2], [3, 4]]; return {call}; }}"
    column = source.index(call) + call.index(anchor) + 1
    with pytest.raises(NomaError) as caught:
        Program(source, "bad.noma").ir("noma")
    text = str(caught.value)
    assert text.startswith(f"bad.noma:1:{column}: error: "), text
    assert message in text


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1])
def test_fused_producer_gives_the_bits_of_a_stored_one(name: str, axis: int) -> None:
    """The softmax family computes a fused elementwise producer once per
    element and reads it back: bit for bit what it gives on the producer
    stored (here kept by a second use), on both axes (a scratch line of
    stride 1 or the output line)."""
    fused = noma.compile(f"fn main(X, b) {{ return {name}(X * 3 + b, axis={axis}); }}")
    stored = noma.compile(
        f"fn main(X, b) {{ let y = X * 3 + b; return {name}(y, axis={axis}) + 0 * sum(y); }}"
    )
    rng = np.random.default_rng(7)
    args = {"X": rng.normal(size=(5, 7)) * 4, "b": rng.normal(size=7)}
    np.testing.assert_array_equal(fused.run(args=args), stored.run(args=args))
    expected = {"logsumexp": _logsumexp, "softmax": _softmax, "log_softmax": _log_softmax}[name]
    np.testing.assert_allclose(
        fused.run(args=args), expected(args["X"] * 3 + args["b"], axis), rtol=1e-12
    )
