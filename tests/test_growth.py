"""Growth end to end (LANGUAGE.md section 6): `alloc`, `realloc` and `free`
of buffers and learnable parameters, index-preserving resizing along any
axis, the init policies, growth deferred to the end of a training iteration,
dynamic shapes with their run-time checks, and uses after `free`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from programs import peak_rss_kib, run_cli

import noma
from noma.compiler import ProgramError
from noma.frontend.diagnostics import NomaError


def literal(a: np.ndarray) -> str:
    return "tensor " + np.array2string(a, separator=", ", threshold=10**6).replace("\n", "")


def resized(old: np.ndarray, shape: tuple[int, ...], fill: np.ndarray) -> np.ndarray:
    """The index-preserving resize: `fill` with the block both shapes share
    taken from `old`."""
    new = fill.astype(np.float64).copy()
    block = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, shape, strict=True))
    new[block] = old[block]
    return new


# -- index-preserving resizing ----------------------------------------------------


@pytest.mark.parametrize(
    ("old_shape", "new_shape"),
    [
        ((3,), (7,)),
        ((5,), (2,)),
        ((2, 2), (2, 16)),  # along the last axis: the flat prefix would scramble it
        ((2, 3), (5, 3)),
        ((4, 4), (2, 6)),
        ((3, 2), (1, 1)),
        ((2, 3, 2), (3, 2, 4)),
    ],
)
def test_realloc_keeps_every_element_at_its_index(
    old_shape: tuple[int, ...], new_shape: tuple[int, ...]
) -> None:
    old = np.arange(1, np.prod(old_shape) + 1, dtype=np.float64).reshape(old_shape)
    dims = ", ".join(map(str, new_shape))
    source = f"fn main() {{ learn W = {literal(old)}; realloc W = [{dims}] init zeros; return W; }}"
    result = noma.compile(source).run()
    np.testing.assert_array_equal(result, resized(old, new_shape, np.zeros(new_shape)))


def test_init_tensor_gives_the_new_elements_only() -> None:
    init = np.arange(100, 112, dtype=np.float64).reshape(3, 4)
    source = (
        "fn main() { learn W = tensor [[1, 2], [3, 4]]; "
        f"realloc W = [3, 4] init {literal(init)}; return W; }}"
    )
    result = noma.compile(source).run()
    np.testing.assert_array_equal(result, resized(np.array([[1.0, 2], [3, 4]]), (3, 4), init))


def test_a_buffer_grows_with_zeros_and_keeps_its_values() -> None:
    source = """
fn main() {
    alloc B = [2];
    B = B + tensor [1.5, 2.5];
    realloc B = [4];
    return B;
}
"""
    np.testing.assert_array_equal(noma.compile(source).run(), [1.5, 2.5, 0.0, 0.0])


def test_growth_in_a_while_loop_makes_the_shape_dynamic() -> None:
    source = """
fn main() {
    alloc B = [1];
    let n = 1;
    while n < 5 {
        n = n + 1;
        realloc B = [n];
        B = B + 1;
    }
    return B;
}
"""
    np.testing.assert_array_equal(noma.compile(source).run(), [4.0, 4.0, 3.0, 2.0, 1.0])


# -- init policies and the seeded generator ------------------------------------------


@pytest.mark.parametrize(
    ("policy", "mean", "std", "bounds"),
    [
        ("", 0.0, 0.3, None),  # the default: normal(0, 0.3)
        ("init normal(1.5, 2)", 1.5, 2.0, None),
        ("init uniform(-1, 3)", 1.0, 4.0 / np.sqrt(12.0), (-1.0, 3.0)),
    ],
)
def test_random_init_policies_have_their_distribution(
    policy: str, mean: float, std: float, bounds: tuple[float, float] | None
) -> None:
    n = 40001
    source = f"fn main() {{ learn W = tensor [7.0]; realloc W = [{n}] {policy}; return W; }}"
    result = noma.compile(source).run()
    assert isinstance(result, np.ndarray) and result.shape == (n,)
    assert result[0] == 7.0
    new = result[1:]
    tolerance = 4 * std / np.sqrt(len(new))
    assert abs(new.mean() - mean) < tolerance
    assert abs(new.std() - std) < 0.02 * std
    if bounds is not None:
        assert bounds[0] <= new.min() and new.max() <= bounds[1]


GROW_BY_DEFAULT = "fn main() { learn W = tensor [1.0]; realloc W = [6]; return W; }"


def test_the_default_seed_makes_runs_reproducible_and_seed_changes_them() -> None:
    program = noma.compile(GROW_BY_DEFAULT)
    first, again = program.run(), program.run()
    np.testing.assert_array_equal(first, again)
    other = program.run(seed=7)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(other, program.run(seed=7))


@pytest.mark.slow
def test_seed_flag_of_noma_run(tmp_path: Path) -> None:
    outputs = [run_cli(tmp_path, GROW_BY_DEFAULT, *args).stdout for args in ((), ("--seed", "7"))]
    assert outputs[0] != outputs[1]
    assert run_cli(tmp_path, GROW_BY_DEFAULT, "--seed", "7").stdout == outputs[1]


def test_realloc_to_the_current_shape_is_a_no_op_that_draws_nothing() -> None:
    plain = "fn main() { learn W = tensor [1.0, 2.0]; realloc W = [5]; return W; }"
    with_no_op = (
        "fn main() { learn W = tensor [1.0, 2.0]; realloc W = [2]; realloc W = [2.9]; "
        "realloc W = [5]; return W; }"
    )
    np.testing.assert_array_equal(noma.compile(plain).run(), noma.compile(with_no_op).run())


# -- alloc and free ---------------------------------------------------------------------


def test_alloc_is_zero_filled_with_run_time_dimensions_truncated() -> None:
    source = "fn main() { let n = sum(tensor [1.5, 1.7]); alloc B = [n, 2.9]; return B; }"
    np.testing.assert_array_equal(noma.compile(source).run(), np.zeros((3, 2)))


def test_alloc_in_a_loop_starts_again_from_zeros() -> None:
    source = """
fn main() {
    let total = 0;
    let i = 0;
    while i < 1000 {
        alloc B = [100];
        B = B + i;
        total = total + sum(B);
        i = i + 1;
    }
    return total;
}
"""
    assert noma.compile(source).run() == 100 * sum(range(1000))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "fn main() {\n  alloc B = [2];\n  free B;\n  return sum(B);\n}\n",
            "p.noma:4:14: error: 'B' is used after `free` (freed at 3:3)",
        ),
        (
            "fn main() {\n  alloc B = [2];\n  free B;\n  free B;\n}\n",
            "p.noma:4:3: error: 'B' is used after `free` (freed at 3:3)",
        ),
        (
            "fn main() {\n  alloc B = [0, 2];\n}\n",
            "p.noma:2:14: error: a dimension must be at least 1, got 0",
        ),
        (
            "fn main() {\n  learn w = 1;\n  realloc w = [2];\n}\n",
            "p.noma:2:3: error: 'w' is a scalar, which `realloc` cannot resize",
        ),
        (
            "fn main() {\n  learn W = tensor [[1, 2]];\n  realloc W = [3];\n}\n",
            "p.noma:3:3: error: 'W' has rank 2; `realloc` keeps the rank, so it needs 2 "
            "dimensions, got 1",
        ),
        (
            "fn main() {\n  let x = tensor [1, 2];\n  realloc x = [3];\n}\n",
            "p.noma:3:3: error: 'x' is not a buffer or learnable parameter",
        ),
        (
            "fn main() {\n  alloc B = [2];\n  realloc B = [3] init zeros;\n}\n",
            "p.noma:3:19: error: a buffer's new elements are zero; `init` is for learnable "
            "parameters",
        ),
        (
            "fn main() {\n  learn W = tensor [1, 2];\n  free W;\n}\n",
            "p.noma:3:3: error: 'W' is a learnable parameter; only buffers made by `alloc` "
            "are freed",
        ),
        (
            "fn main() {\n  learn W = tensor [1, 2];\n  realloc W = [3] init tensor [1, 2];\n}\n",
            "p.noma:3:24: error: the init tensor must have the new shape of 'W', a [3] "
            "tensor; got a [2] tensor",
        ),
        (
            "fn main() {\n  learn W1 = tensor [[1, 2], [3, 4]];\n  learn W2 = tensor [[1], [2]];\n"
            "  realloc W1 = [2, 3];\n  return matmul(W1, W2);\n}\n",
            "p.noma:5:10: error: matmul of [2, 3] by [2, 1]: the inner dimensions 3 and 2 differ",
        ),
    ],
)
def test_growth_errors_known_when_compiling_are_located(
    tmp_path: Path, source: str, message: str
) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # Freed on one path only: checked when used.
        (
            "fn main() {\n  alloc B = [2];\n  let c = sum(tensor [1.0]);\n"
            "  if c > 0 { free B; }\n  return sum(B);\n}\n",
            "p.noma:5:14: runtime error: 'B' is used after `free`",
        ),
        # Freed by an earlier iteration of a loop.
        (
            "fn main() {\n  alloc B = [2];\n  let i = 0;\n  while i < 3 {\n    free B;\n"
            "    i = i + 1;\n  }\n}\n",
            "p.noma:5:5: runtime error: 'B' is used after `free`",
        ),
        (
            "fn main() {\n  let n = sum(tensor [0.5]);\n  alloc B = [n];\n}\n",
            "p.noma:3:3: runtime error: a dimension must be at least 1, got 0.5",
        ),
        # After a growth of run-time size, shapes are checked when the code runs.
        (
            "fn main() {\n  learn W1 = tensor [[1, 2], [3, 4]];\n  learn W2 = tensor [[1], [2]];\n"
            "  let n = sum(tensor [3.0]);\n  realloc W1 = [2, n];\n  return matmul(W1, W2);\n}\n",
            "p.noma:6:10: runtime error: matmul of [2, 3] by [2, 1]: the inner dimensions differ",
        ),
        (
            "fn main() {\n  learn W = tensor [1, 2];\n  let n = sum(tensor [3.0]);\n"
            "  realloc W = [n];\n  return W + tensor [1, 2];\n}\n",
            "p.noma:5:12: runtime error: operands of shapes [3] and [2] do not broadcast",
        ),
        (
            "fn main() {\n  alloc B = [2];\n  let n = sum(tensor [3.0]);\n  realloc B = [n];\n"
            "  B = tensor [1, 2];\n}\n",
            "p.noma:5:3: runtime error: cannot store a [2] tensor where the storage holds a [3] one",
        ),
        (
            "fn main() {\n  learn W = tensor [1, 2];\n  let n = sum(tensor [3.0]);\n"
            "  realloc W = [n] init tensor [1, 2, 3, 4];\n}\n",
            "p.noma:4:3: runtime error: the init tensor has size 4 along axis 0, the new shape 3",
        ),
    ],
)
def test_growth_errors_found_at_run_time_are_located(
    tmp_path: Path, source: str, message: str
) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.strip() == message


def test_a_maybe_freed_buffer_that_is_alive_is_used_normally() -> None:
    source = """
fn main() {
    alloc B = [2];
    let c = sum(tensor [-1.0]);
    if c > 0 { free B; }
    return sum(B + 1);
}
"""
    assert noma.compile(source).run() == 2.0


def test_run_time_growth_error_raises_program_error() -> None:
    program = noma.compile(
        "fn main() { learn W = tensor [1, 2]; let n = sum(tensor [3.0]); realloc W = [n]; "
        "return W + tensor [1, 2]; }"
    )
    with pytest.raises(ProgramError):
        program.run()


def test_static_growth_errors_are_nomaerrors() -> None:
    with pytest.raises(NomaError):
        noma.compile("fn main() { alloc B = [-1]; }").llvm_ir


# -- growth while training ----------------------------------------------------------------


def test_growth_in_the_training_loop_happens_after_the_step(tmp_path: Path) -> None:
    """SGD on sum((w - 1)^2) with lr 0.25 halves the distance to 1 each step.
    The growth requested at iteration 1 (loss 0.25 < 0.6) happens after that
    iteration's step (0.5 -> 0.75), with a zero new element; at iteration 3
    it is requested again, to the current shape: a no-op. Four iterations,
    each with its step: the last line is main's result."""
    source = """
fn main() {
    learn w = tensor [0.0];
    let max_iterations = 4;
    optimize(w) with sgd(0.25) until 0 {
        print(w);
        let loss = sum((w - 1) * (w - 1));
        if loss < 0.6 {
            realloc w = [2] init zeros;
        }
        minimize loss;
    }
    return w;
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "[0.0]",
        "[0.5]",
        "[0.75, 0.0]",
        "[0.875, 0.5]",
        "[0.9375, 0.75]",
    ]


def test_no_growth_when_the_loop_stops(tmp_path: Path) -> None:
    """The iteration whose `until` holds takes no step, so no growth."""
    source = """
fn main() {
    learn w = tensor [0.0];
    optimize(w) with sgd(0.25) until loss < 0.3 {
        let loss = sum((w - 1) * (w - 1));
        if loss < 0.3 { realloc w = [3] init zeros; }
        minimize loss;
    }
    return w;
}
"""
    np.testing.assert_array_equal(noma.compile(source).run(), [0.5])


def test_growth_with_adam_keeps_the_moments_in_the_loop() -> None:
    """Adam with growth inside the loop against a NumPy reference: the
    grown parameter's old moments stay at their indices, new ones start at
    zero, the step count goes on."""
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    target = np.array([1.0, -2.0, 0.5])
    w, m, v, t = np.array([0.1]), np.zeros(1), np.zeros(1), 0
    for step in range(12):
        g = 2 * (w - target[: len(w)])
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        if step in (3, 7):  # growth requested on iterations 3 and 7
            n = len(w) + 1
            w, m, v = (resized(a, (n,), np.zeros(n)) for a in (w, m, v))
    program = """
fn main() {
    let target = tensor [1.0, -2.0, 0.5];
    learn w = tensor [0.1];
    let i = 0;
    let n = 1;
    let max_iterations = 12;
    optimize(w) with adam(0.1) until 0 {
        let mask = tensor [1.0, n > 1, n > 2];
        let padded = tensor [w[0], 0.0, 0.0];
        if n > 1 { padded = tensor [w[0], w[1], 0.0]; }
        if n > 2 { padded = tensor [w[0], w[1], w[2]]; }
        let loss = sum((padded - target) * (padded - target) * mask);
        if i == 3 || i == 7 {
            realloc w = [n + 1] init zeros;
            n = n + 1;
        }
        i = i + 1;
        minimize loss;
    }
    return w;
}
"""
    np.testing.assert_allclose(noma.compile(program).run(), w, rtol=1e-12, atol=0)


GROWING_MEMORY = """
fn main() {{
    let X = tensor [[1.0, 2.0], [3.0, 4.0]];
    learn W = tensor [[0.1], [0.2]];
    alloc B = [3];
    let i = 0;
    let max_iterations = {steps};
    optimize(W) with adam(0.001) until loss < 0 {{
        let Y = matmul(X, W);
        let loss = mean(Y * Y) + sum(B) * 0;
        if i % 2 == 0 {{ realloc W = [2, 64]; }} else {{ realloc W = [2, 1]; }}
        realloc B = [3 + i % 5];
        B = B + 1;
        i = i + 1;
        minimize loss;
    }}
    return sum(W) + sum(B);
}}
"""


@pytest.mark.slow
def test_memory_is_flat_while_parameters_grow_and_shrink(tmp_path: Path) -> None:
    """Each iteration grows or shrinks a parameter (with its Adam state) and
    a buffer: every replaced buffer is freed, so 100,000 iterations use the
    memory of 1,000."""
    peaks = []
    for steps in (1_000, 100_000):
        program = tmp_path / f"growing_{steps}.noma"
        program.write_text(GROWING_MEMORY.format(steps=steps))
        peaks.append(peak_rss_kib(program))
    print(f"peak RSS: 1,000 steps {peaks[0]} KiB, 100,000 steps {peaks[1]} KiB")
    assert peaks[1] <= peaks[0] * 1.10
