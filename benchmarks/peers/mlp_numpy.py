"""The NumPy peer of `benchmarks/run.py mlp`: benchmarks/mlp.noma's training
(a 64-128-10 relu MLP, log_softmax cross-entropy, full batch of 1797 rows,
100 steps of Adam(0.01), f64) written the way one writes it in NumPy, with
gradients by hand. Data and initial weights are the program's draws
(tests/support/mlp_reference.py), made once at import; the time covers the
100 steps. Run it alone with one BLAS thread, as the benchmark does:

    OPENBLAS_NUM_THREADS=1 python benchmarks/peers/mlp_numpy.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[2] / "tests" / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

# (imported after the path they live on is set)
import mlp_reference as ref
import numpy as np

PROBLEM = ref.draw()
TARGETS = PROBLEM.targets
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def train() -> tuple[float, float]:
    """The last step's loss (before its update) and the seconds of the 100 steps."""
    start = time.perf_counter()
    x, y = PROBLEM.x, TARGETS
    params = [PROBLEM.params[name].copy() for name in ("W1", "b1", "W2", "b2")]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    rows = x.shape[0]
    loss = float("nan")
    for t in range(1, ref.STEPS + 1):
        w1, b1, w2, b2 = params
        hidden_in = x @ w1 + b1
        hidden = np.maximum(hidden_in, 0.0)
        logits = hidden @ w2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -(y * log_probs).sum() / rows
        d_logits = (np.exp(log_probs) - y) / rows
        d_hidden = (d_logits @ w2.T) * (hidden_in > 0.0)
        grads = [x.T @ d_hidden, d_hidden.sum(axis=0), hidden.T @ d_logits, d_logits.sum(axis=0)]
        for i, g in enumerate(grads):
            m, v = moments[i]
            m = BETA1 * m + (1.0 - BETA1) * g
            v = BETA2 * v + (1.0 - BETA2) * (g * g)
            m_hat = m / (1.0 - BETA1**t)
            v_hat = v / (1.0 - BETA2**t)
            params[i] = params[i] - ref.LR * m_hat / (np.sqrt(v_hat) + EPS)
            moments[i] = (m, v)
    return float(loss), time.perf_counter() - start


if __name__ == "__main__":
    loss, seconds = train()
    print(f"final loss {loss!r}, {seconds * 1e3 / ref.STEPS:.3f} ms per step")
