"""The XOR benchmark's peers and program (benchmarks/run.py xor): the C and
NumPy peers compute the same training, the NumPy peer's hand-written
gradients are right, the NOMA program carries exactly the initial weights of
data/xor_init.json, and the harness runs end to end. No timing is checked
here: timings belong to the benchmark, not to the tests."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from bench_harness import harness

from scripts import load_script

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
INIT = ROOT / "data" / "xor_init.json"
EXAMPLE = ROOT / "examples" / "xor_2_16_1.noma"


@pytest.fixture(scope="module")
def run_py() -> ModuleType:
    return load_script(BENCHMARKS / "run.py")


@pytest.fixture(scope="module")
def peer() -> ModuleType:
    return load_script(BENCHMARKS / "peers" / "xor_numpy.py")


@pytest.fixture(scope="module")
def c_peer(run_py: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (`cc`) on PATH")
    return run_py.BENCHMARKS["xor"].peers["c"].build(tmp_path_factory.mktemp("xor_c"))


def json_weights() -> tuple[list[list[float]], list[list[float]]]:
    """W1 = [W1 | W1_extra] (2x16), W2 = [W2 ; W2_extra] (16x1), from the JSON."""
    data = json.loads(INIT.read_text())
    w1 = [a + b for a, b in zip(data["W1"], data["W1_extra"], strict=True)]
    w2 = data["W2"] + data["W2_extra"]
    return w1, w2


# --------------------------------------------------------------------------
# The peers
# --------------------------------------------------------------------------


def run_c(exe: Path, runs: int) -> dict:
    proc = subprocess.run([str(exe), str(runs)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_c_and_numpy_peers_reach_the_same_final_loss(c_peer: Path, peer: ModuleType) -> None:
    report = run_c(c_peer, 2)
    assert report["runs"] == 2 and len(report["times_s"]) == 2
    numpy_loss, seconds = peer.train()
    assert seconds > 0
    assert math.isclose(report["final_loss"], numpy_loss, rel_tol=1e-9, abs_tol=0.0)
    # The loss went down from its initial value: this is training, not a no-op.
    _, _, initial = peer.forward(*peer.initial_weights())
    assert numpy_loss < 0.01 * initial


def test_c_peer_rejects_bad_arguments(c_peer: Path) -> None:
    for args in (["0"], ["-3"], ["1", "2"]):
        proc = subprocess.run([str(c_peer), *args], check=False, capture_output=True, text=True)
        assert proc.returncode == 2 and "usage" in proc.stderr


def test_numpy_peer_leaves_the_initial_weights_alone(peer: ModuleType) -> None:
    w1, w2 = peer.initial_weights()
    before = w1.copy(), w2.copy()
    first, _ = peer.train(w1, w2)
    assert np.array_equal(w1, before[0]) and np.array_equal(w2, before[1])
    assert peer.train(w1, w2)[0] == first


def finite_differences(peer: ModuleType, w1: np.ndarray, w2: np.ndarray, h: float = 1e-6):
    def loss(a: np.ndarray, b: np.ndarray) -> float:
        return peer.forward(a, b)[2]

    grads = []
    for which in (0, 1):
        params = [w1, w2]
        grad = np.zeros_like(params[which])
        for index in np.ndindex(grad.shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[which][index] += h
            minus[which][index] -= h
            grad[index] = (loss(*plus) - loss(*minus)) / (2 * h)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("point", ["initial", "random", "trained_halfway"])
def test_numpy_peer_gradient_matches_central_finite_differences(
    peer: ModuleType, point: str
) -> None:
    w1, w2 = peer.initial_weights()
    if point == "random":
        rng = np.random.default_rng(7)
        w1, w2 = rng.normal(0, 1.5, w1.shape), rng.normal(0, 1.5, w2.shape)
    elif point == "trained_halfway":
        # Where training has moved the weights: plain gradient descent steps.
        for _ in range(200):
            _, d1, d2 = peer.loss_and_grads(w1, w2)
            w1, w2 = w1 - 2.0 * d1, w2 - 2.0 * d2
    _, d1, d2 = peer.loss_and_grads(w1, w2)
    f1, f2 = finite_differences(peer, w1, w2)
    assert d1.shape == (2, 16) and d2.shape == (16, 1)
    scale = max(np.abs(f1).max(), np.abs(f2).max())
    assert scale > 0
    np.testing.assert_allclose(d1, f1, rtol=1e-5, atol=1e-7 * scale)
    np.testing.assert_allclose(d2, f2, rtol=1e-5, atol=1e-7 * scale)


def test_peers_use_the_json_weights(peer: ModuleType, run_py: ModuleType) -> None:
    w1, w2 = json_weights()
    a, b = peer.initial_weights()
    assert a.tolist() == w1 and b.tolist() == w2
    c1, c2 = run_py.xor_weights()
    assert c1 == w1 and c2 == [row[0] for row in w2]


# --------------------------------------------------------------------------
# The NOMA program
# --------------------------------------------------------------------------


def literal(source: str, name: str) -> list:
    """The tensor literal of `learn NAME = tensor [...];` or `let NAME = ...;`
    read as JSON (its numbers are plain decimals, negative ones written with a
    leading minus)."""
    match = re.search(rf"\b(?:learn|let)\s+{name}\s*=\s*tensor\s*(\[.*?\]);", source, re.DOTALL)
    assert match, f"no tensor literal for {name}"
    return json.loads(re.sub(r",(\s*\])", r"\1", match.group(1)))  # trailing commas


def test_example_weights_are_exactly_the_json_weights() -> None:
    source = EXAMPLE.read_text()
    w1, w2 = json_weights()
    assert literal(source, "W1") == w1
    assert literal(source, "W2") == w2
    assert literal(source, "X") == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert literal(source, "Y") == [[0.0], [1.0], [1.0], [0.0]]


def test_example_trains_as_the_peers_do() -> None:
    source = re.sub(r"//[^\n]*", "", EXAMPLE.read_text())
    assert re.search(r"let max_iterations = 320;", source)
    assert re.search(r"optimize\(W1, W2\) with adam\(0\.05\) until loss < 0 \{", source)
    for line in (
        "let hidden = sigmoid(matmul(X, W1));",
        "let pred = sigmoid(matmul(hidden, W2));",
        "let loss = mean((pred - Y) * (pred - Y));",
        "minimize loss;",
        "return loss;",
    ):
        assert line in source


def test_example_is_what_the_generator_writes() -> None:
    gen = load_script(BENCHMARKS / "gen_xor_example.py")
    assert EXAMPLE.read_text() == gen.render()


def test_expected_output_is_the_peers_final_loss(c_peer: Path, peer: ModuleType) -> None:
    """examples/xor_2_16_1.out holds main's result, the final loss, in repr
    form; both peers agree with it."""
    text = EXAMPLE.with_suffix(".out").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 1
    expected = float(text)
    assert repr(expected) == text.strip()
    assert math.isclose(peer.train()[0], expected, rel_tol=1e-12)
    assert math.isclose(run_c(c_peer, 1)["final_loss"], expected, rel_tol=1e-12)


# --------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------


REQUIRED_KEYS = {
    "noma_ms",
    "c_ms",
    "numpy_ms",
    "compile_s",
    "c_over_noma",
    "numpy_over_noma",
    "final_loss",
    "runs",
    "machine",
}


def check_report(report: dict, runs: int) -> None:
    assert REQUIRED_KEYS <= report.keys()
    assert set(report["final_loss"]) == {"noma", "c", "numpy"}
    assert report["runs"] == {"noma": runs, "c": runs, "numpy": runs, "compile": 1}
    assert report["losses_agree"] is True
    for key in ("cpu", "python", "numpy", "llvmlite", "cc"):
        assert key in report["machine"]
    assert math.isclose(report["c_over_noma"], report["c_ms"] / report["noma_ms"])


def test_harness_runs_the_xor_benchmark_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "xor.json"
    proc = harness("xor", "--quick", "--output", str(output), "--build-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    check_report(report, runs=3)
    assert json.loads(output.read_text()) == report
    losses = report["final_loss"]
    assert math.isclose(losses["noma"], losses["c"], rel_tol=1e-9)
    expected = float(EXAMPLE.with_suffix(".out").read_text())
    assert math.isclose(losses["noma"], expected, rel_tol=1e-9)


def test_harness_machinery_with_a_stand_in_program(tmp_path: Path) -> None:
    """Every step of the harness but the real NOMA training: a scalar program
    that returns the expected loss stands in for examples/xor_2_16_1.noma."""
    expected = EXAMPLE.with_suffix(".out").read_text().strip()
    stand_in = tmp_path / "stand_in.noma"
    stand_in.write_text(
        f'fn main() {{\n    print("noise on stdout");\n    return {expected};\n}}\n'
    )
    output = tmp_path / "out" / "xor.json"
    proc = harness(
        "xor", "--quick", "--example", str(stand_in), "--output", str(output),
        "--build-dir", str(tmp_path / "build"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert "noise on stdout" not in proc.stdout  # the program's output is discarded
    report = json.loads(lines[-1])
    check_report(report, runs=3)
    assert json.loads(output.read_text()) == report
    assert not list(output.parent.glob(".*.tmp"))


def test_harness_reports_disagreeing_losses(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.noma"
    wrong.write_text("fn main() {\n    return 0.5;\n}\n")
    output = tmp_path / "xor.json"
    proc = harness(
        "xor", "--quick", "--example", str(wrong), "--output", str(output),
        "--build-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 1
    assert "final losses disagree" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["losses_agree"] is False
    assert not output.exists()


def test_harness_fails_clearly_when_noma_cannot_compile(tmp_path: Path) -> None:
    broken = tmp_path / "broken.noma"
    broken.write_text("fn main() {\n    let x = ;\n    return x;\n}\n")
    proc = harness("xor", "--quick", "--example", str(broken), "--build-dir", str(tmp_path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "NOMA cannot compile" in proc.stderr
    assert "broken.noma:2:" in proc.stderr  # NOMA's located diagnostic
    assert "the peers ran" in proc.stderr
    assert proc.stdout == ""


def test_harness_usage_errors(tmp_path: Path) -> None:
    assert harness().returncode == 2
    assert harness("xor", "--runs", "0").returncode == 2
    assert harness("no-such-benchmark").returncode == 2
    proc = harness("xor", "--help")
    assert proc.returncode == 0 and "--quick" in proc.stdout and "--runs" in proc.stdout
