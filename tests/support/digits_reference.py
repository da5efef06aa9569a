"""A NumPy re-implementation of examples/digits_mlp.noma, gradients written
by hand: a 64-128-10 MLP (relu hidden layer, log_softmax cross-entropy)
trained on the digits of examples/data/digits in mini-batches with Adam.

It follows the program step for step, so that the two agree to rounding:

- The initial weights are the program's draws from NOMA's seeded generator
  (reference_rng.RefRng, the default seed unless another is given), in the
  program's order: `learn W1 = he_init(64, 64, 128)` (normal, std
  sqrt(2 / 64), row-major), then `learn W2 = xavier_init(128, 10, 128, 10)`
  (uniform on [-a, a), a = sqrt(6 / 138)); the biases start at zero.
- Pixels are divided by 16; labels become one-hot rows.
- Each pass (epoch) walks the training rows in order in blocks of BATCH rows,
  the last block shorter (1437 = 44 * 32 + 29), as `batch xb, yb in X, Y
  with 32` does; one Adam step per block, with the gradient of the block's
  mean cross-entropy `mean(-sum(yb * log_softmax(logits, axis=1), axis=1))`.
- The pass's loss is the sum over its blocks of `sum(nll)` (each computed
  before that block's step), divided by the number of training rows, as the
  program prints it.
- Adam is NOMA's (docs/language.md 5.4; noma/dialects/noma/optimizers.py):
  each parameter has its own step count, `m_hat = m / (1 - beta1 ** t)`,
  `p - lr * m_hat / (sqrt(v_hat) + eps)` in that order.
- Sums that NOMA accumulates left to right (the row sums of log_softmax and
  of the loss, `sum`, `mean`) are accumulated left to right here too
  (NumPy's own `sum` pairs its terms). Matrix products go to BLAS, whose
  accumulation order is its own, and `np.exp`/`np.log` may differ from the
  C library in the last bit: agreement is to about 1e-13 relative, not bit
  for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from reference_rng import NOMA_DEFAULT_SEED, RefRng

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data" / "digits"

INPUTS, HIDDEN, CLASSES = 64, 128, 10
PIXEL_MAX = 16.0
BATCH = 32
EPOCHS = 20
LR, BETA1, BETA2, EPS = 0.001, 0.9, 0.999, 1e-8

PARAMETERS = ("W1", "b1", "W2", "b2")
"""In the order of the program's `learn` statements."""


@dataclass(frozen=True)
class Split:
    train_x: np.ndarray
    """[1437, 64], pixels divided by 16."""
    train_y: np.ndarray
    """[1437], labels 0..9 as f64."""
    test_x: np.ndarray
    test_y: np.ndarray


def load_csv(path: Path) -> np.ndarray:
    """A CSV file as NOMA's `load_csv` reads it: 2-D, `#` comments skipped."""
    return np.loadtxt(path, delimiter=",", comments="#", ndmin=2)


def load_split(folder: Path = DATA) -> Split:
    return Split(
        load_csv(folder / "train_x.csv") / PIXEL_MAX,
        load_csv(folder / "train_y.csv")[:, 0],
        load_csv(folder / "test_x.csv") / PIXEL_MAX,
        load_csv(folder / "test_y.csv")[:, 0],
    )


def one_hot(labels: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    rows = np.zeros((labels.size, classes))
    rows[np.arange(labels.size), labels.astype(np.int64)] = 1.0
    return rows


def initial_params(
    seed: int = NOMA_DEFAULT_SEED, sizes: tuple[int, int, int] = (INPUTS, HIDDEN, CLASSES)
) -> dict[str, np.ndarray]:
    """The program's initial weights: he_init for W1, xavier_init for W2,
    drawn in that order from the generator seeded with `seed`."""
    n_in, n_hidden, n_out = sizes
    rng = RefRng(seed)
    std = math.sqrt(2.0 / n_in)
    w1 = [rng.normal(0.0, std) for _ in range(n_in * n_hidden)]
    limit = math.sqrt(6.0 / (n_hidden + n_out))
    w2 = [rng.uniform_range(0.0 - limit, limit) for _ in range(n_hidden * n_out)]
    return {
        "W1": np.array(w1).reshape(n_in, n_hidden),
        "b1": np.zeros(n_hidden),
        "W2": np.array(w2).reshape(n_hidden, n_out),
        "b2": np.zeros(n_out),
    }


def row_sums(a: np.ndarray) -> np.ndarray:
    """Each row's sum, accumulated left to right from 0.0."""
    total = np.zeros(a.shape[0])
    for j in range(a.shape[1]):
        total = total + a[:, j]
    return total


def sum_left_to_right(a: np.ndarray) -> float:
    total = 0.0
    for x in a.ravel().tolist():
        total += x
    return total


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Stable: the row maximum is subtracted before exp."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(row_sums(np.exp(shifted)))[:, None]


@dataclass
class Forward:
    hidden_in: np.ndarray
    """matmul(xb, W1) + b1, before relu."""
    hidden: np.ndarray
    log_probs: np.ndarray
    nll: np.ndarray
    """Each row's cross-entropy, -sum(yb * log_softmax(logits), axis=1)."""

    @property
    def loss(self) -> float:
        """The block's objective, mean(nll)."""
        return sum_left_to_right(self.nll) / self.nll.size


def forward(params: dict[str, np.ndarray], xb: np.ndarray, yb: np.ndarray) -> Forward:
    hidden_in = xb @ params["W1"] + params["b1"]
    hidden = np.maximum(hidden_in, 0.0)
    log_probs = log_softmax(hidden @ params["W2"] + params["b2"])
    return Forward(hidden_in, hidden, log_probs, -row_sums(yb * log_probs))


def gradients(
    params: dict[str, np.ndarray], xb: np.ndarray, yb: np.ndarray, fwd: Forward
) -> dict[str, np.ndarray]:
    """d mean(nll) / d each parameter, by hand: the logits' gradient is
    (softmax - yb) / rows (each row of yb sums to 1), then back through the
    two layers; relu passes the gradient where its input is > 0."""
    d_logits = (np.exp(fwd.log_probs) - yb) / xb.shape[0]
    d_hidden = (d_logits @ params["W2"].T) * (fwd.hidden_in > 0.0)
    return {
        "W1": xb.T @ d_hidden,
        "b1": d_hidden.sum(axis=0),
        "W2": fwd.hidden.T @ d_logits,
        "b2": d_logits.sum(axis=0),
    }


@dataclass
class Adam:
    """NOMA's Adam, state per parameter (docs/language.md 5.4, 5.5)."""

    lr: float = LR
    beta1: float = BETA1
    beta2: float = BETA2
    eps: float = EPS
    state: dict[str, tuple[np.ndarray, np.ndarray, float]] = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, g in grads.items():
            m, v, t = self.state.get(name, (np.zeros_like(g), np.zeros_like(g), 0.0))
            t += 1.0
            m = self.beta1 * m + (1.0 - self.beta1) * g
            v = self.beta2 * v + (1.0 - self.beta2) * (g * g)
            m_hat = m / (1.0 - self.beta1**t)
            v_hat = v / (1.0 - self.beta2**t)
            params[name] = params[name] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            self.state[name] = (m, v, t)


def blocks(rows: int, size: int = BATCH) -> Iterator[slice]:
    """The blocks of a `batch ... with size` loop: consecutive rows, the last
    block shorter."""
    for start in range(0, rows, size):
        yield slice(start, min(start + size, rows))


@dataclass
class Training:
    params: dict[str, np.ndarray]
    step_losses: list[float]
    """Every block's objective, computed before its step."""
    epoch_losses: list[float]
    """What the program prints once per pass."""
    seconds: float
    """The training loop's time (not the set-up)."""


def train(
    split: Split,
    params: dict[str, np.ndarray] | None = None,
    epochs: int = EPOCHS,
    batch: int = BATCH,
    lr: float = LR,
) -> Training:
    """Train from `params` (default: the program's initial weights), which
    are not modified."""
    params = dict(params if params is not None else initial_params())
    targets = one_hot(split.train_y)
    rows = split.train_x.shape[0]
    adam = Adam(lr=lr)
    step_losses: list[float] = []
    epoch_losses: list[float] = []
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for block in blocks(rows, batch):
            xb, yb = split.train_x[block], targets[block]
            fwd = forward(params, xb, yb)
            step_losses.append(fwd.loss)
            total = total + sum_left_to_right(fwd.nll)
            adam.step(params, gradients(params, xb, yb, fwd))
        epoch_losses.append(total / rows)
    return Training(params, step_losses, epoch_losses, time.perf_counter() - start)


def predict(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """argmax of the logits per row (the first on ties), as f64 class indices."""
    hidden = np.maximum(x @ params["W1"] + params["b1"], 0.0)
    return np.argmax(hidden @ params["W2"] + params["b2"], axis=1).astype(np.float64)


def accuracy(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """mean(predicted == labels), the mean taken left to right."""
    return sum_left_to_right((predict(params, x) == labels).astype(np.float64)) / labels.size


if __name__ == "__main__":
    split = load_split()
    run = train(split)
    print(f"epoch losses: {run.epoch_losses}")
    print(f"test accuracy {accuracy(run.params, split.test_x, split.test_y)!r}")
    print(f"{run.seconds / EPOCHS * 1e3:.2f} ms per epoch")
