"""`batch` loops and mini-batch training end to end (LANGUAGE.md sections 4
and 5): the blocks a loop walks (the short last one included), the block
number, lockstep tensors, control flow and assignments in the body, every
compile-time and run-time error with its location; then `minimize` inside a
`batch` loop of an optimize body, one step per block, against Python
re-implementations of the same training: SGD and Adam, the `until` check once
per pass, `max_iterations` counting passes."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from programs import run_cli
from reference_training import Optimizer

import noma
from noma.compiler import ProgramError
from noma.frontend.diagnostics import NomaError

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parent.parent


def literal(a: np.ndarray) -> str:
    return "tensor " + np.array2string(a, separator=", ", threshold=10**6).replace("\n", "")


def blocks(rows: int, size: float) -> list[slice]:
    """The row blocks of a `batch` loop over `rows` rows with batch size `size`."""
    per_block = min(int(size), rows)
    return [slice(start, min(start + per_block, rows)) for start in range(0, rows, per_block)]


# -- the blocks a loop walks --------------------------------------------------------


def test_blocks_have_n_rows_and_the_last_one_is_shorter(tmp_path: Path) -> None:
    source = """
fn main() {
    let X = tensor [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]];
    batch xb, i in X with 2 {
        print(i);
        print(xb);
    }
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "0.0",
        "[[1.0, 2.0], [3.0, 4.0]]",
        "1.0",
        "[[5.0, 6.0], [7.0, 8.0]]",
        "2.0",
        "[[9.0, 10.0]]",
    ]


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((5,), 2),
        ((5, 2), 1),
        ((5, 2), 2.9),  # truncated toward zero: blocks of 2
        ((6, 2), 3),  # every block full
        ((5, 2), 5),
        ((5, 2), 7),  # one block of all rows
        ((4, 2, 3), 3),
        ((1, 3), 4),
        ((7, 2), "runtime"),  # known only when the program runs: 3
    ],
)
def test_blocks_match_numpy(shape: tuple[int, ...], size: float | str) -> None:
    X = np.arange(1, math.prod(shape) + 1, dtype=np.float64).reshape(shape)
    n = "sum(tensor [3.0])" if size == "runtime" else str(size)
    source = f"""
fn main() {{
    let X = {literal(X)};
    let weighted = 0;
    let elements = 0;
    let count = 0;
    batch xb, i in X with {n} {{
        weighted = weighted + (i + 1) * sum(xb * xb);
        elements = elements + sum(xb * 0 + 1);
        count = count + 1;
    }}
    return [weighted, elements, count];
}}
"""
    expected_blocks = blocks(shape[0], 3 if size == "runtime" else float(size))
    weighted = sum((k + 1) * float((X[b] ** 2).sum()) for k, b in enumerate(expected_blocks))
    expected = [weighted, X.size, len(expected_blocks)]
    np.testing.assert_array_equal(noma.compile(source).run(), expected)


@pytest.mark.parametrize(
    ("rows", "size", "block_type"),
    [(4, 2, "tensor<2x2xf64>"), (5, 2, "tensor<?x2xf64>"), (5, 9, "tensor<5x2xf64>")],
)
def test_blocks_are_static_when_every_block_has_the_same_known_size(
    rows: int, size: int, block_type: str
) -> None:
    X = np.ones((rows, 2))
    source = f"fn main() {{ let X = {literal(X)}; batch xb in X with {size} {{ print(xb); }} }}"
    ir = str(noma.compile(source).ir("noma"))
    assert re.search(
        rf"noma\.rows %X\[%\w+, %\w+\] : tensor<{rows}x2xf64> -> {re.escape(block_type)}", ir
    )


def test_lockstep_blocks_come_from_the_same_rows() -> None:
    X = np.arange(10.0).reshape(5, 2)
    Y = np.arange(5.0).reshape(5, 1) * 10
    source = f"""
fn main() {{
    let X = {literal(X)};
    let Y = {literal(Y)};
    let total = 0;
    batch xb, yb, k in X, Y with 2 {{
        total = total + (k + 1) * sum(xb) * sum(yb);
    }}
    return total;
}}
"""
    expected = sum((k + 1) * X[b].sum() * Y[b].sum() for k, b in enumerate(blocks(5, 2)))
    assert noma.compile(source).run() == expected


def test_a_carried_variable_may_take_the_shape_of_a_block() -> None:
    source = """
fn main() {
    let X = tensor [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]];
    let last = X;
    batch xb in X with 2 { last = xb; }
    return last;
}
"""
    np.testing.assert_array_equal(noma.compile(source).run(), [[9.0, 10.0]])


def test_control_flow_in_and_around_batch_loops(tmp_path: Path) -> None:
    source = """
fn first_block_above(X, t) {
    batch xb, i in X with 2 {
        if sum(xb) > t {
            return i;
        }
    }
    return -1;
}

fn total(X) {
    let t = 0;
    batch xb, i in X with 2 { t = t + sum(xb) * (i + 1); }
    return t;
}

fn main() {
    let X = tensor [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]];
    print(first_block_above(X, 10));
    print(first_block_above(X, 100));
    print(total(X));
    print(total(tensor [1, 2, 3]));      // another specialisation: a 1-D tensor
    let pairs = 0;
    let round = 0;
    while round < 2 {
        batch a in X with 3 {
            batch b, j in a with 2 {
                pairs = pairs + 1;
                if j > 0 { print(b); }
            }
        }
        round = round + 1;
    }
    return pairs;
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "1.0",
        "-1.0",
        str(3.0 + 7.0 + 11.0 * 2 + 15.0 * 2 + 19.0 * 3),
        str(1.0 + 2.0 + 3.0 * 2),
        "[[5.0, 6.0]]",
        "[[5.0, 6.0]]",
        "6.0",
    ]


def test_block_variables_are_local_to_the_loop(tmp_path: Path) -> None:
    proc = run_cli(
        tmp_path, "fn main() {\n  batch xb in tensor [1, 2] with 1 { }\n  return xb;\n}\n"
    )
    assert proc.returncode == 1
    assert "p.noma:3:10: error: unknown variable 'xb'" in proc.stderr


def test_a_gradient_accumulated_over_blocks_is_the_full_gradient() -> None:
    """A `batch` loop that only computes the objective (no `minimize` in it)
    is an ordinary loop of the optimize body: autodiff differentiates it
    block by block, through `noma.rows`."""
    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.5], [0.5, 3.0], [1.5, 1.5]])
    Y = np.array([[-3.5], [1.5], [5.0], [-7.5], [-1.0]])
    source = f"""
fn main() {{
    let X = {literal(X)};
    let Y = {literal(Y)};
    learn W = tensor [[0.0], [0.0]];
    optimize(W) with sgd(0.02, max_iterations=40) until 0 {{
        let loss = 0;
        batch xb, yb in X, Y with 2 {{
            let err = matmul(xb, W) - yb;
            loss = loss + sum(err * err) / 5;
        }}
        minimize loss;
    }}
    return W;
}}
"""
    W = np.zeros((2, 1))
    for _ in range(40):
        W = W - 0.02 * (X.T @ (2 * (X @ W - Y) / 5))
    np.testing.assert_allclose(noma.compile(source).run(), W, rtol=1e-12)


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "fn main() {\n  batch xb in 3 with 2 { }\n}\n",
            "p.noma:2:15: error: `batch` needs a tensor to split into blocks of rows, got a scalar",
        ),
        (
            "fn main() {\n  batch xb in tensor [1, 2] with 0.5 { }\n}\n",
            "p.noma:2:34: error: a batch size must be at least 1, got 0.5",
        ),
        (
            "fn main() {\n  batch xb in tensor [1, 2] with -2 { }\n}\n",
            "p.noma:2:34: error: a batch size must be at least 1, got -2",
        ),
        (
            "fn main() {\n  let n = 0;\n  batch xb in tensor [1, 2] with n { }\n}\n",
            "p.noma:3:34: error: a batch size must be at least 1, got 0",
        ),
        (
            "fn main() {\n  batch xb in tensor [1, 2] with tensor [1, 2] { }\n}\n",
            "p.noma:2:34: error: the batch size must be a scalar, got a [2] tensor",
        ),
        (
            "fn main() {\n  let X = tensor [1, 2, 3];\n"
            "  batch xb, yb in X, tensor [1, 2] with 2 { }\n}\n",
            "p.noma:3:22: error: the tensors of a `batch` must have the same number of rows, "
            "got 3 and 2",
        ),
        (
            "fn main() {\n  batch xb in tensor [1, 2] with 1 {\n    minimize sum(xb);\n  }\n}\n",
            "p.noma:3:5: error: `minimize` in a `batch` loop is mini-batch training, which "
            "needs an optimize loop around the `batch` loop",
        ),
        (
            "fn main() {\n  learn w = 1.0;\n  optimize(w) until 1 {\n    if 1 {\n"
            "      batch xb in tensor [1, 2] with 1 { minimize sum(xb) * w; }\n    }\n  }\n}\n",
            "p.noma:5:42: error: `minimize` must be a statement of the optimize body itself",
        ),
        (
            "fn main() {\n  learn w = 1.0;\n  optimize(w) until 1 {\n    minimize w;\n"
            "    batch xb in tensor [1, 2] with 1 { minimize sum(xb) * w; }\n  }\n}\n",
            "p.noma:5:40: error: an optimize loop has exactly one `minimize`; the first is at 4:5",
        ),
        # A value made once per pass from a parameter would not follow the
        # steps of the pass's blocks.
        (
            "fn main() {\n  learn w = 1.0;\n  optimize(w) until 1 {\n    let r = w * w;\n"
            "    batch xb in tensor [1, 2] with 1 { minimize sum(xb) * w + r; }\n  }\n}\n",
            "p.noma:4:5: error: the objective depends on 'r', which is computed from a "
            "learnable parameter once per pass, before the `batch` loop",
        ),
        (
            "fn main() {\n  learn w = tensor [1.0, 2.0];\n  optimize(w) until 1 {\n"
            "    batch xb in w * 2 with 1 { minimize sum(xb); }\n  }\n}\n",
            "p.noma:4:19: error: the objective depends on this tensor, which is computed from "
            "a learnable parameter once per pass",
        ),
        (
            "fn main() {\n  learn w = 1.0;\n  optimize(w) until 1 {\n    alloc B = [2];\n"
            "    batch xb in tensor [1, 2] with 1 { minimize sum(xb) * w; }\n  }\n}\n",
            "p.noma:4:5: error: 'B' cannot be made once per pass, outside the `batch` loop of a "
            "mini-batch optimize body",
        ),
    ],
)
def test_errors_known_when_compiling_are_located(tmp_path: Path, source: str, message: str) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "fn main() {\n  let n = sum(tensor [0.5]);\n"
            "  batch xb in tensor [1, 2] with n { }\n}\n",
            "p.noma:3:34: runtime error: a batch size must be at least 1, got 0.5",
        ),
        (
            "fn main() {\n  let n = sum(tensor [0.0]) / 0;\n"
            "  batch xb in tensor [1, 2] with n { }\n}\n",
            "p.noma:3:34: runtime error: a batch size must be at least 1, got nan",
        ),
        (
            "fn main() {\n  let n = sum(tensor [2.0]);\n  alloc Y = [n];\n"
            "  batch xb, yb in tensor [1, 2, 3], Y with 2 { }\n}\n",
            "p.noma:4:37: runtime error: the tensors of a `batch` must have the same number "
            "of rows, got 3 and 2",
        ),
        # In a mini-batch loop the checks run when a pass starts.
        (
            "fn main() {\n  learn w = 1.0;\n  let n = sum(tensor [0.5]);\n  optimize(w) until 1 {\n"
            "    batch xb in tensor [1, 2] with n { minimize sum(xb) * w; }\n  }\n}\n",
            "p.noma:5:36: runtime error: a batch size must be at least 1, got 0.5",
        ),
    ],
)
def test_errors_found_at_run_time_are_located(tmp_path: Path, source: str, message: str) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.strip() == message


def test_error_kinds_from_python() -> None:
    with pytest.raises(NomaError):
        _ = noma.compile("fn main() { batch xb in tensor [1] with 0 { } }").llvm_ir
    program = noma.compile(
        "fn main() { let n = sum(tensor [0.0]); batch xb in tensor [1] with n { } }"
    )
    with pytest.raises(ProgramError):
        program.run()


# -- mini-batch training: references -----------------------------------------------------


def linear_regression(
    X: np.ndarray,
    Y: np.ndarray,
    size: int,
    opt: Optimizer,
    until: Callable[[float], bool],
    max_passes: float = 1000,
) -> tuple[list[float], dict[str, float], int, bool]:
    """Mini-batch training of `err = matmul(xb, W) + b - yb`, one step of
    `opt` on `mean(err * err)` per block, the last block included; `until`
    on the pass's summed `sum(err * err) / rows` (each block's term computed
    before its step), checked once the pass's last block stepped; at most
    `max_passes` passes.

    The arithmetic follows the compiled code operation by operation (sums
    from 0.0 in row order, the gradient of the mean as (1/n)·err twice), so
    results agree to the last bits. Gives the loss of every pass, the
    parameters, the number of passes and whether `until` held."""
    p = {"W0": 0.0, "W1": 0.0, "b": 0.0}
    rows = len(X)
    pass_losses: list[float] = []
    while len(pass_losses) + 1 <= max_passes:
        pass_loss = 0.0
        for block in blocks(rows, size):
            x, y = X[block], Y[block, 0]
            err = [
                (0.0 + float(r[0]) * p["W0"] + float(r[1]) * p["W1"] + p["b"]) - float(t)
                for r, t in zip(x, y, strict=True)
            ]
            squares = 0.0
            for e in err:
                squares += e * e
            pass_loss += squares / rows
            g = 1.0 / len(err)
            d = [g * e + g * e for e in err]
            grads = {"W0": 0.0, "W1": 0.0, "b": 0.0}
            for r, de in zip(x, d, strict=True):
                grads["W0"] += float(r[0]) * de
                grads["W1"] += float(r[1]) * de
                grads["b"] += de
            opt.step(p, grads)
        pass_losses.append(pass_loss)
        if until(pass_loss):
            return pass_losses, p, len(pass_losses), True
    return pass_losses, p, len(pass_losses), False


def example_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    source = (ROOT / "examples" / f"{name}.noma").read_text()
    literals = re.findall(r"let \w+ = tensor (\[.*?\]);", source, re.DOTALL)
    X, Y = (np.array(eval(re.sub(r"//[^\n]*", "", m))) for m in literals[:2])
    return X, Y


def test_minibatch_sgd_example_matches_the_reference() -> None:
    """examples/minibatch_linear_regression: SGD(0.05) on blocks of 5 of 22
    rows until the pass's mean squared error is below 1e-10."""
    X, Y = example_data("minibatch_linear_regression")
    losses, p, passes, converged = linear_regression(
        X, Y, 5, Optimizer("sgd", lr=0.05), lambda loss: loss < 1e-10
    )
    assert converged
    out = (ROOT / "examples" / "minibatch_linear_regression.out").read_text().splitlines()
    every_tenth = [losses[i] for i in range(9, passes, 10)]
    numbers = [float(line) for line in out[: len(every_tenth) + 3]]
    expected = [*every_tenth, passes, losses[-1], p["b"]]
    np.testing.assert_allclose(numbers, expected, rtol=1e-12, atol=0)
    W = np.array(eval(out[-1]))  # our own output
    np.testing.assert_allclose(W, [[p["W0"]], [p["W1"]]], rtol=1e-12, atol=0)
    np.testing.assert_allclose(W, [[2.0], [-3.0]], atol=1e-5)
    assert abs(p["b"] - 0.5) < 1e-5


def regression_program(optimizer: str, size: int | str, until: str, extra: str = "") -> str:
    X, Y = example_data("minibatch_linear_regression")
    return f"""
fn main() {{
    let X = {literal(X)};
    let Y = {literal(Y)};
    learn W = tensor [[0.0], [0.0]];
    learn b = 0.0;
    {extra}
    optimize(W, b) with {optimizer} until {until} {{
        let pass_loss = 0;
        batch xb, yb in X, Y with {size} {{
            let err = matmul(xb, W) + b - yb;
            pass_loss = pass_loss + sum(err * err) / 22;
            minimize mean(err * err);
        }}
    }}
    return [W[0][0], W[1][0], b, pass_loss];
}}
"""


def test_minibatch_adam_matches_the_reference() -> None:
    X, Y = example_data("minibatch_linear_regression")
    source = regression_program("adam(0.05)", 4, "pass_loss < 1e-6")
    losses, p, _, converged = linear_regression(
        X, Y, 4, Optimizer("adam", lr=0.05), lambda loss: loss < 1e-6
    )
    assert converged
    result = noma.compile(source).run()
    np.testing.assert_allclose(result, [p["W0"], p["W1"], p["b"], losses[-1]], rtol=1e-12)


def test_a_batch_size_and_tensors_computed_in_the_loop() -> None:
    """The tensors and the batch size are evaluated once per pass, from
    values computed before the `batch` loop, and carried through the pass."""
    X, Y = example_data("minibatch_linear_regression")
    source = regression_program(
        "sgd(0.05)", "n * 1", "pass_loss < 1e-8", "let n = sum(tensor [6.5]);"
    ).replace("in X, Y with", "in X * 1, Y + 0 with")
    losses, p, _, converged = linear_regression(
        X, Y, 6, Optimizer("sgd", lr=0.05), lambda loss: loss < 1e-8
    )
    assert converged
    result = noma.compile(source).run()
    np.testing.assert_allclose(result, [p["W0"], p["W1"], p["b"], losses[-1]], rtol=1e-12)


def test_one_block_of_all_rows_is_plain_training() -> None:
    """With a batch size of at least the row count every pass is one block:
    the loop is an ordinary optimize loop whose `until` is checked after the
    step, to the last bit. The plain loop checks before stepping: it meets the
    condition on the same iteration, one step earlier, and with that many
    iterations as its budget and no condition it takes the same steps."""
    X, Y = example_data("minibatch_linear_regression")
    one_block = noma.compile(regression_program("sgd(0.1)", 100, "pass_loss < 1e-8")).run()
    plain = f"""
fn main() {{
    let X = {literal(X)};
    let Y = {literal(Y)};
    learn W = tensor [[0.0], [0.0]];
    learn b = 0.0;
    let n = 0;
    optimize(W, b) with sgd(0.1, max_iterations=ITERATIONS) until UNTIL {{
        n = n + 1;
        let err = matmul(X, W) + b - Y;
        let pass_loss = sum(err * err) / 22;
        minimize mean(err * err);
    }}
    return [W[0][0], W[1][0], b, pass_loss, n];
}}
"""
    until = noma.compile(plain.replace("ITERATIONS", "1000").replace("UNTIL", "pass_loss < 1e-8"))
    *checked_first, iterations = until.run()
    assert checked_first[3] == one_block[3]  # the same pass meets the condition
    assert checked_first[:3] != list(one_block[:3])  # one step fewer
    budget = plain.replace("ITERATIONS", str(int(iterations))).replace("UNTIL", "0")
    *stepped, _ = noma.compile(budget).run()
    np.testing.assert_array_equal(stepped, one_block)


# -- mini-batch training: what runs when ------------------------------------------------

# Blocks of [1, 2, 3, 4, 5] by 2 sum to 3, 7 and 5: with the objective
# sum(xb) * w, SGD moves w by -lr * (block sum) per step taken.
COUNTING = """
fn main() {{
    learn w = 0.0;
    let passes = 0;
    let blocks = 0;
    let after = 0;
    optimize(w) with sgd(0.01{budget}) until {until} {{
        passes = passes + 1;                 // once per pass
        let seen = 0;
        batch xb, i in tensor [1, 2, 3, 4, 5] with 2 {{
            blocks = blocks + 1;
            seen = seen + 1;
            let index = i;
            minimize sum(xb) * w;
        }}
        after = after + seen;                // once per pass, after its blocks
    }}
    print(passes);
    print(blocks);
    print(after);
    print(index);
    return w;
}}
"""


def counting_run(tmp_path: Path, budget: str, until: str) -> tuple[list[float], str]:
    proc = run_cli(tmp_path, COUNTING.format(budget=budget, until=until))
    assert proc.returncode == 0, proc.stderr
    return [float(line) for line in proc.stdout.split()], proc.stderr


def test_until_is_checked_once_per_pass(tmp_path: Path) -> None:
    """`until passes >= 3` holds from the first block of pass 3, but counts
    only after its last block: 3 whole passes run, every block steps, the
    last one included, and the loop stops there."""
    values, stderr = counting_run(tmp_path, "", "passes >= 3")
    assert stderr == ""
    steps = [3, 7, 5] * 3
    assert values == [3.0, 9.0, 9.0, 2.0, pytest.approx(-0.01 * sum(steps), rel=1e-12)]


def test_until_and_the_end_of_a_pass_see_its_last_step(tmp_path: Path) -> None:
    """The statements after the `batch` loop and the `until` condition run
    after the step of the pass's last block: with `until w < -0.12`, w is
    -0.03, -0.1, -0.15 after the blocks of pass 1, so the loop stops after
    one pass (before its last step w is -0.1, which does not hold)."""
    source = COUNTING.format(budget="", until="w < -0.12").replace(
        "after = after + seen;", "after = w;"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    values = [float(line) for line in proc.stdout.split()]
    assert values == [1.0, 3.0, pytest.approx(-0.15, rel=1e-12), 2.0, pytest.approx(-0.15)]


def test_max_iterations_counts_passes(tmp_path: Path) -> None:
    """Two passes with a step per block, no pass after them, and the warning."""
    values, stderr = counting_run(tmp_path, ", max_iterations=2", "0")
    assert values == [2.0, 6.0, 6.0, 2.0, pytest.approx(-0.01 * 2 * 15, rel=1e-12)]
    assert stderr == (
        "p.noma:7:5: warning: optimize loop stopped after max_iterations = 2 passes over the "
        "data before its `until` condition held\n"
    )


def test_a_fractional_pass_budget_is_truncated(tmp_path: Path) -> None:
    values, stderr = counting_run(tmp_path, ", max_iterations=1.5", "0")
    assert values == [1.0, 3.0, 3.0, 2.0, pytest.approx(-0.01 * 15, rel=1e-12)]
    assert "max_iterations = 1.5 passes" in stderr


@pytest.mark.parametrize("budget", ["0", "-1", "0 / 0"])
def test_no_pass_at_all(tmp_path: Path, budget: str) -> None:
    """A budget below one pass (or NaN) runs no block: the carried variables
    and the parameter keep their values, and reading a name of the body
    after the loop is a located run-time error after the warning."""
    source = COUNTING.format(budget=f", max_iterations={budget}", until="0")
    proc = run_cli(tmp_path, source.replace("    print(index);\n", ""))
    assert proc.returncode == 0, proc.stderr
    assert [float(line) for line in proc.stdout.split()] == [0.0, 0.0, 0.0, 0.0]
    assert "passes over the data before its `until` condition held" in proc.stderr
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stdout == ""  # the error comes right after the loop
    assert proc.stderr.endswith(
        "p.noma:7:5: runtime error: the optimize loop ran no iteration (max_iterations = "
        f"{'nan' if budget == '0 / 0' else budget}): the names its body defines have no value "
        "after it\n"
    )


def test_the_body_prints_on_every_block_and_the_loop_keeps_the_last_blocks_names(
    tmp_path: Path,
) -> None:
    """`until` and the code after training see what the `batch` body defines,
    from the pass's last block."""
    source = """
fn main() {
    learn w = 4.0;
    optimize(w) with sgd(0.25) until loss < 0.5 {
        batch xb, i in tensor [[1.0], [2.0], [0.5]] with 2 {
            let loss = mean(xb * xb) * w * w;
            print(i);
            minimize loss;
        }
        print("pass");
    }
    print(loss);
    return w;
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    # Block 0 (mean(xb * xb) = 2.5) steps w from 4 to 4 - 0.25 * 2 * 2.5 * 4 = -1;
    # block 1 (mean 0.25) has the loss 0.25 < 0.5 and steps w to
    # -1 - 0.25 * 2 * 0.25 * -1 = -0.875; the pass ends and the loop stops.
    assert proc.stdout.splitlines() == ["0.0", "1.0", "pass", "0.25", "-0.875"]


def test_tensors_defined_around_the_batch_loop_and_rmsprop(tmp_path: Path) -> None:
    """A variable of the statements before the `batch` loop that takes a
    block's shape, a tensor defined after the loop, training in a function
    called with the data, RMSprop; `max_iterations` from a variable."""
    source = """
fn train(X, Y) {
    learn W = tensor [[0.0], [0.0]];
    let max_iterations = 2;
    optimize(W) with rmsprop(0.01) until 0 {
        let last = tensor [[0.0, 0.0]];
        batch xb, yb in X, Y with 2 {
            last = xb;
            minimize mean((matmul(xb, W) - yb) ** 2);
        }
        let summary = last * 2;
    }
    print(summary);
    return W;
}

fn main() {
    return train(tensor [[1.0, 2.0], [2.0, 1.0], [3.0, 0.5]], tensor [[1.0], [2.0], [3.0]]);
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.5]])
    Y = np.array([[1.0], [2.0], [3.0]])
    W, v = np.zeros((2, 1)), np.zeros((2, 1))
    for _ in range(2):
        for block in blocks(3, 2):
            g = X[block].T @ (2 * (X[block] @ W - Y[block]) / len(X[block]))
            v = 0.9 * v + 0.1 * g * g
            W = W - 0.01 * g / (np.sqrt(v) + 1e-8)
    lines = proc.stdout.splitlines()
    assert lines[0] == "[[6.0, 1.0]]"
    np.testing.assert_allclose(np.array(eval(lines[1])), W, rtol=1e-12)
    assert "max_iterations = 2 passes over the data" in proc.stderr


def test_growth_requested_in_a_batch_body_follows_the_blocks_step(tmp_path: Path) -> None:
    source = """
fn main() {
    learn w = tensor [0.5];
    let max_iterations = 2;
    optimize(w) with sgd(0.01) until 0 {
        batch xb, i in tensor [[1.0], [2.0], [3.0], [4.0]] with 2 {
            print(w);
            if i == 1 { realloc w = [2] init zeros; }
            minimize sum(xb) * sum(w);
        }
    }
    return w;
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    # Steps of -0.01 * (3, 7) per pass; w grows after the step of block 1;
    # two passes and no more.
    assert proc.stdout.splitlines() == [
        "[0.5]",
        "[0.47]",
        "[0.39999999999999997, 0.0]",
        "[0.37, -0.03]",
        "[0.3, -0.1]",
    ]


def test_no_growth_when_a_mini_batch_loop_stops(tmp_path: Path) -> None:
    """The pass's last block steps, then `until` holds: the growth that block
    requested does not happen (the loop leaves the parameters as the
    condition saw them)."""
    source = """
fn main() {
    learn w = tensor [0.5];
    optimize(w) with sgd(0.01) until passes >= 1 {
        batch xb, i in tensor [[1.0], [2.0], [3.0], [4.0]] with 2 {
            if i == 1 { realloc w = [2] init zeros; }
            minimize sum(xb) * sum(w);
        }
        let passes = 1;
    }
    return w;
}
"""
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    # Steps of -0.01 * 3 and -0.01 * 7, both blocks; no second element.
    assert proc.stdout.splitlines() == ["[0.39999999999999997]"]
