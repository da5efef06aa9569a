"""The PyTorch peer of `benchmarks/run.py digits`, used when PyTorch is
installed: the digits classifier of examples/digits_mlp.noma trained with
autograd and torch.optim.Adam in f64, from the same initial weights and on
the same blocks (tests/support/digits_reference_torch.py, which the tests check
against the NumPy reference).

    >>> final_loss, seconds = train()

The data are read and the initial weights drawn once, at import; the time
covers the 20 passes and the test accuracy.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[2] / "tests" / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

# (imported after the path they live on is set)
import digits_reference as ref
import digits_reference_torch
import torch

# One thread, as the other sides: the comparison is of single-core code.
torch.set_num_threads(1)

SPLIT = ref.load_split()
INITIAL = ref.initial_params()


def run() -> tuple[float, float, float]:
    """The last pass's loss, the test accuracy and the seconds both took."""
    start = time.perf_counter()
    training = digits_reference_torch.train(SPLIT, INITIAL)
    accuracy = digits_reference_torch.accuracy(training.params, SPLIT.test_x, SPLIT.test_y)
    return training.epoch_losses[-1], accuracy, time.perf_counter() - start


def train() -> tuple[float, float]:
    loss, _, seconds = run()
    return loss, seconds


if __name__ == "__main__":
    loss, accuracy, seconds = run()
    print(
        f"final loss {loss!r}, test accuracy {accuracy!r}, {seconds * 1e3 / ref.EPOCHS:.2f} ms per epoch"
    )
