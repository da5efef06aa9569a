"""The digits benchmark's peers and harness (benchmarks/run.py digits): the
NumPy peer is the tests' reference, the PyTorch peer (where PyTorch is
installed) agrees with it, and the harness checks losses and test
accuracies and reports times per pass. A stand-in program prints what the
NOMA program prints, so the harness is tested before examples/digits_mlp.noma
compiles. No timing is checked here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType

import digits_reference as ref
import pytest
from bench_harness import harness, report_of

from scripts import load_script

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def run_py() -> ModuleType:
    return load_script(BENCHMARKS / "run.py")


@pytest.fixture(scope="module")
def reference() -> tuple[list[float], float]:
    """The pass losses and the test accuracy of the reference training."""
    split = ref.load_split()
    training = ref.train(split)
    return training.epoch_losses, ref.accuracy(training.params, split.test_x, split.test_y)


def test_numpy_peer_is_the_reference(reference: tuple[list[float], float]) -> None:
    peer = load_script(BENCHMARKS / "peers" / "digits_numpy.py")
    loss, accuracy, seconds = peer.run()
    assert (loss, accuracy) == (reference[0][-1], reference[1])
    assert seconds > 0 and accuracy >= 0.95


def test_torch_peer_agrees_with_the_reference(reference: tuple[list[float], float]) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed")
    peer = load_script(BENCHMARKS / "peers" / "digits_torch.py")
    loss, accuracy, _ = peer.run()
    assert math.isclose(loss, reference[0][-1], rel_tol=1e-9)
    assert accuracy == reference[1]


def test_torch_is_a_peer_exactly_when_installed(run_py: ModuleType) -> None:
    peers = run_py.BENCHMARKS["digits"].peers
    assert "numpy" in peers
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch" not in peers
    else:
        assert "torch" in peers


def stand_in(tmp_path: Path, losses: list[float], accuracy: float) -> Path:
    """A program that prints what examples/digits_mlp.noma prints (a loss
    per pass, then the test accuracy) and returns the last loss."""
    prints = "".join(f"    print({x!r});\n" for x in [*losses, accuracy])
    path = tmp_path / "stand_in.noma"
    path.write_text(f"fn main() {{\n{prints}    return {losses[-1]!r};\n}}\n")
    return path


def test_harness_reports_times_per_pass_and_accuracies(
    tmp_path: Path, reference: tuple[list[float], float]
) -> None:
    program = stand_in(tmp_path, *reference)
    output = tmp_path / "digits.json"
    proc = harness("digits", "--quick", "--example", str(program), "--output", str(output))
    assert proc.returncode == 0, proc.stderr
    report = report_of(proc)
    assert json.loads(output.read_text()) == report
    sides = {"noma", "numpy"} | ({"torch"} if report["torch_installed"] else set())
    assert set(report["final_loss"]) == sides and report["losses_agree"] is True
    assert report["test_accuracy"] == dict.fromkeys(sides, reference[1])
    assert report["test_accuracies_agree"] is True
    assert report["epochs"] == 20
    for side in sides:
        assert math.isclose(report[f"{side}_ms_per_epoch"], report[f"{side}_ms"] / 20)
    assert math.isclose(report["numpy_over_noma"], report["numpy_ms"] / report["noma_ms"])


def test_harness_fails_on_a_different_accuracy(
    tmp_path: Path, reference: tuple[list[float], float]
) -> None:
    program = stand_in(tmp_path, reference[0], reference[1] - 1 / 360)
    output = tmp_path / "digits.json"
    proc = harness("digits", "--quick", "--example", str(program), "--output", str(output))
    assert proc.returncode == 1
    assert "test accuracies differ" in proc.stderr and "Traceback" not in proc.stderr
    assert report_of(proc)["test_accuracies_agree"] is False
    assert not output.exists()


def test_harness_says_what_the_program_printed_wrong(
    tmp_path: Path, reference: tuple[list[float], float]
) -> None:
    program = stand_in(tmp_path, reference[0][:5], reference[1])  # 5 passes, not 20
    proc = harness("digits", "--quick", "--example", str(program))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "printed 6 numbers, expected 20 pass losses and the test accuracy" in proc.stderr
