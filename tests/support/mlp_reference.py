"""A NumPy re-implementation of benchmarks/mlp.noma, gradients by hand: a
64-128-10 relu MLP trained full batch (all 1797 rows in every step) with
Adam on data the program draws. It follows the program step for step (the
draws in its order, NOMA's Adam, sums left to right; digits_reference's
forward pass, gradients and Adam), so that the two agree to rounding; the
benchmark's peers (benchmarks/peers/mlp_numpy.py, mlp_torch.py) are checked
against it.

The data, in the program's order of draws from NOMA's generator:

- `X = rand_tensor(1797, 64)`: uniform on [0, 1), row-major;
- `teacher = rand_normal_tensor(0, 1, 64, 10)`: a random linear teacher;
- the labels are `argmax(matmul(X - 0.5, teacher), axis=1)` (each logit
  summed in k order, as NOMA's matmul does, so near-ties break alike);
- then the initial weights, `he_init(64, 64, 128)` and
  `xavier_init(128, 10, 128, 10)`, as in examples/digits_mlp.noma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import digits_reference as ref
import numpy as np
from reference_rng import NOMA_DEFAULT_SEED, RefRng

ROWS = 1797
"""The size of scikit-learn's digits set, the issue's full batch."""
STEPS = 100
LR = 0.01


@dataclass(frozen=True)
class Problem:
    x: np.ndarray
    """[1797, 64], uniform on [0, 1)."""
    labels: np.ndarray
    """[1797], the teacher's classes 0..9 as f64."""
    params: dict[str, np.ndarray]
    """The initial W1, b1, W2, b2."""

    @property
    def targets(self) -> np.ndarray:
        return ref.one_hot(self.labels)


def k_ordered_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b with every element summed in k order from 0.0, as NOMA's matmul."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for k in range(a.shape[1]):
        out = out + a[:, k : k + 1] * b[k : k + 1, :]
    return out


def draw(seed: int = NOMA_DEFAULT_SEED) -> Problem:
    """The program's data and initial weights."""
    rng = RefRng(seed)
    x = np.array([rng.uniform() for _ in range(ROWS * ref.INPUTS)]).reshape(ROWS, ref.INPUTS)
    teacher = np.array([rng.normal(0.0, 1.0) for _ in range(ref.INPUTS * ref.CLASSES)])
    logits = k_ordered_matmul(x - 0.5, teacher.reshape(ref.INPUTS, ref.CLASSES))
    labels = np.argmax(logits, axis=1).astype(np.float64)
    std = math.sqrt(2.0 / ref.INPUTS)
    w1 = [rng.normal(0.0, std) for _ in range(ref.INPUTS * ref.HIDDEN)]
    limit = math.sqrt(6.0 / (ref.HIDDEN + ref.CLASSES))
    w2 = [rng.uniform_range(0.0 - limit, limit) for _ in range(ref.HIDDEN * ref.CLASSES)]
    params = {
        "W1": np.array(w1).reshape(ref.INPUTS, ref.HIDDEN),
        "b1": np.zeros(ref.HIDDEN),
        "W2": np.array(w2).reshape(ref.HIDDEN, ref.CLASSES),
        "b2": np.zeros(ref.CLASSES),
    }
    return Problem(x, labels, params)


def train(problem: Problem, steps: int = STEPS, lr: float = LR) -> list[float]:
    """Every step's loss, computed before its Adam step: the program returns
    the last."""
    params = dict(problem.params)
    targets = problem.targets
    adam = ref.Adam(lr=lr)
    losses = []
    for _ in range(steps):
        fwd = ref.forward(params, problem.x, targets)
        losses.append(fwd.loss)
        adam.step(params, ref.gradients(params, problem.x, targets, fwd))
    return losses
