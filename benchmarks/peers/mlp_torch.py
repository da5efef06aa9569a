"""The PyTorch peer of `benchmarks/run.py mlp`, used when PyTorch is
installed: benchmarks/mlp.noma's training written the way one writes it in
PyTorch (eager, autograd, torch.nn.functional.log_softmax,
torch.optim.Adam), f64, on one thread, from the program's data and initial
weights (tests/support/mlp_reference.py, drawn once at import); the time
covers the 100 steps.
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
import torch

# One thread, as the other sides: the comparison is of single-core code.
torch.set_num_threads(1)

PROBLEM = ref.draw()
X = torch.tensor(PROBLEM.x, dtype=torch.float64)
LABELS = torch.tensor(PROBLEM.labels, dtype=torch.int64)


def train() -> tuple[float, float]:
    """The last step's loss (before its update) and the seconds of the 100 steps."""
    start = time.perf_counter()
    weights = [
        torch.tensor(PROBLEM.params[name], dtype=torch.float64, requires_grad=True)
        for name in ("W1", "b1", "W2", "b2")
    ]
    w1, b1, w2, b2 = weights
    optimizer = torch.optim.Adam(weights, lr=ref.LR)
    loss = torch.tensor(float("nan"))
    for _ in range(ref.STEPS):
        logits = torch.relu(X @ w1 + b1) @ w2 + b2
        loss = torch.nn.functional.nll_loss(torch.log_softmax(logits, dim=1), LABELS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item(), time.perf_counter() - start


if __name__ == "__main__":
    loss, seconds = train()
    print(f"final loss {loss!r}, {seconds * 1e3 / ref.STEPS:.3f} ms per step")
