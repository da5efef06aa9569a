"""The mlp benchmark (benchmarks/run.py mlp): its two NOMA programs (drawn
data, and the same read from files) and its peers (NumPy with gradients by
hand; PyTorch autograd where it is installed) train to the loss of the
order-faithful reference, tests/support/mlp_reference.py; the harness
reports times per step, the files side, the digits sub-report and the
targets, and fails when the sides disagree. No timing is checked here."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import mlp_reference
import numpy as np
import pytest
from bench_harness import harness, report_of, without_torch

from scripts import load_script

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
PEER_TOLERANCE = 1e-9
"""The peers sum in their own orders (BLAS, PyTorch's kernels)."""
NOMA_TOLERANCE = 1e-12
"""The reference follows the program's order of operations; only NOMA's
vectorised reductions and exp/log differ in the last bits."""


@pytest.fixture(scope="module")
def run_py() -> ModuleType:
    return load_script(BENCHMARKS / "run.py")


@pytest.fixture(scope="module")
def problem() -> mlp_reference.Problem:
    return mlp_reference.draw()


@pytest.fixture(scope="module")
def reference_loss(problem: mlp_reference.Problem) -> float:
    """The loss of the last of the 100 steps, as the program returns it."""
    losses = mlp_reference.train(problem)
    assert len(losses) == 100 and losses[-1] < losses[0]
    return losses[-1]


def test_numpy_peer_agrees_with_the_reference(reference_loss: float) -> None:
    peer = load_script(BENCHMARKS / "peers" / "mlp_numpy.py")
    loss, seconds = peer.train()
    assert math.isclose(loss, reference_loss, rel_tol=PEER_TOLERANCE)
    assert seconds > 0


def test_torch_peer_agrees_with_the_reference(reference_loss: float) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed (the `bench` extra)")
    peer = load_script(BENCHMARKS / "peers" / "mlp_torch.py")
    loss, _ = peer.train()
    assert math.isclose(loss, reference_loss, rel_tol=PEER_TOLERANCE)


def test_drawn_program_agrees_with_the_reference(reference_loss: float) -> None:
    import noma

    loss = noma.compile(BENCHMARKS / "mlp.noma").run()
    assert isinstance(loss, float)
    assert math.isclose(loss, reference_loss, rel_tol=NOMA_TOLERANCE)


def test_files_the_harness_writes_are_the_draws(
    run_py: ModuleType, problem: mlp_reference.Problem, tmp_path: Path
) -> None:
    """mlp_arg_files writes what the program draws, one safetensors file
    per parameter of mlp_files.noma."""
    from safetensors.numpy import load_file

    files = run_py.mlp_arg_files(tmp_path)
    expected = {
        "X": problem.x,
        "labels": problem.labels,
        "W1_init": problem.params["W1"],
        "W2_init": problem.params["W2"],
    }
    assert set(files) == set(expected)
    for name, path in files.items():
        assert path.parent.parent == tmp_path
        [(stored, array)] = load_file(path).items()
        assert stored == name and array.dtype == np.float64
        np.testing.assert_array_equal(array, expected[name])


def test_files_program_agrees_with_the_reference(
    run_py: ModuleType, reference_loss: float, tmp_path: Path
) -> None:
    import noma

    files = {name: str(path) for name, path in run_py.mlp_arg_files(tmp_path).items()}
    program = noma.compile(BENCHMARKS / "mlp_files.noma", arg_files=files)
    loss = program.run(args=files)
    assert isinstance(loss, float)
    assert math.isclose(loss, reference_loss, rel_tol=NOMA_TOLERANCE)


def test_torch_is_a_peer_exactly_when_installed(run_py: ModuleType) -> None:
    for name in ("mlp", "digits"):
        bench = run_py.BENCHMARKS[name]
        assert "numpy" in bench.peers
        try:
            import torch  # noqa: F401
        except ImportError:
            assert "torch" not in bench.peers
            assert "not installed" in bench.skipped_peers["torch"]
        else:
            assert "torch" in bench.peers and bench.skipped_peers == {}


def test_targets_compare_ms_per_step(run_py: ModuleType) -> None:
    def timing(ms: float) -> object:
        return run_py.Timing(final_loss=0.2, times_s=[ms / 1e3])

    met = run_py.mlp_targets({"noma": timing(300), "numpy": timing(200), "torch": timing(400)})
    assert met["targets"] == {"noma_le_torch": True, "noma_within_1_5x_numpy": True}
    assert met["target_ratios"] == pytest.approx({"noma_over_torch": 0.75, "noma_over_numpy": 1.5})
    missed = run_py.mlp_targets({"noma": timing(301), "numpy": timing(200)})
    assert missed["targets"] == {"noma_le_torch": None, "noma_within_1_5x_numpy": False}
    assert missed["target_ratios"]["noma_over_torch"] is None


def test_a_disagreement_in_the_digits_sub_report_fails_the_run(
    run_py: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digits = {
        "benchmark": "digits",
        "losses_agree": True,
        "final_loss": {"noma": 0.1, "numpy": 0.1},
        "test_accuracies_agree": False,
        "test_accuracy": {"noma": 0.96, "numpy": 0.97},
    }
    report = {"benchmark": "mlp", "losses_agree": True, "final_loss": {}, "digits": digits}
    output = tmp_path / "mlp.json"
    assert run_py.finish(report, "mlp", output, quick=False) == 1
    assert "mlp (digits): error: the sides' test accuracies differ" in capsys.readouterr().err
    assert not output.exists()


def test_harness_reports_steps_files_digits_and_targets(
    tmp_path: Path, reference_loss: float
) -> None:
    output = tmp_path / "mlp.json"
    proc = harness("mlp", "--quick", "--output", str(output), timeout=1200)
    assert proc.returncode == 0, proc.stderr
    report = report_of(proc)
    sides = {"noma", "noma_files", "numpy"} | ({"torch"} if report["torch_installed"] else set())
    assert set(report["final_loss"]) == sides and report["losses_agree"] is True
    for side in sides:
        assert math.isclose(report["final_loss"][side], reference_loss, rel_tol=PEER_TOLERANCE)
        assert math.isclose(report[f"{side}_ms_per_step"], report[f"{side}_ms"] / 100)
    assert report["steps"] == 100 and report["batch"] == 1797
    assert report["blas_threads"] == dict.fromkeys(
        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"), "1"
    )
    assert set(report["targets"]) == {"noma_le_torch", "noma_within_1_5x_numpy"}
    assert (report["targets"]["noma_le_torch"] is None) == (not report["torch_installed"])
    assert math.isclose(
        report["target_ratios"]["noma_over_numpy"], report["noma_ms"] / report["numpy_ms"]
    )
    if not report["torch_installed"]:
        assert "no torch side: PyTorch is not installed" in proc.stderr
    digits = report["digits"]
    assert digits["benchmark"] == "digits" and digits["epochs"] == 20
    assert digits["losses_agree"] is True and digits["test_accuracies_agree"] is True
    assert set(digits["test_accuracy"]) == sides - {"noma_files"}
    for side in sides - {"noma_files"}:
        assert digits[f"{side}_ms_per_epoch"] > 0
    assert "noma_files_ms" in report["timing_note"]


def test_harness_without_torch_says_why_and_runs_the_rest(tmp_path: Path) -> None:
    env = without_torch(tmp_path / "no_torch")
    proc = harness("mlp", "--quick", "--runs", "1", "--compile-runs", "1", env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    assert "mlp: note: no torch side: PyTorch is not installed (pip install -e '.[bench]')" in (
        proc.stderr
    )
    assert "digits: note: no torch side" in proc.stderr
    report = report_of(proc)
    assert report["torch_installed"] is False and "torch" not in report["final_loss"]
    assert report["skipped_peers"] == {
        "torch": "PyTorch is not installed (pip install -e '.[bench]')"
    }
    assert report["targets"]["noma_le_torch"] is None
    assert report["target_ratios"]["noma_over_torch"] is None
    assert report["digits"]["torch_installed"] is False
    assert set(report["digits"]["test_accuracy"]) == {"noma", "numpy"}


def test_harness_fails_when_a_program_returns_another_loss(tmp_path: Path) -> None:
    program = tmp_path / "stand_in.noma"
    program.write_text("fn main() { return 0.25; }\n")
    output = tmp_path / "mlp.json"
    proc = harness(
        "mlp", "--quick", "--runs", "1", "--example", str(program), "--output", str(output),
        timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "mlp: error: the final losses disagree" in proc.stderr
    assert "Traceback" not in proc.stderr
    report = report_of(proc)
    assert report["losses_agree"] is False and report["final_loss"]["noma"] == 0.25
    assert not output.exists()
