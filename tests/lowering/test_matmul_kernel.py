"""`noma-lower-matmul` computes what the naive loop computes, bit for bit:
each C[i, j] summed over k in order from 0.0, products rounded before the
add. The reference is NumPy summing in that order (`C += A[:, k:k+1] *
B[k]`, one k at a time), not `A @ B`, whose BLAS sums in another order.

One compiled program per operand layout (plain, A transposed, B
transposed, both) takes its shapes at run time, so every shape goes
through the same code: 1x1, primes, sizes around the register block
(4x32 on AVX-512, 4x8 on AVX2, 4x4 otherwise), the row tile and the
k block (tile-m=192, tile-k=128); and static shapes, small ones taking
the scalar loops emitted in place."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import noma

SOURCES = {
    "plain": "fn main(A, B) { return matmul(A, B); }",
    "transpose_a": "fn main(A, B) { return matmul(transpose(A), B); }",
    "transpose_b": "fn main(A, B) { return matmul(A, transpose(B)); }",
    "both": "fn main(A, B) { return matmul(transpose(A), transpose(B)); }",
}


@cache
def program(layout: str) -> noma.Program:
    return noma.compile(SOURCES[layout])


def k_ordered(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A . B with each element's sum taken over k in order, from 0.0."""
    c = np.zeros((a.shape[0], b.shape[1]))
    for k in range(a.shape[1]):
        c += a[:, k : k + 1] * b[k]
    return c


def run(layout: str, m: int, k: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    stored_a = a.T.copy() if layout in ("transpose_a", "both") else a
    stored_b = b.T.copy() if layout in ("transpose_b", "both") else b
    result = program(layout).run(args={"A": stored_a, "B": stored_b})
    return np.asarray(result), k_ordered(a, b)


EDGE_SHAPES = [
    (1, 1, 1),
    (7, 13, 5),
    (2, 3, 17),
    (5, 7, 16),
    (6, 1, 16),
    (13, 11, 31),
    (12, 256, 32),
    (11, 257, 33),
    (193, 5, 17),
    (191, 511, 48),
    (197, 3, 64),
    (1, 300, 8),
    (5, 127, 31),
    (4, 128, 32),
    (9, 129, 65),
    (3, 255, 95),
    (64, 64, 64),
    (1797, 129, 10),  # an MLP's output layer: N < NR, every column in edge kernels
    (35, 130, 3),
]


@pytest.mark.parametrize("layout", SOURCES)
@pytest.mark.parametrize(("m", "k", "n"), EDGE_SHAPES)
def test_edges_of_the_blocks_match_the_k_ordered_sum_exactly(
    layout: str, m: int, k: int, n: int
) -> None:
    got, expected = run(layout, m, k, n, seed=m * 10007 + k * 101 + n)
    assert got.shape == (m, n)
    assert np.array_equal(got, expected), np.max(np.abs(got - expected))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.sampled_from(list(SOURCES)),
    m=st.integers(1, 40),
    k=st.integers(1, 300),
    n=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes_match_the_k_ordered_sum_exactly(
    layout: str, m: int, k: int, n: int, seed: int
) -> None:
    got, expected = run(layout, m, k, n, seed)
    assert np.array_equal(got, expected)


def test_the_naive_order_would_differ() -> None:
    """The reference is strict enough to tell sum orders apart: BLAS's A @ B
    differs from it in the last bits on these sizes (so a kernel summing in
    another order would fail the tests above)."""
    got, expected = run("plain", 33, 200, 40, seed=1)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(33, 200)), rng.normal(size=(200, 40))
    assert np.array_equal(got, expected)
    assert not np.array_equal(a @ b, expected)


@pytest.mark.parametrize(("m", "k", "n"), [(23, 41, 37), (5, 3, 20)])
def test_static_shapes_from_arg_files(tmp_path: Path, m: int, k: int, n: int) -> None:
    """Shapes known at compile time (from `--arg` files): the tiled loops
    (23x41x37), or, below `inline-below`, scalar loops in place (5x3x20)."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    files = {}
    for name, value in (("A", a), ("B", b)):
        files[name] = tmp_path / f"{name}.csv"
        np.savetxt(files[name], value, delimiter=",", fmt="%.17g")
    compiled = noma.compile(SOURCES["plain"], arg_files={k: str(v) for k, v in files.items()})
    got = np.asarray(compiled.run(args={k: str(v) for k, v in files.items()}))
    assert np.array_equal(got, k_ordered(a, b))
