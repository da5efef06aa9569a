"""The optimizer table (`noma.dialects.noma.optimizers`) is the one home of
the optimizers: an optimizer registered in it from outside the package,
here momentum SGD with a state slot of its own, is accepted by the
frontend (`with`, the `optimizer` and `use_*` variables), the dialect's
verifiers, `expand-optimizers`, `legalize-growth` and the loops lowering of
parameter storage, and trains exactly as a NumPy re-implementation; every
message about optimizers lists the table's names. The optimizer is the
worked example of docs/optimizers.md, run from the doc."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

import noma
from noma.dialects.noma import optimizers
from noma.dialects.noma.optimizers import HyperParameter, Optimizer, Step
from noma.frontend.diagnostics import NomaError
from noma.passes.legalize_growth import LegalizeGrowthPass
from noma.pipeline import make_context

LR, MU = 0.05, 0.8


DOC = Path(__file__).parents[1] / "docs" / "optimizers.md"


def _doc_example() -> str:
    """The worked example of docs/optimizers.md, "Adding an optimizer"."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    (example,) = [b for b in blocks if "register_optimizer(" in b]
    return example


@pytest.fixture
def momentum() -> Iterator[Optimizer]:
    """The table with the doc's momentum SGD added, restored afterwards."""
    saved = dict(optimizers.OPTIMIZERS)
    try:
        exec(_doc_example(), {})  # noqa: S102 (the repository's own doc)
        yield optimizers.OPTIMIZERS["momentum"]
    finally:
        optimizers.OPTIMIZERS.clear()
        optimizers.OPTIMIZERS.update(saved)


def _no_step(s: Step) -> SSAValue:
    return s.value


def _numpy_momentum(
    params: dict[str, np.ndarray],
    velocity: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    steps: int,
    lr: float = LR,
    mu: float = MU,
) -> None:
    """`steps` steps of momentum SGD on mean((X W + b - Y)^2), in place."""
    for _ in range(steps):
        residual = X @ params["W"] + params["b"] - Y
        grads = {
            "W": 2.0 / residual.size * X.T @ residual,
            "b": 2.0 / residual.size * residual.sum(),
        }
        for name, grad in grads.items():
            velocity[name] = mu * velocity[name] + grad
            params[name] = params[name] - lr * velocity[name]


X2 = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0], [0.5, -1.0]])
X3 = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, -1.0], [5.0, 7.0, 2.0], [0.5, -1.0, 1.0]])
Y = np.array([[1.0], [2.0], [3.5], [-0.5]])

TRAIN = """
fn main(X, Y) {
    learn W = tensor [[0.5], [0.25]];
    learn b = 0.1;
    optimize(W, b) with momentum(0.05, mu=0.8, max_iterations=7) until loss < 0 {
        let loss = mean((matmul(X, W) + b - Y) * (matmul(X, W) + b - Y));
        minimize loss;
    }
    optimize(W, b) with momentum(lr=0.05, momentum=0.8, iterations=5) until loss < 0 {
        let loss = mean((matmul(X, W) + b - Y) * (matmul(X, W) + b - Y));
        minimize loss;
    }
    return W;
}
"""


def test_a_registered_optimizer_trains_like_numpy(
    momentum: Optimizer, capsys: pytest.CaptureFixture[str]
) -> None:
    # A static tensor parameter and a scalar one; the velocity persists from
    # one loop to the next, as the moments of the built-in optimizers do.
    program = noma.compile(TRAIN, cache=False)
    assert '"momentum"' in str(program.ir("noma"))
    program.run(args={"X": X2, "Y": Y})
    params = {"W": np.array([[0.5], [0.25]]), "b": np.array(0.1)}
    velocity = {"W": np.zeros((2, 1)), "b": np.array(0.0)}
    _numpy_momentum(params, velocity, X2, Y, 7 + 5)
    for name, expected in params.items():
        np.testing.assert_allclose(program.parameters[name], expected, rtol=1e-12, atol=1e-15)
    assert "max_iterations = 7 steps" in capsys.readouterr().err


GROW = """
fn main(X2, X3, Y) {
    learn W = tensor [[0.5], [0.25]];
    learn b = 0.1;
    let optimizer = 4;
    let learning_rate = 0.05;
    let max_iterations = 6;
    optimize(W, b) until loss < 0 {
        let loss = mean((matmul(X2, W) + b - Y) * (matmul(X2, W) + b - Y));
        minimize loss;
    }
    realloc W = [3, 1] init zeros;
    optimize(W, b) until loss < 0 {
        let loss = mean((matmul(X3, W) + b - Y) * (matmul(X3, W) + b - Y));
        minimize loss;
    }
    return W;
}
"""


def test_growth_resizes_the_new_state_slot_with_the_parameter(
    momentum: Optimizer, capsys: pytest.CaptureFixture[str]
) -> None:
    # `optimizer = 4` selects it by its code, `learning_rate` sets its `lr`,
    # its `momentum` keeps the table's default 0.9; the realloc keeps W's
    # velocity at its indices and gives the new row a zero one.
    program = noma.compile(GROW, cache=False)
    program.run(args={"X2": X2, "X3": X3, "Y": Y})
    params = {"W": np.array([[0.5], [0.25]]), "b": np.array(0.1)}
    velocity = {"W": np.zeros((2, 1)), "b": np.array(0.0)}
    _numpy_momentum(params, velocity, X2, Y, 6, mu=0.9)
    params["W"] = np.vstack([params["W"], [[0.0]]])
    velocity["W"] = np.vstack([velocity["W"], [[0.0]]])
    _numpy_momentum(params, velocity, X3, Y, 6, mu=0.9)
    for name, expected in params.items():
        np.testing.assert_allclose(program.parameters[name], expected, rtol=1e-12, atol=1e-15)
    capsys.readouterr()


def test_legalize_growth_resizes_every_moment_of_the_table(momentum: Optimizer) -> None:
    module = Parser(
        make_context(),
        """
        func.func @f(%x: tensor<2xf64>, %n: f64) {
          %W = noma.learn "W" %x : tensor<2xf64> -> !noma.param<tensor<?xf64>>
          noma.realloc %W [%n] init "zeros" : !noma.param<tensor<?xf64>>
          func.return
        }
        """,
    ).parse_module()
    LegalizeGrowthPass().apply(make_context(), module)
    written = [op.slot.data for op in module.walk() if op.name == "noma.state_write"]
    assert written == ["m", "v", "velocity"]


def test_use_variable_selects_a_registered_optimizer(momentum: Optimizer) -> None:
    source = (
        "fn main() { let use_momentum = 1; learn w = 1; optimize(w) until 1 { minimize w * w; } }"
    )
    assert 'noma.optimize "momentum"' in str(noma.compile(source, cache=False).ir("noma"))


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("with lbfgs(1)", "unknown optimizer 'lbfgs' (expected sgd, adam, rmsprop, momentum)"),
        ("with momentum(1, 2, 3)", "momentum takes at most 2 positional arguments (lr, momentum)"),
        (
            "with momentum(0.1, beta1=0.5)",
            (
                "momentum has no argument 'beta1' (it takes lr, learning_rate, momentum, mu, "
                "max_iterations, max_iter, iterations)"
            ),
        ),
        ("with momentum(0.1, 0.5, mu=0.5)", "'mu' is given twice"),
        ("with 0.1", "expected an optimizer name after 'with' (sgd, adam, rmsprop or momentum)"),
    ],
)
def test_messages_list_the_table(momentum: Optimizer, clause: str, message: str) -> None:
    source = f"fn main() {{ learn w = 1; optimize(w) {clause} until 1 {{ minimize w * w; }} }}"
    with pytest.raises(NomaError) as info:
        noma.compile(source, cache=False).ir("noma")
    assert message in info.value.message


def test_the_optimizer_variable_lists_the_codes_of_the_table(momentum: Optimizer) -> None:
    source = "fn main() { let optimizer = 5; learn w = 1; optimize(w) until 1 { minimize w; } }"
    with pytest.raises(NomaError) as info:
        noma.compile(source, cache=False).ir("noma")
    expected = "`optimizer` must be 1 (SGD), 2 (Adam), 3 (RMSprop) or 4 (momentum SGD), got 5"
    assert expected in info.value.message


STATE_READ = """
func.func @f(%x: f64) -> f64 {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %v = noma.state_read %W "velocity" : !noma.param<f64> -> f64
  func.return %v : f64
}
"""


def _parsed(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def test_the_verifier_knows_the_state_slots_of_the_table(momentum: Optimizer) -> None:
    _parsed(STATE_READ).verify()


def test_without_the_entry_its_state_slot_is_unknown() -> None:
    with pytest.raises(
        VerifyException, match="unknown optimizer state slot 'velocity', expected one of m, v, t"
    ):
        _parsed(STATE_READ).verify()


def test_the_built_in_table() -> None:
    # What LANGUAGE.md section 5.3 documents; also checks that the fixture
    # above restored the table.
    table = optimizers.OPTIMIZERS
    assert optimizers.optimizer_names() == ("sgd", "adam", "rmsprop")
    assert {name: o.code for name, o in table.items()} == {"sgd": 1, "adam": 2, "rmsprop": 3}
    assert {name: o.positional for name, o in table.items()} == {
        "sgd": ("lr",),
        "adam": ("lr", "beta1", "beta2", "eps"),
        "rmsprop": ("lr", "beta", "eps"),
    }
    assert table["rmsprop"].keywords()["beta"].operand == "beta2"
    assert table["rmsprop"].keywords()["beta"].default_value == 0.9
    assert table["adam"].keywords()["beta2"].default_value == 0.999
    assert optimizers.state_slots() == ("m", "v", "t")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (Optimizer("sgd", "SGD again", 9, (), (), _no_step), "already registered"),
        (Optimizer("other", "Other", 1, (), (), _no_step), "code 1 is already taken"),
        (
            Optimizer("other", "Other", 9, (HyperParameter("x", "gamma"),), (), _no_step),
            "each hyper-parameter needs its own operand among lr, beta1, beta2, eps",
        ),
        (
            Optimizer("other", "Other", 9, (), ("t",), _no_step),
            "'t' is the step count",
        ),
    ],
)
def test_registering_checks_the_entry(entry: Optimizer, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        optimizers.register_optimizer(entry)
    assert optimizers.optimizer_names() == ("sgd", "adam", "rmsprop")
