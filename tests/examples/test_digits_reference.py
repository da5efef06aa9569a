"""The digits data (examples/data/digits) and the NumPy reference of the
digits classifier (tests/support/digits_reference.py): the files are the
split the script writes, the reference's initial weights are NOMA's draws,
its hand-written gradients are right (central finite differences), its
Adam is the scalar reference's, it reaches the accuracy the example
promises, and it computes what NOMA computes for the same training written
with the elementwise ops (row sums by `matmul` with a column of ones)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import digits_reference as ref
import numpy as np
import pytest
from reference_rng import NOMA_DEFAULT_SEED
from reference_training import Optimizer

import noma

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "data" / "digits" / "write_csv.py"


@pytest.fixture(scope="module")
def split() -> ref.Split:
    return ref.load_split()


@pytest.fixture(scope="module")
def trained(split: ref.Split) -> ref.Training:
    return ref.train(split)


# --------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------


def test_the_split_has_the_issue_s_sizes_and_every_digit(split: ref.Split) -> None:
    assert split.train_x.shape == (1437, 64) and split.train_y.shape == (1437,)
    assert split.test_x.shape == (360, 64) and split.test_y.shape == (360,)
    for pixels in (split.train_x, split.test_x):
        raw = pixels * ref.PIXEL_MAX
        assert np.array_equal(raw, np.round(raw)) and raw.min() == 0 and raw.max() == 16
    for labels in (split.train_y, split.test_y):
        assert set(labels.tolist()) == set(range(10))
    # Stratified: each digit's share of the test set is within one image of
    # its share of the whole data.
    for digit in range(10):
        total = np.sum(split.train_y == digit) + np.sum(split.test_y == digit)
        assert abs(np.sum(split.test_y == digit) - total * 360 / 1797) <= 1


@pytest.mark.slow  # a process
def test_the_files_are_what_the_script_writes_from_scikit_learn() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn (the `digits` extra) is not installed")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow  # a process
def test_the_script_says_what_is_missing_without_scikit_learn(tmp_path: Path) -> None:
    # A `sklearn` that cannot be imported, first on the path.
    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "__init__.py").write_text("raise ImportError('no sklearn here')\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert "scikit-learn is not installed" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# The reference's parts
# --------------------------------------------------------------------------


def test_initial_weights_are_noma_s_draws() -> None:
    params = ref.initial_params()
    # The program's two draws, in its order: W1 then W2.
    w1 = noma.compile("fn main() { return he_init(64, 64, 128); }").run(seed=NOMA_DEFAULT_SEED)
    w2 = noma.compile(
        "fn main() { let W1 = he_init(64, 64, 128); return xavier_init(128, 10, 128, 10); }"
    ).run(seed=NOMA_DEFAULT_SEED)
    assert isinstance(w1, np.ndarray) and isinstance(w2, np.ndarray)
    np.testing.assert_allclose(params["W1"], w1, rtol=1e-15, atol=0)
    np.testing.assert_allclose(params["W2"], w2, rtol=1e-15, atol=0)
    assert not params["b1"].any() and params["b1"].shape == (128,)
    assert not params["b2"].any() and params["b2"].shape == (10,)


def test_log_softmax_is_stable_and_normalised() -> None:
    assert np.array_equal(ref.log_softmax(np.array([[1000.0, 0.0]])), [[0.0, -1000.0]])
    logits = np.random.default_rng(0).normal(size=(5, 10)) * 30
    assert np.allclose(np.exp(ref.log_softmax(logits)).sum(axis=1), 1.0, rtol=1e-14)


def test_blocks_are_those_of_a_batch_loop() -> None:
    sizes = [b.stop - b.start for b in ref.blocks(1437, 32)]
    assert sizes == [32] * 44 + [29]
    assert [b.start for b in ref.blocks(5, 2)] == [0, 2, 4]


def _small_problem(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """A 5-7-3 network, 4 rows, random weights (biases too) and inputs."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(5, 7)),
        "b1": rng.normal(size=7),
        "W2": rng.normal(size=(7, 3)),
        "b2": rng.normal(size=3),
    }
    x = rng.normal(size=(4, 5))
    y = ref.one_hot(rng.integers(0, 3, size=4).astype(np.float64), 3)
    return params, x, y


def _finite_difference(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, name: str, index: tuple[int, ...]
) -> float:
    """Central difference of the block objective in one entry."""
    h = 1e-6
    values = []
    for sign in (1.0, -1.0):
        shifted = {k: v.copy() for k, v in params.items()}
        shifted[name][index] += sign * h
        values.append(ref.forward(shifted, x, y).loss)
    return (values[0] - values[1]) / (2 * h)


@pytest.mark.parametrize("seed", range(4))
def test_gradients_match_finite_differences(seed: int) -> None:
    params, x, y = _small_problem(seed)
    grads = ref.gradients(params, x, y, ref.forward(params, x, y))
    for name in ref.PARAMETERS:
        assert grads[name].shape == params[name].shape
        for index in np.ndindex(params[name].shape):
            fd = _finite_difference(params, x, y, name, index)
            assert math.isclose(grads[name][index], fd, rel_tol=1e-6, abs_tol=1e-8), (name, index)


def test_gradients_of_a_real_block_match_finite_differences(split: ref.Split) -> None:
    params = ref.initial_params()
    params["b1"] = np.full(128, 0.01)  # away from zero, as after training
    x, y = split.train_x[:32], ref.one_hot(split.train_y[:32])
    grads = ref.gradients(params, x, y, ref.forward(params, x, y))
    rng = np.random.default_rng(1)
    for name in ref.PARAMETERS:
        for _ in range(12):
            index = tuple(int(rng.integers(0, d)) for d in params[name].shape)
            fd = _finite_difference(params, x, y, name, index)
            assert math.isclose(grads[name][index], fd, rel_tol=1e-5, abs_tol=1e-9), (name, index)


def test_adam_is_the_scalar_reference_s() -> None:
    adam = ref.Adam(lr=0.01)
    scalar = Optimizer("adam", lr=0.01)
    params = {"p": np.array([0.5, -2.0])}
    scalars = {"p0": 0.5, "p1": -2.0}
    for g0, g1 in [(0.3, -1.0), (0.1, 2.0), (-0.7, 0.0)]:
        adam.step(params, {"p": np.array([g0, g1])})
        scalar.step(scalars, {"p0": g0, "p1": g1})
        assert params["p"].tolist() == [scalars["p0"], scalars["p1"]]


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def test_training_reaches_the_promised_accuracy(split: ref.Split, trained: ref.Training) -> None:
    assert len(trained.epoch_losses) == ref.EPOCHS
    assert len(trained.step_losses) == ref.EPOCHS * 45
    assert trained.epoch_losses == sorted(trained.epoch_losses, reverse=True)
    assert trained.epoch_losses[-1] < 0.1
    assert ref.accuracy(trained.params, split.test_x, split.test_y) >= 0.95


def test_accuracy_counts_argmax_hits() -> None:
    params = {
        "W1": np.eye(2),
        "b1": np.zeros(2),
        "W2": np.eye(2),
        "b2": np.zeros(2),
    }
    x = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [1.0, 1.0]])  # a tie: the first
    assert ref.predict(params, x).tolist() == [0.0, 1.0, 0.0, 0.0]
    assert ref.accuracy(params, x, np.array([0.0, 1.0, 1.0, 0.0])) == 0.75


ELEMENTWISE_PROGRAM = """
// examples/digits_mlp.noma's training, written with the ops NOMA had before
// issue 12: one-hot rows by a broadcast comparison, row sums by matmul with
// a column of ones, log_softmax without the row maximum (fine for these
// logits).
fn main() {
    load_csv train_pixels = "examples/data/digits/train_x.csv";
    load_csv train_labels = "examples/data/digits/train_y.csv";
    let X = train_pixels / 16;
    let Y = train_labels == tensor [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    learn W1 = he_init(64, 64, 128);
    alloc zeros_128 = [128];
    learn b1 = zeros_128;
    learn W2 = xavier_init(128, 10, 128, 10);
    alloc zeros_10 = [10];
    learn b2 = zeros_10;
    alloc ones = [10, 1];
    ones = ones + 1;
    let epoch = 0;
    optimize(W1, b1, W2, b2) with adam(0.001) until epoch == EPOCHS {
        epoch = epoch + 1;
        let total = 0;
        batch xb, yb in X, Y with 32 {
            let logits = matmul(relu(matmul(xb, W1) + b1), W2) + b2;
            let log_probs = logits - log(matmul(exp(logits), ones));
            let nll = -matmul(yb * log_probs, ones);
            total = total + sum(nll);
            minimize mean(nll);
        }
        let train_loss = total / 1437;
        print(train_loss);
    }
    return train_loss;
}
"""


@pytest.mark.slow
def test_noma_trains_the_same_network_as_the_reference(split: ref.Split, tmp_path: Path) -> None:
    from in_process import noma_in_process

    epochs = 3
    program = tmp_path / "digits_elementwise.noma"
    program.write_text(ELEMENTWISE_PROGRAM.replace("EPOCHS", str(epochs)))
    proc = noma_in_process("run", str(program), cwd=ROOT)  # the data paths are ROOT's
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    printed = [float(line) for line in proc.stdout.split()]
    expected = ref.train(split, epochs=epochs).epoch_losses
    assert len(printed) == epochs + 1  # a loss per pass, then main's result
    for got, want in zip(printed, [*expected, expected[-1]], strict=True):
        assert math.isclose(got, want, rel_tol=1e-12), (printed, expected)
