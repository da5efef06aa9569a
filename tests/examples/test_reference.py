"""The numbers in examples/*.out, recomputed by plain-Python re-implementations
of the same programs: the optimize loop's iterations of body, `until` check,
step (LANGUAGE.md section 5), the textbook SGD / Adam / RMSprop updates and
hand-derived gradients. This checks what the compiler computes, not just that
it computes the same thing as yesterday."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from reference_training import Optimizer, optimize

ROOT = Path(__file__).resolve().parents[2]


def expected_lines(name: str) -> list[float]:
    return [float(line) for line in (ROOT / "examples" / f"{name}.out").read_text().split()]


def assert_lines(name: str, values: list[float], rel: float = 1e-12) -> None:
    got = expected_lines(name)
    assert len(got) == len(values)
    for g, v in zip(got, values):
        assert math.isclose(g, v, rel_tol=rel, abs_tol=1e-300), (name, got, values)


def test_minimize_square() -> None:
    p = {"x": 5.0}
    values, _, converged = optimize(
        p,
        Optimizer("sgd", lr=0.1),
        lambda p: {"loss": p["x"] * p["x"]},
        lambda v: v["loss"] < 0.000001,
        lambda p: {"x": 2 * p["x"]},
    )
    assert converged
    assert_lines("minimize_square", [values["loss"], p["x"]])


def test_solve_linear() -> None:
    p = {"w": 0.0}

    def body(p: dict[str, float]) -> dict[str, float]:
        r = 5.0 * p["w"] - 25.0
        return {"loss": r * r}

    _, _, converged = optimize(
        p,
        Optimizer("sgd", lr=0.01),
        body,
        lambda v: v["loss"] < 1e-10,
        lambda p: {"w": 2 * (5.0 * p["w"] - 25.0) * 5.0},
    )
    assert converged
    assert_lines("solve_linear", [p["w"]])


def test_max_iterations() -> None:
    p = {"x": 0.0}
    values, steps, converged = optimize(
        p,
        Optimizer("sgd", lr=0.1),
        lambda p: {"loss": (p["x"] - 3.0) ** 2 + 1.0},
        lambda v: v["loss"] < 0.5,
        lambda p: {"x": 2 * (p["x"] - 3.0)},
        max_iterations=50,
    )
    assert not converged and steps == 50
    assert_lines("max_iterations", [values["loss"], p["x"]])
    warning = (ROOT / "examples" / "max_iterations.err").read_text()
    assert "max_iterations = 50 steps" in warning


@pytest.mark.parametrize("name", ["adam_with_clause", "adam_variables"])
def test_adam(name: str) -> None:
    p = {"x": 0.0}
    values, _, converged = optimize(
        p,
        Optimizer("adam", lr=0.1),
        lambda p: {"loss": (p["x"] - 5.0) ** 2},
        lambda v: v["loss"] < 0.0001,
        lambda p: {"x": 2 * (p["x"] - 5.0)},
    )
    assert converged
    assert_lines(name, [values["loss"], p["x"]])


def test_rosenbrock_rmsprop() -> None:
    p = {"x": -1.2, "y": 1.0}

    def body(p: dict[str, float]) -> dict[str, float]:
        x, y = p["x"], p["y"]
        return {"loss": (1 - x) ** 2 + 100 * (y - x**2) ** 2}

    def grad(p: dict[str, float]) -> dict[str, float]:
        x, y = p["x"], p["y"]
        return {"x": -2 * (1 - x) - 400 * x * (y - x**2), "y": 200 * (y - x**2)}

    values, _, converged = optimize(
        p,
        Optimizer("rmsprop", lr=0.001, beta2=0.9),
        body,
        lambda v: v["loss"] < 0.001,
        grad,
        max_iterations=10000,
    )
    assert converged
    # Thousands of steps amplify last-bit differences of the gradient formula.
    assert_lines("rosenbrock_rmsprop", [p["x"], p["y"], values["loss"]], rel=1e-5)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_sigmoid_network() -> None:
    p = {"w1": 0.5, "b1": 0.0, "w2": -0.5, "b2": 0.0}

    def body(p: dict[str, float]) -> dict[str, float]:
        h = _sigmoid(p["w1"] * 1.0 + p["b1"])
        o = _sigmoid(p["w2"] * h + p["b2"])
        return {"hidden": h, "output": o, "loss": (o - 0.9) ** 2}

    def grad(p: dict[str, float]) -> dict[str, float]:
        v = body(p)
        h, o = v["hidden"], v["output"]
        d_z2 = 2 * (o - 0.9) * o * (1 - o)
        d_z1 = d_z2 * p["w2"] * h * (1 - h)
        return {"w1": d_z1 * 1.0, "b1": d_z1, "w2": d_z2 * h, "b2": d_z2}

    values, _, converged = optimize(
        p, Optimizer("sgd", lr=0.5), body, lambda v: v["loss"] < 0.00001, grad
    )
    assert converged
    assert_lines("sigmoid_network", [values["output"], values["loss"]], rel=1e-9)


def test_system_of_equations() -> None:
    p = {"a": 1.0, "b": 2.0}

    def body(p: dict[str, float]) -> dict[str, float]:
        e1, e2 = p["a"] + p["b"] - 10.0, p["a"] * p["b"] - 21.0
        return {"loss": e1 * e1 + e2 * e2}

    def grad(p: dict[str, float]) -> dict[str, float]:
        e1, e2 = p["a"] + p["b"] - 10.0, p["a"] * p["b"] - 21.0
        return {"a": 2 * e1 + 2 * e2 * p["b"], "b": 2 * e1 + 2 * e2 * p["a"]}

    _, _, converged = optimize(
        p,
        Optimizer("adam", lr=0.1),
        body,
        lambda v: v["loss"] < 1e-12,
        grad,
        max_iterations=5000,
    )
    assert converged
    assert_lines("system_of_equations", [p["a"], p["b"], p["a"] * p["b"]], rel=1e-9)


def test_functions() -> None:
    def square(x: float) -> float:
        return x * x

    def polynomial(a: float, b: float, c: float, x: float) -> float:
        return a * square(x) + b * x + c

    p = {"c": 0.0}
    _, _, converged = optimize(
        p,
        Optimizer("sgd", lr=0.1),
        lambda p: {"loss": square(polynomial(1.0, 2.0, p["c"], 3.0) - 20.0)},
        lambda v: v["loss"] < 1e-12,
        lambda p: {"c": 2 * (polynomial(1.0, 2.0, p["c"], 3.0) - 20.0)},
    )
    assert converged
    assert_lines(
        "functions", [square(5.0), square(10.0 - 8.0), polynomial(2.0, 3.0, 1.0, 2.0), p["c"]]
    )


def test_while_loop() -> None:
    total, sign = 0.0, 1.0
    for i in range(200000):
        total = total + sign / (2 * i + 1)
        sign = -sign
    assert_lines("while_loop", [200000.0, 4 * total])


def test_branch_in_training() -> None:
    p = {"x": 10.0}
    counts = {"far": 0, "near": 0}

    def body(p: dict[str, float]) -> dict[str, float]:
        d = p["x"] - 2.0
        if abs(d) > 1:
            counts["far"] += 1
            return {"loss": abs(d) - 0.5}
        counts["near"] += 1
        return {"loss": 0.5 * d * d}

    def grad(p: dict[str, float]) -> dict[str, float]:
        d = p["x"] - 2.0
        return {"x": math.copysign(1.0, d) if abs(d) > 1 else d}

    _, _, converged = optimize(p, Optimizer("sgd", lr=0.1), body, lambda v: v["loss"] < 1e-8, grad)
    assert converged and counts["far"] > 0 and counts["near"] > 0
    assert_lines("branch_in_training", [counts["far"], counts["near"], p["x"]])


def test_builtins() -> None:
    expected = [
        0.5,
        0.0,
        3.0,
        math.tanh(0.5),
        math.exp(1.0),
        math.log(10.0),
        math.sqrt(2.0),
        1024.0,
        math.sin(1.0),
        math.cos(1.0),
        math.tan(1.0),
        3.5,
        -1.0,
        2.0,
        -3.0,
        -2.0,
    ]
    text = (ROOT / "examples" / "builtins.out").read_text().splitlines()
    assert text[16] == "strings print verbatim"
    numbers = [float(t) for i, t in enumerate(text) if i != 16]
    assert numbers == [*expected, 42.0, 43.0]


def test_precedence() -> None:
    def floored_rem(a: float, b: float) -> float:
        return a - b * math.floor(a / b)

    expected = [
        1 + 2 * 3,
        (1 + 2) * 3,
        2**3**2,
        2**3**2,
        -(2**2),
        10 - 4 - 3,
        100 / 10 / 5,
        floored_rem(7, 4) * 2,
        floored_rem(-7, 3),
        float(1 + 2 < 4),
        float((1 < 2) == 1),
        float(bool(0) or (bool(1) and bool(0))),
        float(not 0) + 1,
        2 * -3,
        3 + 1,
        1 - 2 + 3 * 4**2 / 8,
    ]
    assert expected_lines("precedence") == [float(e) for e in expected]


# --------------------------------------------------------------------------
# Tensor examples, against NumPy
# --------------------------------------------------------------------------


def tensor_lines(name: str) -> list[np.ndarray]:
    """Each printed line of an example's output, parsed as an array."""
    import ast

    text = (ROOT / "examples" / f"{name}.out").read_text()
    return [np.array(ast.literal_eval(line)) for line in text.splitlines()]


def numpy_training(
    params: dict[str, np.ndarray],
    opt: Optimizer,
    loss_and_grads: Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]],
    until: Callable[[float], bool],
    max_iterations: int = 1000,
) -> tuple[float, int, bool]:
    """Iterations of body, check, step with array parameters (elementwise
    optimizer math): at most `max_iterations`, the last one stepping too."""
    steps = 0
    loss = math.nan
    for _ in range(max_iterations):
        loss, grads = loss_and_grads(params)
        if until(loss):
            return loss, steps, True
        for name, g in grads.items():
            flat = {f"{name}[{i}]": float(x) for i, x in enumerate(params[name].ravel())}
            flat_grads = {f"{name}[{i}]": float(x) for i, x in enumerate(g.ravel())}
            opt.step(flat, flat_grads)
            params[name] = np.array(list(flat.values())).reshape(params[name].shape)
        steps += 1
    return loss, steps, False


def test_tensor_basics() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[0.5, -1.0], [2.0, 0.25]])
    expected = [
        a + b, a * b - 1, a / b, a**2, (a > 2).astype(float), np.maximum(a, b * 4), np.sqrt(a),
        1 / (1 + np.exp(-b)), a.sum(), b.mean(), a[0] @ a[1], a @ b, a[1], a[1][0], a[-1][-1],
        (a[0] * b[0]).sum() + (a[1] * b[1]).sum(), a * 10,
    ]  # fmt: skip
    got = tensor_lines("tensor_basics")
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-15)


def test_least_squares() -> None:
    A = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    b = np.array([[1.0], [2.5], [2.9], [4.0]])
    params = {"x": np.zeros((2, 1))}

    def loss_and_grads(p: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        r = A @ p["x"] - b
        return float((r * r).sum()), {"x": A.T @ (2 * r)}

    loss, _, converged = numpy_training(
        params, Optimizer("adam", lr=0.05), loss_and_grads, lambda v: v < 0.20200001
    )
    assert converged
    got = tensor_lines("least_squares")
    np.testing.assert_allclose(got[0], loss, rtol=1e-9)
    np.testing.assert_allclose(got[1], params["x"], rtol=1e-9)
    np.testing.assert_allclose(got[1], np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-3)


@pytest.mark.parametrize(
    ("name", "lr", "tol", "max_iterations"),
    [("linear_regression_4", 0.05, 1e-12, 20000), ("linear_regression_20", 0.005, 1e-10, 100000)],
)
def test_linear_regression(name: str, lr: float, tol: float, max_iterations: int) -> None:
    source = (ROOT / "examples" / f"{name}.noma").read_text()
    X, Y = (np.array(eval(m)) for m in _literals(source)[:2])  # noqa: S307 - our own file
    params = {"W": np.zeros((2, 1))}

    def loss_and_grads(p: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        e = X @ p["W"] - Y
        return float((e * e).mean()), {"W": X.T @ (2 * e / e.size)}

    loss, _, converged = numpy_training(
        params, Optimizer("sgd", lr=lr), loss_and_grads, lambda v: v < tol, max_iterations
    )
    assert converged
    got = tensor_lines(name)
    np.testing.assert_allclose(got[0], loss, rtol=1e-6)
    np.testing.assert_allclose(got[1], params["W"], rtol=1e-9)
    np.testing.assert_allclose(got[1], [[1.5], [2.0]], atol=1e-4)


def _literals(source: str) -> list[str]:
    """The bracketed literals bound by `let` in a NOMA source, in order."""
    import re

    found = []
    for match in re.finditer(r"let \w+ = (?:tensor )?(\[.*?\]);", source, re.S):
        found.append(re.sub(r"//[^\n]*", "", match.group(1)))
    return found


def test_bias_broadcast() -> None:
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    target = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    params = {"b": np.zeros(3)}

    def loss_and_grads(p: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        diff = data + p["b"] - target
        return float((diff * diff).mean()), {"b": (2 * diff / diff.size).sum(axis=0)}

    loss, _, converged = numpy_training(
        params, Optimizer("sgd", lr=0.25), loss_and_grads, lambda v: v < 1e-20
    )
    assert converged
    got = tensor_lines("bias_broadcast")
    np.testing.assert_allclose(got[0], data + np.array([10.0, 20.0, 30.0]))
    np.testing.assert_allclose(got[1], loss, rtol=1e-6)
    np.testing.assert_allclose(got[2], params["b"], rtol=1e-12)


def test_rnn_sequence() -> None:
    """The RNN of rnn_sequence.noma, with backpropagation through time
    written out by hand: forward over the 8 steps keeping every state, then
    the chain rule backwards from the last one."""
    from reference_rng import NOMA_DEFAULT_SEED, RefRng

    rng = RefRng(NOMA_DEFAULT_SEED)

    def xavier(fan_in: int, fan_out: int, *shape: int) -> np.ndarray:
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return np.array([rng.uniform_range(-a, a) for _ in range(math.prod(shape))]).reshape(shape)

    phases = np.arange(12).reshape(12, 1) * 0.5
    target = np.sin(phases + 3.2)
    params = {"Wx": xavier(1, 5, 1, 5), "Wh": xavier(5, 5, 5, 5), "b": np.zeros(5)}
    params["V"] = xavier(5, 1, 5, 1)

    def run(p: dict[str, np.ndarray], inputs: np.ndarray) -> list[np.ndarray]:
        """The hidden states h_0 (zeros) ... h_8."""
        states = [np.zeros((len(inputs), 5))]
        for t in range(8):
            x = np.sin(inputs + 0.4 * t)
            states.append(np.tanh(x @ p["Wx"] + states[-1] @ p["Wh"] + p["b"]))
        return states

    def loss_and_grads(p: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        states = run(p, phases)
        err = states[-1] @ p["V"] - target
        grads = {"V": states[-1].T @ (2 * err / err.size)}
        dh = (2 * err / err.size) @ p["V"].T
        grads.update(Wx=np.zeros((1, 5)), Wh=np.zeros((5, 5)), b=np.zeros(5))
        for t in reversed(range(8)):
            dz = dh * (1 - states[t + 1] ** 2)
            grads["Wx"] += np.sin(phases + 0.4 * t).T @ dz
            grads["Wh"] += states[t].T @ dz
            grads["b"] += dz.sum(axis=0)
            dh = dz @ p["Wh"].T
        return float((err * err).mean()), grads

    loss, steps, converged = numpy_training(
        params, Optimizer("adam", lr=0.05), loss_and_grads, lambda v: v < 0.0002, 500
    )
    assert converged
    test = np.array([[0.25], [2.75], [4.25]])
    got = tensor_lines("rnn_sequence")
    assert got[0] == steps + 1  # `steps` counts the body runs, the last one included
    np.testing.assert_allclose(got[1], loss, rtol=1e-9)
    np.testing.assert_allclose(got[2], run(params, test)[-1] @ params["V"], rtol=1e-9)
    np.testing.assert_allclose(got[3], np.sin(test + 3.2), rtol=1e-15)
    np.testing.assert_allclose(got[2], got[3], atol=0.05)  # it learned to continue the waves
