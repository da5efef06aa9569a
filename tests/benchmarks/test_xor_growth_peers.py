"""The self-growing XOR benchmark (benchmarks/run.py xor-growth): its C and
NumPy peers compute the same run as each other and as the independent
reference of tests/examples/test_self_growing_xor.py, in both variants; the
NumPy peer's growth and gradients are right; the examples are what
benchmarks/gen_growth_example.py writes; the harness runs end to end and
reports disagreements. No timing is checked here: timings belong to the
benchmark, not to the tests."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
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
EXAMPLE = ROOT / "examples" / "self_growing_xor.noma"
VARIANTS = [False, True]


@pytest.fixture(scope="module")
def run_py() -> ModuleType:
    return load_script(BENCHMARKS / "run.py")


@pytest.fixture(scope="module")
def peer() -> ModuleType:
    return load_script(BENCHMARKS / "peers" / "xor_growth_numpy.py")


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_script(BENCHMARKS / "gen_growth_example.py")


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    """The test reference (its `reference(reset)`), written apart from the
    peers."""
    path = ROOT / "tests" / "examples" / "test_self_growing_xor.py"
    return load_script(path, prefix="noma_reference_")


@pytest.fixture(scope="module")
def c_peer(run_py: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (`cc`) on PATH")
    return run_py.BENCHMARKS["xor-growth"].peers["c"].build(tmp_path_factory.mktemp("growth_c"))


def run_c(exe: Path, *args: str) -> tuple[list[float], dict]:
    """The losses the C peer printed (with --losses) and its JSON report."""
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=True)
    *losses, report = proc.stdout.splitlines()
    return [float(x) for x in losses], json.loads(report)


def c_args(reset: bool) -> list[str]:
    return ["--losses", *(["--reset"] if reset else []), "1"]


# --------------------------------------------------------------------------
# The peers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reset", VARIANTS, ids=["state_kept", "reset"])
def test_c_and_numpy_peers_agree(c_peer: Path, peer: ModuleType, reset: bool) -> None:
    """Bit for bit with the NumPy peer's EXACT kernels (NOMA's order, the C
    library's exp), to 1e-12 with its idiomatic ones."""
    c_losses, report = run_c(c_peer, *c_args(reset))
    exact = peer.run(reset, kernels=peer.EXACT)
    fast = peer.run(reset)
    assert c_losses == exact.losses
    assert report["final_loss"] == exact.final_loss == c_losses[-1]
    assert report["reset"] is reset
    assert (report["phase1_steps"], report["phase2_steps"]) == (200, exact.phase2_steps)
    assert (fast.phase1_steps, fast.phase2_steps) == (exact.phase1_steps, exact.phase2_steps)
    np.testing.assert_allclose(fast.losses, exact.losses, rtol=1e-12, atol=0)


@pytest.mark.parametrize("reset", VARIANTS, ids=["state_kept", "reset"])
def test_peers_agree_with_the_test_reference(
    c_peer: Path, peer: ModuleType, reference: ModuleType, reset: bool
) -> None:
    expected = reference.reference(reset)
    c_losses, report = run_c(c_peer, *c_args(reset))
    numpy_run = peer.run(reset)
    for losses in (c_losses, numpy_run.losses):
        assert len(losses) == len(expected.losses)
        np.testing.assert_allclose(losses, expected.losses, rtol=1e-9, atol=0)
    assert [numpy_run.phase1_steps, numpy_run.phase2_steps] == expected.phase_steps
    assert [report["phase1_steps"], report["phase2_steps"]] == expected.phase_steps


def test_keeping_the_state_takes_fewer_phase_2_steps(c_peer: Path, peer: ModuleType) -> None:
    kept, reset = run_c(c_peer, "1")[1], run_c(c_peer, "--reset", "1")[1]
    assert kept["phase2_steps"] < reset["phase2_steps"] < 120
    assert peer.run(False).phase2_steps == kept["phase2_steps"]


def test_c_peer_times_every_run(c_peer: Path) -> None:
    losses, report = run_c(c_peer, "3")
    assert losses == []  # nothing printed without --losses
    assert report["runs"] == 3 and len(report["times_s"]) == 3
    assert report["median_s"] == sorted(report["times_s"])[1]


def test_c_peer_rejects_bad_arguments(c_peer: Path) -> None:
    for args in (["0"], ["-3"], ["1", "2"], ["--bogus"], ["3x"]):
        proc = subprocess.run([str(c_peer), *args], check=False, capture_output=True, text=True)
        assert proc.returncode == 2 and "usage" in proc.stderr, args


def test_numpy_peer_grows_index_preserving(peer: ModuleType) -> None:
    old = np.arange(4.0).reshape(2, 2)
    init = np.full((2, 5), -1.0)
    new = peer.grow(old, init)
    assert np.array_equal(new[:, :2], old) and np.all(new[:, 2:] == -1.0)
    assert np.array_equal(peer.grow(new, np.zeros((2, 2))), old)  # shrinking keeps the block
    state = peer.AdamState(np.ones((2, 1)), np.full((2, 1), 2.0), t=7.0)
    state.grow((16, 1))
    assert state.t == 7.0 and state.m.shape == state.v.shape == (16, 1)
    assert np.all(state.m[:2] == 1.0) and np.all(state.v[:2] == 2.0)
    assert not state.m[2:].any() and not state.v[2:].any()
    state.reset()
    assert state.t == 0.0 and not state.m.any() and not state.v.any()


def test_numpy_peer_growth_inits_are_the_json_extras(peer: ModuleType) -> None:
    data = json.loads(INIT.read_text())
    w1_init, w2_init = peer.growth_inits(peer.initial_weights())
    assert w1_init.tolist() == [[0.0, 0.0, *row] for row in data["W1_extra"]]
    assert w2_init.tolist() == [[0.0], [0.0], *data["W2_extra"]]


@pytest.mark.parametrize("hidden", [2, 16])
def test_numpy_peer_gradient_matches_central_finite_differences(
    peer: ModuleType, hidden: int
) -> None:
    rng = np.random.default_rng(11)
    w1, w2 = rng.normal(0, 1.5, (2, hidden)), rng.normal(0, 1.5, (hidden, 1))
    for kernels in (peer.FAST, peer.EXACT):
        _, d1, d2 = peer.loss_and_grads(w1, w2, kernels)
        for which, grad in ((0, d1), (1, d2)):
            numeric = np.zeros_like(grad)
            for index in np.ndindex(grad.shape):
                plus, minus = [w1.copy(), w2.copy()], [w1.copy(), w2.copy()]
                plus[which][index] += 1e-6
                minus[which][index] -= 1e-6
                numeric[index] = (peer.forward(*plus)[2] - peer.forward(*minus)[2]) / 2e-6
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def test_c_header_holds_exactly_the_json_weights(run_py: ModuleType) -> None:
    data = json.loads(INIT.read_text())
    header = run_py.xor_growth_headers()["xor_growth_init.h"]
    for name, key in (("XG_W1", "W1"), ("XG_W2", "W2"), ("XG_W1_EXTRA", "W1_extra")):
        match = re.search(rf"{name}\[(\d+)\]\[(\d+)\] = \{{(.*?)\}};", header, re.DOTALL)
        assert match, name
        values = [float(x) for x in re.findall(r"-?[\d.]+(?:e-?\d+)?", match.group(3))]
        assert values == np.array(data[key]).ravel().tolist()
        assert [int(match.group(1)), int(match.group(2))] == list(np.array(data[key]).shape)


# --------------------------------------------------------------------------
# The generated examples
# --------------------------------------------------------------------------


def test_examples_are_what_the_generator_writes(gen: ModuleType) -> None:
    files = gen.files()
    assert len(files) == 6
    xor_gen = gen.xor_gen()
    for path, text in files.items():
        assert xor_gen.up_to_date(path, text), path
        if path.suffix != ".out":
            assert path.read_text() == text


def test_staleness_check_compares_outputs_line_by_line(gen: ModuleType, tmp_path: Path) -> None:
    xor_gen = gen.xor_gen()
    out = tmp_path / "x.out"
    out.write_text("0.25\n0.125\n")
    assert xor_gen.up_to_date(out, "0.25\n0.125\n")
    assert xor_gen.up_to_date(out, f"0.25\n{0.125 * (1 + 1e-14)!r}\n")
    assert not xor_gen.up_to_date(out, "0.25\n0.126\n")
    assert not xor_gen.up_to_date(out, "0.25\n")
    noma = tmp_path / "x.noma"
    noma.write_text("fn main() { return 1.0; }\n")
    assert not xor_gen.up_to_date(noma, "fn main() { return 1.00; }\n")


def test_placeholders_are_written_as_decimals(gen: ModuleType) -> None:
    assert gen.decimal(0.0) == "0.0"
    assert gen.decimal(-2.0) == "-2.0"
    assert gen.decimal(0.1) == "0.10000000000000001"
    assert gen.decimal(1e-20) == "9.9999999999999995e-21"


# --------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------


def test_output_printed_by_python_while_redirected_stays_redirected() -> None:
    """The NumPy peer prints its losses with print() while timed: with
    Python's stdout block-buffered, what is still buffered when the timing
    ends must go to /dev/null too, not to the report's stdout."""
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "import run\n"
        "with open(os.devnull, 'w') as null:\n"
        "    with run.redirected_output(null.fileno(), null.fileno()):\n"
        "        print('inside')\n"
        "print('after')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    assert proc.stdout == "after\n"


def test_growth_event_program_restores_the_weights(run_py: ModuleType, tmp_path: Path) -> None:
    """The program that times growth_us grows and shrinks back without
    changing a weight."""
    import noma

    program = tmp_path / "growth_event.noma"
    program.write_text(run_py.growth_event_program(3))
    result = noma.compile(program).run()
    assert math.isclose(result, run_py.growth_event_expected(), rel_tol=1e-12)


def test_harness_runs_the_xor_growth_benchmark_end_to_end(
    run_py: ModuleType, tmp_path: Path
) -> None:
    output = tmp_path / "xor-growth.json"
    proc = harness("xor-growth", "--quick", "--output", str(output), "--build-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()  # the JSON alone: the losses went to /dev/null
    report = json.loads(line)
    assert json.loads(output.read_text()) == report
    assert report["losses_agree"] is True and report["phase2_steps_agree"] is True
    assert report["phase2_steps"] == {"noma": 68, "c": 68, "numpy": 68}
    expected = float(EXAMPLE.with_suffix(".out").read_text().splitlines()[-1])
    for loss in report["final_loss"].values():
        assert math.isclose(loss, expected, rel_tol=1e-9)
    assert report["runs"] == {"noma": 3, "c": 3, "numpy": 3, "compile": 1}
    assert report["growth_pairs"] == run_py.GROWTH_PAIRS
    assert report["growth_us"] > 0 and "divided by 2 * " in report["growth_note"]
    assert math.isclose(
        report["growth_us"], report["growth_program_ms"] * 1e3 / (2 * report["growth_pairs"])
    )
    for key in ("noma_ms", "c_ms", "numpy_ms", "compile_s", "c_over_noma", "machine"):
        assert key in report


def stand_in(tmp_path: Path, phase2_steps: int, final: str) -> Path:
    """A program that prints as many numbers as the demo does with
    `phase2_steps` steps in phase 2, and returns `final`."""
    path = tmp_path / "stand_in.noma"
    lines = 200 + phase2_steps + 1
    path.write_text(
        "fn main() {\n    let i = 0;\n"
        f"    while i < {lines} {{\n        print(0.5);\n        i = i + 1;\n    }}\n"
        f"    return {final};\n}}\n"
    )
    return path


def test_harness_reports_disagreeing_phase_2_steps(tmp_path: Path) -> None:
    final = EXAMPLE.with_suffix(".out").read_text().splitlines()[-1]
    program = stand_in(tmp_path, 60, final)
    output = tmp_path / "report.json"
    proc = harness(
        "xor-growth", "--quick", "--example", str(program), "--output", str(output),
        "--build-dir", str(tmp_path / "build"),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "different numbers of phase-2 steps" in proc.stderr
    assert "noma 60, c 68, numpy 68" in proc.stderr and "Traceback" not in proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["losses_agree"] is True and report["phase2_steps_agree"] is False
    assert not output.exists()


def test_harness_fails_clearly_when_noma_cannot_compile(tmp_path: Path) -> None:
    broken = tmp_path / "broken.noma"
    broken.write_text("fn main() {\n    let x = ;\n    return x;\n}\n")
    proc = harness("xor-growth", "--quick", "--example", str(broken), "--build-dir", str(tmp_path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "NOMA cannot compile" in proc.stderr and "broken.noma:2:" in proc.stderr
    assert "the peers ran" in proc.stderr and proc.stdout == ""
