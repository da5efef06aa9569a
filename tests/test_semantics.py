"""Language semantics end to end (compiled and run in-process), against the
reference semantics in tests/support/reference_training.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from programs import run_cli
from reference_training import Optimizer, optimize

import noma
from noma.frontend.diagnostics import NomaError


def run(source: str) -> tuple[float | None, list[str]]:
    """Run `source`; gives main's result and the lines it printed (through
    Python's sys.stdout, as under the Python API)."""
    import io
    from contextlib import redirect_stdout

    program = noma.compile(source)
    with redirect_stdout(io.StringIO()) as out:
        result = program.run()
    return result, out.getvalue().splitlines()


def test_optimizer_state_persists_across_loops_until_reset() -> None:
    """Adam's moments and step count carry over from one optimize loop to the
    next; reset_optimizer clears them."""
    source = """
fn main() {
    learn x = 0.0;
    let max_iterations = 7;
    optimize(x) with adam(0.1) until loss < 0 { let loss = (x - 5) ** 2; minimize loss; }
    print(x);
    optimize(x) with adam(0.1) until loss < 0 { let loss = (x - 5) ** 2; minimize loss; }
    print(x);
    reset_optimizer();
    optimize(x) with adam(0.1) until loss < 0 { let loss = (x - 5) ** 2; minimize loss; }
    return x;
}"""
    _, printed = run(source)
    result, _ = run(source)

    p = {"x": 0.0}
    opt = Optimizer("adam", lr=0.1)
    expected = []
    for reset in (False, False, True):
        if reset:
            opt.state.clear()
        optimize(
            p,
            opt,
            lambda p: {"loss": (p["x"] - 5) ** 2},
            lambda v: False,
            lambda p: {"x": 2 * (p["x"] - 5)},
            max_iterations=7,
        )
        expected.append(p["x"])
    assert [float(v) for v in printed[:2]] == pytest.approx(expected[:2], rel=1e-14)
    assert result == pytest.approx(expected[2], rel=1e-14)
    # Without the carried state the second loop would restart the bias
    # correction, which gives a different point.
    fresh = {"x": expected[0]}
    optimize(
        fresh,
        Optimizer("adam", lr=0.1),
        lambda p: {"loss": 0.0},
        lambda v: False,
        lambda p: {"x": 2 * (p["x"] - 5)},
        max_iterations=7,
    )
    assert not math.isclose(fresh["x"], expected[1], rel_tol=1e-9)


def test_reset_optimizer_of_one_parameter() -> None:
    source = """
fn main() {
    learn a = 0.0;
    learn b = 0.0;
    let max_iterations = 5;
    optimize(a, b) with adam(0.1) until 0 { let loss = (a - 1) ** 2 + (b - 2) ** 2; minimize loss; }
    reset_optimizer(b);
    optimize(a, b) with adam(0.1) until 0 { let loss = (a - 1) ** 2 + (b - 2) ** 2; minimize loss; }
    print(a);
    return b;
}"""
    result, printed = run(source)
    p = {"a": 0.0, "b": 0.0}
    opt = Optimizer("adam", lr=0.1)

    def grad(p: dict[str, float]) -> dict[str, float]:
        return {"a": 2 * (p["a"] - 1), "b": 2 * (p["b"] - 2)}

    optimize(p, opt, lambda p: {}, lambda v: False, grad, max_iterations=5)
    del opt.state["b"]
    optimize(p, opt, lambda p: {}, lambda v: False, grad, max_iterations=5)
    assert float(printed[0]) == pytest.approx(p["a"], rel=1e-14)
    assert result == pytest.approx(p["b"], rel=1e-14)


def test_with_clause_wins_over_compatible_variables() -> None:
    result, _ = run("""
fn main() {
    let optimizer = 2;
    let learning_rate = 0.5;
    learn x = 1.0;
    let max_iterations = 1;
    optimize(x) with sgd(0.25) until 0 { let loss = x * x; minimize loss; }
    return x;
}""")
    assert result == 1.0 - 0.25 * 2.0  # one plain SGD step with the clause's lr


def test_with_clause_ignores_compatible_hyper_parameters_but_not_the_budget() -> None:
    """A `beta2` meant for Adam does not change RMSprop's decay chosen by the
    clause; `max_iterations` still bounds the steps."""
    result, _ = run("""
fn main() {
    let beta2 = 0.999;
    let max_iterations = 1;
    learn x = 1.0;
    optimize(x) with rmsprop(0.1) until 0 { let loss = x * x; minimize loss; }
    return x;
}""")
    g = 2.0
    v = (1 - 0.9) * g * g  # RMSprop's default decay, 0.9
    assert result == pytest.approx(1.0 - 0.1 * g / (math.sqrt(v) + 1e-8), rel=1e-15)


def test_fractional_step_budget_is_truncated() -> None:
    result, _ = run("""
fn main() {
    let max_iterations = 2.5;
    let steps = 0;
    learn x = 1.0;
    optimize(x) with sgd(0.25) until 0 { let loss = x * x; steps = steps + 1; minimize loss; }
    return [steps, x];
}""")
    assert list(result) == [2.0, 0.25]  # two iterations, each with its step: x halves twice


def test_the_body_runs_at_most_max_iterations_times() -> None:
    """As in the original NOMA: each iteration is body, `until` check, step;
    the last one steps too, and the names of the body keep their values from
    it, computed before its step."""
    result, printed = run("""
fn main() {
    learn x = 0.0;
    let max_iterations = 6;
    optimize(x) with adam(0.1) until loss < 0 {
        let loss = (x - 5) ** 2;
        print(loss);
        minimize loss;
    }
    print(loss);
    return x;
}""")
    p = {"x": 0.0}
    losses: list[float] = []

    def body(p: dict[str, float]) -> dict[str, float]:
        losses.append((p["x"] - 5) ** 2)
        return {"loss": losses[-1]}

    values, steps, converged = optimize(
        p,
        Optimizer("adam", lr=0.1),
        body,
        lambda v: v["loss"] < 0,
        lambda p: {"x": 2 * (p["x"] - 5)},
        max_iterations=6,
    )
    assert (steps, converged, len(losses)) == (6, False, 6)
    assert [float(v) for v in printed] == pytest.approx([*losses, values["loss"]], rel=1e-14)
    assert result == pytest.approx(p["x"], rel=1e-14)
    assert float(printed[-1]) != pytest.approx((p["x"] - 5) ** 2)  # not at the final x


@pytest.mark.parametrize("budget", ["0", "-2", "0.5", "0 / 0"])
def test_a_budget_below_one_runs_no_iteration(tmp_path: Path, budget: str) -> None:
    """No body run, no step; the variables the body assigns keep their
    values; a name the body defines has no value after the loop: reading it
    is a located run-time error, after the warning."""
    source = f"""
fn main() {{
    learn x = 1.0;
    let runs = 0;
    optimize(x) with sgd(0.25, max_iterations={budget}) until 0 {{
        let loss = x * x;
        runs = runs + 1;
        print(runs);
        minimize loss;
    }}
    print(runs);
    print(x);
    LAST
}}"""
    shown = "nan" if budget == "0 / 0" else budget
    warning = (
        f"p.noma:5:5: warning: optimize loop stopped after max_iterations = {shown} steps "
        "before its `until` condition held\n"
    )
    proc = run_cli(tmp_path, source.replace("LAST", "return x;"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "0.0\n1.0\n1.0\n", warning)
    proc = run_cli(tmp_path, source.replace("LAST", "return loss;"))
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == warning + (
        f"p.noma:5:5: runtime error: the optimize loop ran no iteration (max_iterations = {shown}"
        "): the names its body defines have no value after it\n"
    )


def test_trains_every_parameter_the_objective_depends_on() -> None:
    """The parenthesised list does not limit training (compatible)."""
    result, printed = run("""
fn main() {
    learn a = 1.0;
    learn b = 1.0;
    let max_iterations = 1;
    optimize(a) with sgd(0.5) until 0 { let loss = a * b; minimize loss; }
    print(a);
    return b;
}""")
    assert (float(printed[0]), result) == (0.5, 0.5)


def test_until_is_checked_before_stepping() -> None:
    """If the condition already holds, no step is taken."""
    result, _ = run("""
fn main() {
    learn x = 3.0;
    optimize(x) with sgd(0.1) until loss > 1 { let loss = x * x; minimize loss; }
    return x;
}""")
    assert result == 3.0


def test_body_names_stay_visible_with_final_values() -> None:
    result, printed = run("""
fn main() {
    learn x = 1.0;
    let steps = 0;
    optimize(x) with sgd(0.25) until loss < 0.01 {
        let loss = x * x;
        steps = steps + 1;
        minimize loss;
    }
    print(steps);
    return loss;
}""")
    # x halves each step: 1, .5, .25, .125, .0625 -> loss .00390625 after 4 steps.
    assert printed == ["5.0"]
    assert result == 0.0625**2


def test_let_shadows_and_assignment_updates() -> None:
    result, printed = run("""
fn main() {
    let x = 1;
    let x = x + 1;
    if x > 1 { x = x * 10; }
    print(x);
    let i = 0;
    while i < 3 { let x = 100; i = i + 1; }
    return x;
}""")
    assert printed == ["20.0"] and result == 20.0


def test_functions_named_like_c_symbols() -> None:
    """User functions do not capture calls made by the runtime or by LLVM's
    lowering of intrinsics (malloc, tanh, ...)."""
    result, _ = run("""
fn malloc(n) { return n * 2; }
fn tanh2(x) { return x; }
fn cbrt(x) { return x + 1; }
fn main() {
    learn w = 0.5;
    optimize(w) with sgd(0.1) until loss < 0.01 { let loss = (malloc(w) - cbrt(1)) ** 2; minimize loss; }
    return tanh(malloc(1)) + cbrt(0);
}""")
    assert result == pytest.approx(math.tanh(2) + 1)


def test_short_circuit_skips_the_right_operand() -> None:
    _, printed = run("""
fn noisy(v) { print(v); return v; }
fn main() {
    let a = 0 && noisy(1);
    let b = 1 || noisy(2);
    let c = 1 && noisy(3);
    print(a + b + c);
}""")
    assert printed == ["3.0", "2.0"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "fn main() { learn w = 1; optimize(w) until 0 { w = 2; minimize w; } }",
            "cannot assign to learnable parameter 'w'",
        ),
        (
            "fn main() { learn w = 1; optimize(w) until 0 { learn v = 1; minimize w; } }",
            "`learn` cannot declare a parameter inside an optimize loop",
        ),
        (
            "fn main() { learn w = 1; optimize(w) until 0 { minimize w; minimize w; } }",
            "exactly one `minimize`; the first is at 1:48",
        ),
        (
            "fn main() { learn w = 1; optimize(w) with lbfgs(1) until 0 { minimize w; } }",
            "unknown optimizer 'lbfgs' (expected sgd, adam, rmsprop)",
        ),
        (
            "fn main() { learn w = 1; optimize(w) with sgd(1, 2) until 0 { minimize w; } }",
            "sgd takes at most 1 positional argument (lr)",
        ),
        (
            "fn main() { learn w = 1; optimize(w) with sgd(0.1, beta1=0.5) until 0 { minimize w; } }",
            "sgd has no argument 'beta1' (it takes lr, learning_rate, max_iterations, max_iter, iterations)",
        ),
        (
            "fn main() { learn w = 1; optimize(w) with adam(beta=0.5) until 0 { minimize w; } }",
            "adam has no argument 'beta'",
        ),
        (
            "fn main() { let optimizer = 4; learn w = 1; optimize(w) until 0 { minimize w; } }",
            "`optimizer` must be 1 (SGD), 2 (Adam) or 3 (RMSprop), got 4",
        ),
        (
            "fn main() { learn w = 1; optimize(w) until 0 { minimize 3; } }",
            "the objective does not depend on any learnable parameter",
        ),
        (
            "fn f(x) { if x { return 1; } } fn main() { return f(1); }",
            "function 'f' does not return a value on every path",
        ),
        ("fn main() { return 1; print(2); }", "this code is never run"),
        (
            "fn main() { learn w = 1; optimize(w) until 0 { optimize(w) until 0 { minimize w; } minimize w; } }",
            "optimize loops cannot be nested",
        ),
    ],
)
def test_semantic_errors_are_located(source: str, message: str) -> None:
    program = noma.compile(source)
    with pytest.raises(NomaError) as info:
        program.llvm_ir
    assert message in info.value.message
    assert info.value.loc is not None
