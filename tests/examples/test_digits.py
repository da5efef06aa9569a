"""examples/digits_mlp.noma against its re-implementations: the NumPy one
with hand-written gradients (tests/support/digits_reference.py) and, where
PyTorch is installed, PyTorch autograd (digits_reference_torch.py). Both
start from the program's initial weights (NOMA's seeded draws) and train on
the same blocks, so every printed loss must agree to rounding (1e-9
relative; they agree to about 1e-15) and the test accuracy must be the same
number: the same images classified right. The harness of `benchmarks/run.py
digits` runs on the real program too."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import digits_reference as ref
import pytest
from in_process import noma_in_process

pytestmark = pytest.mark.slow  # trains for about a second; see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits_mlp.noma"
REL_TOL = 1e-9


@pytest.fixture(scope="module")
def split() -> ref.Split:
    return ref.load_split()


@pytest.fixture(scope="module")
def reference(split: ref.Split) -> ref.Training:
    return ref.train(split)


@pytest.fixture(scope="module")
def printed() -> list[float]:
    """What the example prints: 20 pass losses, the test accuracy, main's
    result (the last pass loss)."""
    proc = noma_in_process("run", str(EXAMPLE.relative_to(ROOT)), cwd=ROOT, share_compile=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [float(line) for line in proc.stdout.split()]


def assert_losses(got: list[float], want: list[float]) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert math.isclose(g, w, rel_tol=REL_TOL), (i, got, want)


def test_pass_losses_and_accuracy_match_numpy(
    printed: list[float], reference: ref.Training, split: ref.Split
) -> None:
    assert len(printed) == ref.EPOCHS + 2
    assert_losses(printed[: ref.EPOCHS], reference.epoch_losses)
    assert printed[-1] == printed[ref.EPOCHS - 1]  # main returns the last pass loss
    accuracy = ref.accuracy(reference.params, split.test_x, split.test_y)
    assert printed[ref.EPOCHS] == accuracy
    assert accuracy >= 0.95  # the target


def test_first_block_losses_match_numpy(tmp_path: Path, reference: ref.Training) -> None:
    """The objective of each of the first pass's 45 blocks, printed by a copy
    of the example that stops after one pass."""
    source = EXAMPLE.read_text()
    for anchor in ("minimize mean(nll);", "until epoch == 20"):
        assert source.count(anchor) == 1, anchor
    source = source.replace("minimize mean(nll);", "print(mean(nll)); minimize mean(nll);")
    source = source.replace("until epoch == 20", "until epoch == 1")
    program = tmp_path / "digits_one_pass.noma"
    program.write_text(source)
    proc = noma_in_process("run", str(program), cwd=ROOT)  # the data paths are ROOT's
    assert proc.returncode == 0, proc.stderr
    lines = [float(line) for line in proc.stdout.split()]
    blocks = 45
    assert len(lines) == blocks + 3  # the block losses, the pass loss, accuracy, result
    assert_losses(lines[:blocks], reference.step_losses[:blocks])
    assert math.isclose(lines[blocks], reference.epoch_losses[0], rel_tol=REL_TOL)


def test_pytorch_autograd_trains_the_same_network(printed: list[float], split: ref.Split) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed")
    import digits_reference_torch

    training = digits_reference_torch.train(split)
    assert_losses(printed[: ref.EPOCHS], training.epoch_losses)
    accuracy = digits_reference_torch.accuracy(training.params, split.test_x, split.test_y)
    assert printed[ref.EPOCHS] == accuracy


def test_benchmark_runs_the_example(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "digits", "--quick",
         "--output", str(tmp_path / "digits.json")],
        cwd=ROOT, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["losses_agree"] is True and report["test_accuracies_agree"] is True
    assert report["test_accuracy"]["noma"] >= 0.95
    assert report["example"] == "examples/digits_mlp.noma"
