"""`noma-vectorize-reductions`: reductions in 8 fixed lanes, same bits
everywhere.

The compiled reductions are compared bit for bit with a NumPy model of the
pass's order (`lane_fold`): lane l folds the elements k = l (mod 8) of the
whole groups of 8, lane 0 from the initial value and the others from the
identity; the lanes are combined by halving (l with l + 4, then l + 2, then
l + 1); the remainder is folded in order. max and min do not depend on the
order at all and must equal NumPy's exactly. A program run twice in the JIT
and twice as an executable prints the same bytes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import noma
from noma.executable import build_executable
from noma.passes.vectorize_reductions import LANES

Fold = Callable[[np.ndarray, np.ndarray], np.ndarray]


def lane_fold(x: np.ndarray, init: float, identity: float, fold: Fold, lanes: int = LANES) -> float:
    """The pass's order: lanes over the whole groups, halving tree, then the
    remainder in order."""
    whole = len(x) - len(x) % lanes
    acc = np.full(lanes, identity)
    acc[0] = init
    for row in x[:whole].reshape(-1, lanes):
        acc = fold(acc, row)
    while len(acc) > 1:
        half = len(acc) // 2
        acc = np.concatenate([fold(acc[:half], acc[half : 2 * half]), acc[2 * half :]])
    total = acc[0]
    for value in x[whole:]:
        total = fold(np.float64(total), value)
    return float(total)


def lane_sum(x: np.ndarray, init: float = 0.0) -> float:
    return lane_fold(x, init, -0.0, np.add)


def sequential_sum(x: np.ndarray) -> float:
    total = np.float64(0.0)
    for value in x:
        total = total + value
    return float(total)


def same_bits(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes()


@pytest.fixture(scope="module")
def programs() -> dict[str, noma.Program]:
    sources = {
        "sum": "fn main(X) { return sum(X); }",
        "mean": "fn main(X) { return mean(X); }",
        "dot": "fn main(X) { return dot(X, X * 0.5); }",
        "max": "fn main(X) { return max(X, axis=0); }",
        "min": "fn main(X) { return min(X, axis=0); }",
        "rows": "fn main(M) { return sum(M, axis=1); }",
        "whole": "fn main(M) { return sum(M); }",
    }
    return {name: noma.compile(source) for name, source in sources.items()}


# Values of very different magnitudes, so that the order of additions shows
# in the last bits (and often beyond).
FINITE = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False, allow_subnormal=True)
VECTORS = arrays(np.float64, st.integers(0, 70), elements=FINITE)


@settings(max_examples=60, deadline=None)
@given(VECTORS)
def test_sum_mean_and_dot_follow_the_lane_order(
    programs: dict[str, noma.Program], x: np.ndarray
) -> None:
    assert same_bits(programs["sum"].run(args={"X": x}), lane_sum(x))
    if len(x):
        mean = np.float64(lane_sum(x)) / np.float64(len(x))
        assert same_bits(programs["mean"].run(args={"X": x}), float(mean))
    assert same_bits(programs["dot"].run(args={"X": x}), lane_sum(x * (x * 0.5)))


SPECIAL = st.one_of(FINITE, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324]))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 70), elements=SPECIAL))
def test_max_and_min_equal_numpy_exactly(programs: dict[str, noma.Program], x: np.ndarray) -> None:
    for name, reference in (("max", np.max(x)), ("min", np.min(x))):
        got = programs[name].run(args={"X": x})
        if np.isnan(reference):
            assert np.isnan(got)
        else:
            assert got == reference  # -0.0 == 0.0: NumPy keeps either zero


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda rows: arrays(
            np.float64, st.tuples(st.just(rows), st.integers(0, 21)), elements=FINITE
        )
    )
)
def test_axis_and_nested_sums_follow_the_lane_order(
    programs: dict[str, noma.Program], m: np.ndarray
) -> None:
    """Each line of an axis sum is one lane fold; a sum over a dynamic 2-D
    shape folds each row in lanes starting from the running total."""
    rows = programs["rows"].run(args={"M": m})
    assert [np.float64(v).tobytes() for v in rows] == [
        np.float64(lane_sum(line)).tobytes() for line in m
    ]
    total = 0.0
    for line in m:
        total = lane_sum(line, init=total)
    assert same_bits(programs["whole"].run(args={"M": m}), total)


def test_the_order_is_not_the_sequential_one(programs: dict[str, noma.Program]) -> None:
    """Lane 0 holds 1e16 and absorbs nothing; the ones in the other lanes
    add up before they meet it: in order, each 1.0 would be lost."""
    x = np.array([1e16] + [1.0] * 15)
    assert lane_sum(x) == 1e16 + 14 and sequential_sum(x) == 1e16
    assert same_bits(programs["sum"].run(args={"X": x}), lane_sum(x))


DRAWN = """\
fn main() {
    let X = rand_normal_tensor(0, 1000, 1003);
    print(sum(X));
    print(mean(X * X));
    print(max(X, axis=0));
    return X;
}
"""


def test_same_bits_in_the_jit_and_in_executables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = noma.compile(DRAWN)
    runs = []
    for _ in range(2):
        x = program.run()
        runs.append(capsys.readouterr().out)
    printed = runs[0].splitlines()
    assert float(printed[0]) == lane_sum(x)
    assert float(printed[1]) == float(np.float64(lane_sum(x * x)) / 1003)
    assert float(printed[2]) == np.max(x)
    exe = build_executable(program, tmp_path / "drawn")
    for _ in range(2):
        out = subprocess.run([str(exe)], capture_output=True, text=True, check=True, env={}).stdout
        # The executable prints main's result too (X); the three reductions
        # come first, as in the JIT.
        assert out.splitlines()[:3] == printed[:3]
    assert runs[0] == runs[1]
