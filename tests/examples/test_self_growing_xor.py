"""The self-growing XOR demo (examples/self_growing_xor.noma and its
reset_optimizer() variant) against a NumPy reference written here, step by
step, independently of the benchmark peers.

The reference follows LANGUAGE.md: each optimize loop runs at most
max_iterations iterations of body, `until` check, step (section 5, as in the
original NOMA) with textbook Adam whose bias correction uses the parameter's own
step count; growth is index preserving and resizes the Adam moments the same
way, new entries zero, the step count going on (section 6); reset_optimizer()
zeroes the moments and the step counts.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from in_process import noma_in_process

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "data" / "xor_init.json"
EXAMPLES = {False: "examples/self_growing_xor.noma", True: "examples/self_growing_xor_reset.noma"}

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])
UNTIL = 0.002
PHASE1 = (0.05, 200)  # (learning rate, max_iterations)
PHASE2 = (0.12, 120)
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
REL = 1e-9


# --------------------------------------------------------------------------
# The reference
# --------------------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def loss_and_grads(w1: np.ndarray, w2: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """mean((pred - Y)^2) for pred = sigmoid(sigmoid(X W1) W2), and its
    gradients with respect to W1 and W2 (chain rule by hand)."""
    hidden = sigmoid(X @ w1)
    pred = sigmoid(hidden @ w2)
    loss = float(np.mean((pred - Y) ** 2))
    d_pred = 2.0 * (pred - Y) / pred.size
    d_out = d_pred * pred * (1.0 - pred)
    d_hidden = (d_out @ w2.T) * hidden * (1.0 - hidden)
    return loss, X.T @ d_hidden, hidden.T @ d_out


@dataclass
class Adam:
    """One parameter's optimizer state."""

    m: np.ndarray
    v: np.ndarray
    t: int = 0

    def step(self, w: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        self.t += 1
        self.m = BETA1 * self.m + (1 - BETA1) * g
        self.v = BETA2 * self.v + (1 - BETA2) * g * g
        m_hat = self.m / (1 - BETA1**self.t)
        v_hat = self.v / (1 - BETA2**self.t)
        return w - lr * m_hat / (np.sqrt(v_hat) + EPS)


def grown(old: np.ndarray, new_values: np.ndarray) -> np.ndarray:
    """realloc: the new shape is new_values'; old elements keep their index."""
    out = new_values.copy()
    out[: old.shape[0], : old.shape[1]] = old
    return out


@dataclass
class Reference:
    losses: list[float] = field(default_factory=list)
    phase_steps: list[int] = field(default_factory=list)
    before: dict[str, np.ndarray] = field(default_factory=dict)  # just before growth
    after: dict[str, np.ndarray] = field(default_factory=dict)  # just after growth
    t_after_growth: tuple[int, int] = (0, 0)


def reference(reset: bool) -> Reference:
    """Both phases of the demo, every loss recorded as the program prints it."""
    data = json.loads(INIT.read_text())
    w1, w2 = np.array(data["W1"]), np.array(data["W2"])
    adam1 = Adam(np.zeros_like(w1), np.zeros_like(w1))
    adam2 = Adam(np.zeros_like(w2), np.zeros_like(w2))
    ref = Reference()
    for phase, (lr, max_iterations) in enumerate((PHASE1, PHASE2)):
        if phase == 1:
            ref.before = {"W1": w1, "W2": w2, "m1": adam1.m, "m2": adam2.m, "v1": adam1.v}
            w1_init = np.hstack([np.zeros((2, 2)), np.array(data["W1_extra"])])
            w2_init = np.vstack([np.zeros((2, 1)), np.array(data["W2_extra"])])
            w1, w2 = grown(w1, w1_init), grown(w2, w2_init)
            for adam, w in ((adam1, w1), (adam2, w2)):
                adam.m = grown(adam.m, np.zeros_like(w))
                adam.v = grown(adam.v, np.zeros_like(w))
                if reset:
                    adam.m, adam.v, adam.t = np.zeros_like(w), np.zeros_like(w), 0
            ref.after = {"W1": w1, "W2": w2, "m1": adam1.m, "m2": adam2.m, "v1": adam1.v}
            ref.t_after_growth = (adam1.t, adam2.t)
        steps = 0
        for _ in range(max_iterations):
            loss, g1, g2 = loss_and_grads(w1, w2)
            ref.losses.append(loss)
            if loss < UNTIL:
                break
            w1, w2 = adam1.step(w1, g1, lr), adam2.step(w2, g2, lr)
            steps += 1
        ref.phase_steps.append(steps)
    return ref


@pytest.fixture(scope="module", params=[False, True], ids=["state_kept", "reset"])
def variant(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture(scope="module")
def references() -> dict[bool, Reference]:
    return {reset: reference(reset) for reset in (False, True)}


# --------------------------------------------------------------------------
# The reference is sane
# --------------------------------------------------------------------------


def test_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    for hidden in (2, 16):
        w1, w2 = rng.normal(0, 1, (2, hidden)), rng.normal(0, 1, (hidden, 1))
        _, g1, g2 = loss_and_grads(w1, w2)
        for w, g in ((w1, g1), (w2, g2)):
            numeric = np.zeros_like(w)
            for index in np.ndindex(w.shape):
                saved = w[index]
                w[index] = saved + 1e-6
                plus = loss_and_grads(w1, w2)[0]
                w[index] = saved - 1e-6
                minus = loss_and_grads(w1, w2)[0]
                w[index] = saved
                numeric[index] = (plus - minus) / 2e-6
            np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-9)


def test_phase_1_never_reaches_the_target(references: dict[bool, Reference]) -> None:
    """200 losses (the last before the 200th step, which the loop still
    takes), all above 0.002, the same in both variants; and training does
    lower the loss."""
    kept, reset = references[False], references[True]
    assert kept.phase_steps[0] == reset.phase_steps[0] == 200
    assert kept.losses[:200] == reset.losses[:200]
    assert min(kept.losses[:200]) > UNTIL
    assert kept.losses[199] < kept.losses[0]


def test_growth_is_index_preserving(references: dict[bool, Reference]) -> None:
    data = json.loads(INIT.read_text())
    for ref in references.values():
        before, after = ref.before, ref.after
        assert after["W1"].shape == (2, 16) and after["W2"].shape == (16, 1)
        assert np.array_equal(after["W1"][:, :2], before["W1"])
        assert np.array_equal(after["W1"][:, 2:], data["W1_extra"])
        assert np.array_equal(after["W2"][:2], before["W2"])
        assert np.array_equal(after["W2"][2:], data["W2_extra"])
    kept = references[False]
    assert np.abs(kept.before["m1"]).min() > 0  # there is state to keep
    for key in ("m1", "m2", "v1"):
        assert np.array_equal(kept.after[key][:2, :2], kept.before[key][:2, :2])
        assert not kept.after[key][:, 2:].any() and not kept.after[key][2:, :].any()
    assert kept.t_after_growth == (200, 200)
    reset = references[True]
    assert reset.t_after_growth == (0, 0) and not reset.after["m1"].any()


def test_both_variants_reach_the_target_in_phase_2(references: dict[bool, Reference]) -> None:
    for ref in references.values():
        steps = ref.phase_steps[1]
        assert len(ref.losses) == 200 + steps + 1
        assert ref.losses[-1] < UNTIL <= min(ref.losses[200:-1])
        assert steps < PHASE2[1]
    assert references[False].phase_steps[1] == 68
    assert references[True].phase_steps[1] == 119


def tensor_literal(source: str, statement: str) -> list:
    """The tensor literal that follows `statement` (up to its `;`), read as
    JSON once its trailing commas are gone."""
    match = re.search(re.escape(statement) + r"\s*(\[.*?\]);", source, re.DOTALL)
    assert match, f"no `{statement} ...;` in the example"
    return json.loads(re.sub(r",(\s*\])", r"\1", match.group(1)))


def test_the_example_is_the_program_of_the_reference() -> None:
    """The programs train what the reference computes: the JSON weights,
    the growth init tensors (the extras after placeholders), the learning
    rates, the budgets and the target; only the reset variant calls
    reset_optimizer(), right after the growth."""
    data = json.loads(INIT.read_text())
    for reset, name in EXAMPLES.items():
        source = re.sub(r"//[^\n]*", "", (ROOT / name).read_text())
        assert tensor_literal(source, "learn W1 = tensor") == data["W1"]
        assert tensor_literal(source, "learn W2 = tensor") == data["W2"]
        w1_init = tensor_literal(source, "realloc W1 = [2, 16] init tensor")
        assert w1_init == [[0.0, 0.0, *row] for row in data["W1_extra"]]
        w2_init = tensor_literal(source, "realloc W2 = [16, 1] init tensor")
        assert w2_init == [[0.0], [0.0], *data["W2_extra"]]
        assert "optimize(W1, W2) with adam(0.05) until loss < 0.002 {" in source
        assert "optimize(W1, W2) with adam(0.12) until loss < 0.002 {" in source
        assert "let max_iterations = 200;" in source and "let max_iterations = 120;" in source
        assert source.index("adam(0.05)") < source.index("realloc") < source.index("adam(0.12)")
        growth_then_reset = re.search(r"realloc W2 = [^;]*;\s*reset_optimizer\(\);", source)
        assert (growth_then_reset is not None) == reset
        assert source.count("reset_optimizer") == int(reset)


# --------------------------------------------------------------------------
# The expected outputs and NOMA itself
# --------------------------------------------------------------------------


def assert_losses_match(printed: list[float], expected: list[float]) -> None:
    assert len(printed) == len(expected)
    for i, (got, want) in enumerate(zip(printed, expected, strict=True)):
        assert math.isclose(got, want, rel_tol=REL, abs_tol=0.0), (i, got, want)


def parse_output(text: str) -> tuple[list[float], float]:
    """The printed losses and main's result (the last line)."""
    values = [float(line) for line in text.splitlines()]
    return values[:-1], values[-1]


def test_expected_outputs_match_the_reference(
    variant: bool, references: dict[bool, Reference]
) -> None:
    """examples/*.out, which test_examples.py compares with NOMA's output
    exactly, hold the reference's losses; `.err` the warning of phase 1,
    located at its `optimize` keyword."""
    example = ROOT / EXAMPLES[variant]
    losses, result = parse_output(example.with_suffix(".out").read_text())
    ref = references[variant]
    assert_losses_match(losses, ref.losses)
    assert result == losses[-1]
    line = next(
        i for i, text in enumerate(example.read_text().splitlines(), 1) if "adam(0.05)" in text
    )
    assert example.with_suffix(".err").read_text() == (
        f"{EXAMPLES[variant]}:{line}:5: warning: optimize loop stopped after "
        "max_iterations = 200 steps before its `until` condition held\n"
    )


def noma_run(name: str) -> subprocess.CompletedProcess[str]:
    """`noma run NAME` in the root, in this process, on the session's compile
    of the example (tests/support/in_process.py)."""
    return noma_in_process("run", name, cwd=ROOT, share_compile=True)


@pytest.fixture(scope="module")
def noma_outputs() -> dict[bool, subprocess.CompletedProcess[str]]:
    return {reset: noma_run(name) for reset, name in EXAMPLES.items()}


def test_noma_prints_the_reference_losses(
    variant: bool,
    references: dict[bool, Reference],
    noma_outputs: dict[bool, subprocess.CompletedProcess[str]],
) -> None:
    proc = noma_outputs[variant]
    assert proc.returncode == 0, proc.stderr
    losses, result = parse_output(proc.stdout)
    assert_losses_match(losses, references[variant].losses)
    assert result == losses[-1]
    assert proc.stderr.count("warning:") == 1 and "max_iterations = 200 steps" in proc.stderr


def test_keeping_the_optimizer_state_reaches_the_target_sooner(
    references: dict[bool, Reference],
    noma_outputs: dict[bool, subprocess.CompletedProcess[str]],
) -> None:
    phase2_steps = {}
    for reset, proc in noma_outputs.items():
        assert proc.returncode == 0, proc.stderr
        losses, _ = parse_output(proc.stdout)
        first_below = next(i for i, loss in enumerate(losses[200:]) if loss < UNTIL)
        assert first_below == len(losses) - 201  # the loop stopped there
        phase2_steps[reset] = first_below
        assert first_below == references[reset].phase_steps[1]
    assert phase2_steps[False] < phase2_steps[True]


# --------------------------------------------------------------------------
# The plot of docs/
# --------------------------------------------------------------------------

PLOT = ROOT / "docs" / "plot_self_growing_xor.py"


def plot_script(*args: str, hide_matplotlib: bool = False) -> subprocess.CompletedProcess[str]:
    """Runs docs/plot_self_growing_xor.py, optionally as if matplotlib were
    not installed."""
    hide = "import sys; sys.modules['matplotlib'] = None; " if hide_matplotlib else ""
    code = f"{hide}import runpy, sys; sys.argv = ['plot', *sys.argv[1:]]; "
    code += f"runpy.run_path({str(PLOT)!r}, run_name='__main__')"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def test_plot_says_how_to_install_matplotlib(tmp_path: Path) -> None:
    output = tmp_path / "plot.png"
    proc = plot_script("--expected", "--output", str(output), hide_matplotlib=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "plot_self_growing_xor.py: error: matplotlib is missing: pip install -e '.[plot]'"
    ]
    assert not output.exists()


def test_plot_writes_a_png_of_both_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    output = tmp_path / "images" / "plot.png"
    proc = plot_script("--expected", "--output", str(output))
    assert proc.returncode == 0, proc.stderr
    assert output.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in output.parent.iterdir()] == ["plot.png"]  # no temporary left
