"""The random built-ins (LANGUAGE.md section 7): each draws from the
runtime's seeded generator in a documented order, so a program's numbers are
checked exactly against the Python reference of the generator; then the
statistics of large draws, the seed, and the errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from programs import run_cli
from reference_rng import NOMA_DEFAULT_SEED, RefRng

import noma


def run(source: str, seed: int = NOMA_DEFAULT_SEED) -> np.ndarray | float:
    result = noma.compile(source).run(seed=seed)
    assert result is not None
    return result


@pytest.mark.parametrize("seed", [NOMA_DEFAULT_SEED, 0, 7, 2**64 - 1])
def test_scalar_draws_follow_the_generator(seed: int) -> None:
    values = run(
        """
        fn main() {
            let a = rand();
            let b = rand_uniform(2, 5);
            let c = rand_normal(1, 2);
            return tensor [a, b, c];
        }
        """,
        seed,
    )
    ref = RefRng(seed)
    expected = [ref.uniform_range(0.0, 1.0), ref.uniform_range(2.0, 5.0), ref.normal(1.0, 2.0)]
    assert list(values) == expected  # type: ignore[arg-type]


def test_tensor_draws_are_row_major() -> None:
    values = run("fn main() { return rand_tensor(2, 3); }", 11)
    ref = RefRng(11)
    expected = np.array([ref.uniform_range(0.0, 1.0) for _ in range(6)]).reshape(2, 3)
    assert np.array_equal(values, expected)


def test_normal_tensor_with_run_time_dimensions() -> None:
    values = run(
        """
        fn main() {
            let n = 2;
            n = n + 1;
            return rand_normal_tensor(5, 0.5, n, 2);
        }
        """,
        3,
    )
    ref = RefRng(3)
    expected = np.array([ref.normal(5.0, 0.5) for _ in range(6)]).reshape(3, 2)
    assert isinstance(values, np.ndarray) and values.shape == (3, 2)
    assert np.array_equal(values, expected)


def test_xavier_and_he_follow_their_formulas() -> None:
    values = run("fn main() { return xavier_init(2, 3, 2, 3); }", 5)
    ref = RefRng(5)
    a = math.sqrt(6.0 / 5.0)
    expected = np.array([ref.uniform_range(-a, a) for _ in range(6)]).reshape(2, 3)
    assert np.allclose(values, expected, rtol=1e-15, atol=0)

    values = run("fn main() { return he_init(4, 3); }", 5)
    ref = RefRng(5)
    expected = np.array([ref.normal(0.0, math.sqrt(0.5)) for _ in range(3)])
    assert np.allclose(values, expected, rtol=1e-15, atol=0)


def test_statistics_of_large_draws() -> None:
    values = run(
        """
        fn main() {
            let u = rand_tensor(100000);
            let v = rand_uniform_stats();
            return tensor [mean(u), mean((u - 0.5) ** 2),
                           mean(rand_normal_tensor(3, 2, 100000)),
                           mean((rand_normal_tensor(3, 2, 100000) - 3) ** 2),
                           mean(xavier_init(10, 20, 100000) ** 2),
                           mean(he_init(8, 100000) ** 2), v];
        }
        fn rand_uniform_stats() {
            return mean(tensor [rand_uniform(-1, 1), rand_uniform(-1, 1)]) * 0;
        }
        """
    )
    u_mean, u_var, n_mean, n_var, xavier_var, he_var, _ = values  # type: ignore[misc]
    # 100,000 draws: a standard error of about 0.3% of each moment; allow 5 of them.
    assert abs(u_mean - 0.5) < 5 * math.sqrt(1 / 12 / 1e5)
    assert abs(u_var - 1 / 12) < 0.02 * (1 / 12)
    assert abs(n_mean - 3) < 5 * 2 / math.sqrt(1e5)
    assert abs(n_var - 4) < 0.03 * 4
    assert abs(xavier_var - 6 / 30 / 3) < 0.03 * (6 / 30 / 3)  # U(-a, a): a^2 / 3
    assert abs(he_var - 2 / 8) < 0.03 * (2 / 8)


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path: Path) -> None:
    source = "fn main() { return rand_tensor(4); }"
    first = run_cli(tmp_path, source, "--seed", "9")
    again = run_cli(tmp_path, source, "--seed", "9")
    other = run_cli(tmp_path, source, "--seed", "10")
    assert first.returncode == again.returncode == other.returncode == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout
    ref = RefRng(9)
    assert first.stdout == repr([ref.uniform_range(0.0, 1.0) for _ in range(4)]) + "\n"


def test_draws_do_not_carry_gradient() -> None:
    """A random tensor is a constant for autodiff: the gradient of
    sum(w * noise) with respect to w is the noise itself, so one SGD step
    of rate 1 from zero gives -noise."""
    result = run(
        """
        fn main() {
            learn w = tensor [0.0, 0.0, 0.0];
            optimize(w) with sgd(lr=1, max_iterations=1) until 0 {
                let noise = rand_tensor(3);
                minimize sum(w * noise);
            }
            return w;
        }
        """
    )
    ref = RefRng(NOMA_DEFAULT_SEED)
    noise = [ref.uniform_range(0.0, 1.0) for _ in range(3)]
    assert list(result) == [-x for x in noise]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "fn main() { return rand_tensor(0, 2); }",
            "p.noma:1:32: error: a dimension must be at least 1, got 0",
        ),
        ("fn main() { return rand(1); }", "'rand' takes 0 arguments"),
        (
            "fn main() { return rand_normal(tensor [1.0], 1); }",
            "an argument of 'rand_normal' must be a scalar",
        ),
        (
            "fn main() { let n = 0.5; while n < 0.7 { n = n + 0.1; } return rand_tensor(n); }",
            "runtime error: a dimension must be at least 1, got 0.7",
        ),
    ],
)
def test_errors_are_located(tmp_path: Path, source: str, message: str) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
