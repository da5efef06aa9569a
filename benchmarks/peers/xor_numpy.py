"""The NumPy peer of `benchmarks/run.py xor`: a 2-16-1 sigmoid network
trained on XOR with Adam, gradients written by hand, in idiomatic NumPy.

    >>> final_loss, seconds = train()

The training is NOMA's optimize loop (as the original NOMA's) for
examples/xor_2_16_1.noma: 320 iterations, each computing the loss, checking
the loop's `until loss < 0` (which never holds), computing the gradients and
taking one Adam step, the last iteration included. The result is the loss of
the last iteration, computed before its step (`loss` after the loop).

Floating-point order follows NOMA's generated code wherever NumPy lets us
say it: sigmoid(z) = 1 / (1 + exp(-z)), its derivative g * (s * (1 - s))
(as `SigmoidOp.vjp`), the mean summed left to right, Adam as in
`noma/passes/expand_optimizers.py`. Two things NumPy decides for itself:
`np.exp` may use a SIMD kernel that differs from the C library's `exp` in
the last bit, and `@` goes to BLAS, whose accumulation order in the
16-term dot products is not the sequential one. So this peer agrees with
the C peer (and with NOMA) to about 1e-15 relative, not bit for bit.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
INIT_PATH = ROOT / "data" / "xor_init.json"

STEPS = 320
LR, BETA1, BETA2, EPS = 0.05, 0.9, 0.999, 1e-8

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def initial_weights(path: Path | str = INIT_PATH) -> tuple[np.ndarray, np.ndarray]:
    """W1 (2x16) = [W1 | W1_extra] and W2 (16x1) = [W2 ; W2_extra] from the
    JSON file of initial weights."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    w1 = np.concatenate([np.array(data["W1"], float), np.array(data["W1_extra"], float)], axis=1)
    w2 = np.concatenate([np.array(data["W2"], float), np.array(data["W2_extra"], float)], axis=0)
    if w1.shape != (2, 16) or w2.shape != (16, 1):
        raise ValueError(f"{path}: expected W1 2x16 and W2 16x1, got {w1.shape} and {w2.shape}")
    return w1, w2


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def mean_left_to_right(a: np.ndarray) -> float:
    """The mean with its sum accumulated left to right from 0.0, as NOMA's
    `mean` loop does (NumPy's own `sum` pairs its terms differently)."""
    total = 0.0
    for x in a.ravel().tolist():
        total += x
    return total / a.size


def forward(w1: np.ndarray, w2: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """hidden (4x16), pred (4x1) and the loss mean((pred - Y)^2)."""
    hidden = sigmoid(X @ w1)
    pred = sigmoid(hidden @ w2)
    diff = pred - Y
    return hidden, pred, mean_left_to_right(diff * diff)


def backward(w2: np.ndarray, hidden: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dloss/dW1 and dloss/dW2, by hand."""
    dpred = 2.0 * (pred - Y) / Y.size
    dz2 = dpred * (pred * (1.0 - pred))
    dw2 = hidden.T @ dz2
    dhidden = dz2 @ w2.T
    dz1 = dhidden * (hidden * (1.0 - hidden))
    dw1 = X.T @ dz1
    return dw1, dw2


def loss_and_grads(w1: np.ndarray, w2: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    hidden, pred, loss = forward(w1, w2)
    dw1, dw2 = backward(w2, hidden, pred)
    return loss, dw1, dw2


def train(
    w1: np.ndarray | None = None, w2: np.ndarray | None = None, steps: int = STEPS
) -> tuple[float, float]:
    """Train from the given initial weights (default: data/xor_init.json),
    which are not modified. Gives the loss of the last iteration and the
    seconds the training took (the loop; not the set-up)."""
    if w1 is None or w2 is None:
        w1, w2 = initial_weights()
    w1, w2 = w1.copy(), w2.copy()
    m1, v1 = np.zeros_like(w1), np.zeros_like(w1)
    m2, v2 = np.zeros_like(w2), np.zeros_like(w2)
    t1 = t2 = 0.0  # each parameter's own step count, as NOMA keeps them

    loss = float("nan")
    start = time.perf_counter()
    for _ in range(steps):
        hidden, pred, loss = forward(w1, w2)
        if loss < 0.0:  # the program's `until loss < 0`
            break
        dw1, dw2 = backward(w2, hidden, pred)
        t1 += 1.0
        m1 = BETA1 * m1 + (1.0 - BETA1) * dw1
        v1 = BETA2 * v1 + (1.0 - BETA2) * (dw1 * dw1)
        m_hat = m1 / (1.0 - BETA1**t1)
        v_hat = v1 / (1.0 - BETA2**t1)
        w1 = w1 - LR * m_hat / (np.sqrt(v_hat) + EPS)
        t2 += 1.0
        m2 = BETA1 * m2 + (1.0 - BETA1) * dw2
        v2 = BETA2 * v2 + (1.0 - BETA2) * (dw2 * dw2)
        m_hat = m2 / (1.0 - BETA1**t2)
        v_hat = v2 / (1.0 - BETA2**t2)
        w2 = w2 - LR * m_hat / (np.sqrt(v_hat) + EPS)
    return loss, time.perf_counter() - start


if __name__ == "__main__":
    final_loss, seconds = train()
    print(f"final loss {final_loss!r}, {seconds * 1e3:.3f} ms")
