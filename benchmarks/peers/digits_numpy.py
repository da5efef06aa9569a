"""The NumPy peer of `benchmarks/run.py digits`: the digits classifier of
examples/digits_mlp.noma (64-128-10, relu, log_softmax cross-entropy, 20
passes of Adam(0.001) in blocks of 32 rows), gradients by hand. The training
is tests/support/digits_reference.py, the NumPy re-implementation the tests
check the example against, so that the benchmark times the very code that
agrees with NOMA.

    >>> final_loss, seconds = train()

The data are read and the initial weights drawn (NOMA's generator, in pure
Python) once, at import; the time covers the 20 passes and the test
accuracy, as NOMA's program computes it.
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

SPLIT = ref.load_split()
INITIAL = ref.initial_params()


def run() -> tuple[float, float, float]:
    """The last pass's loss, the test accuracy and the seconds both took."""
    start = time.perf_counter()
    training = ref.train(SPLIT, INITIAL)
    accuracy = ref.accuracy(training.params, SPLIT.test_x, SPLIT.test_y)
    return training.epoch_losses[-1], accuracy, time.perf_counter() - start


def train() -> tuple[float, float]:
    loss, _, seconds = run()
    return loss, seconds


if __name__ == "__main__":
    loss, accuracy, seconds = run()
    print(
        f"final loss {loss!r}, test accuracy {accuracy!r}, {seconds * 1e3 / ref.EPOCHS:.2f} ms per epoch"
    )
