"""The NumPy peer of `benchmarks/run.py xor-growth`: the self-growing XOR demo
of examples/self_growing_xor.noma, gradients written by hand, in NumPy.

    >>> final_loss, seconds = train()             # what the harness times
    >>> result = run(reset=True)                  # the reset_optimizer() variant
    >>> result.losses, result.phase2_steps

The run, as the NOMA program does it:

1. A 2-2-1 sigmoid network (no biases, loss mean((pred - Y)^2)) from W1 and
   W2 of data/xor_init.json trains with Adam(0.05), `until loss < 0.002`,
   max_iterations 200. The small network never gets there, so this phase
   prints 200 losses and takes 200 steps.
2. Growth, index preserving (LANGUAGE.md section 6): W1 becomes 2x16 with
   the columns W1_extra appended, W2 becomes 16x1 with the rows W2_extra
   appended; every old weight keeps its index. Each parameter's Adam moments
   grow the same way, their new entries zero, and its step count goes on. In
   the `reset` variant, reset_optimizer() then clears the moments and the
   step counts of both parameters.
3. Adam(0.12), `until loss < 0.002`, max_iterations 120.

Each phase is NOMA's optimize loop (as the original NOMA's): at most
max_iterations iterations, each computing (and printing) the loss, stopping
if it is below 0.002, else taking one Adam step (textbook, bias-corrected
with the parameter's own step count), the last iteration included. The
final loss is the last one printed, which is also the NOMA program's result.

Two sets of arithmetic kernels compute the same thing:

- `FAST` (the default, and what the benchmark times): idiomatic NumPy, `@`
  (BLAS) and `np.exp` (NumPy's SIMD kernel). Both round differently from
  NOMA in the last bit, so this agrees with NOMA to about 1e-14 relative.
- `EXACT`: NOMA's floating-point order. Matrix products accumulate
  sequentially from 0.0 along the summed index, and exp is the C library's
  (`math.exp`); everything else is IEEE arithmetic in the same order as
  NOMA's code (sigmoid 1 / (1 + exp(-z)), its derivative g * (s * (1 - s)),
  the mean summed left to right, Adam as noma/passes/expand_optimizers.py
  writes it). This is what benchmarks/gen_growth_example.py writes the
  examples' expected output with, and it is bit for bit what the C peer
  computes.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
INIT_PATH = ROOT / "data" / "xor_init.json"

UNTIL = 0.002  # both phases stop as soon as a loss is below this
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


class Phase(NamedTuple):
    lr: float
    max_iterations: int


PHASE1 = Phase(lr=0.05, max_iterations=200)
PHASE2 = Phase(lr=0.12, max_iterations=120)
HIDDEN_BEFORE, HIDDEN_AFTER = 2, 16

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])

Array = np.ndarray


# --------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernels:
    """The two operations whose rounding NumPy decides for itself."""

    matmul: Callable[[Array, Array], Array]
    exp: Callable[[Array], Array]


def sequential_matmul(a: Array, b: Array) -> Array:
    """a @ b with each element accumulated from 0.0 in the order of the
    summed index, as NOMA's matmul loops (and the C peer) do."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for k in range(a.shape[1]):
        out = out + a[:, k : k + 1] * b[k : k + 1, :]
    return out


_libm_exp = np.vectorize(math.exp, otypes=[float])


def libm_exp(z: Array) -> Array:
    """The C library's exp, elementwise: what NOMA's compiled code calls."""
    return _libm_exp(z)


FAST = Kernels(matmul=np.matmul, exp=np.exp)
EXACT = Kernels(matmul=sequential_matmul, exp=libm_exp)


# --------------------------------------------------------------------------
# Weights and growth
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class InitialWeights:
    w1: Array  # 2x2
    w2: Array  # 2x1
    w1_extra: Array  # 2x14, the columns W1 gains
    w2_extra: Array  # 14x1, the rows W2 gains


def initial_weights(path: Path | str = INIT_PATH) -> InitialWeights:
    """The four arrays of data/xor_init.json, their shapes checked."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    extra = HIDDEN_AFTER - HIDDEN_BEFORE
    expected = {
        "W1": (2, HIDDEN_BEFORE),
        "W2": (HIDDEN_BEFORE, 1),
        "W1_extra": (2, extra),
        "W2_extra": (extra, 1),
    }
    arrays = {}
    for key, shape in expected.items():
        arrays[key] = np.array(data[key], dtype=float)
        if arrays[key].shape != shape:
            raise ValueError(f"{path}: expected {key} of shape {shape}, got {arrays[key].shape}")
    return InitialWeights(arrays["W1"], arrays["W2"], arrays["W1_extra"], arrays["W2_extra"])


def growth_inits(weights: InitialWeights) -> tuple[Array, Array]:
    """The init tensors of the program's two reallocs, of the full new
    shapes 2x16 and 16x1: zeros where the old weights are (placeholders:
    realloc keeps the old values there), the extra weights after them."""
    w1_init = np.concatenate([np.zeros_like(weights.w1), weights.w1_extra], axis=1)
    w2_init = np.concatenate([np.zeros_like(weights.w2), weights.w2_extra], axis=0)
    return w1_init, w2_init


def grow(old: Array, init: Array) -> Array:
    """Index-preserving realloc (LANGUAGE.md section 6): an array of init's
    shape whose elements are old's at every index both shapes have, init's
    elsewhere. (Shrinking keeps the leading block.)"""
    new = init.copy()
    common = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, init.shape, strict=True))
    new[common] = old[common]
    return new


@dataclass
class AdamState:
    """One parameter's Adam state: its moments and its own step count."""

    m: Array
    v: Array
    t: float = 0.0

    @classmethod
    def zeros_like(cls, param: Array) -> AdamState:
        return cls(np.zeros_like(param), np.zeros_like(param))

    def grow(self, shape: tuple[int, ...]) -> None:
        """Moments grown as the parameter is, new entries zero; t goes on."""
        self.m = grow(self.m, np.zeros(shape))
        self.v = grow(self.v, np.zeros(shape))

    def reset(self) -> None:
        """reset_optimizer(): moments and step count back to zero."""
        self.m = np.zeros_like(self.m)
        self.v = np.zeros_like(self.v)
        self.t = 0.0

    def step(self, param: Array, grad: Array, lr: float) -> Array:
        """One textbook Adam step; gives the new parameter."""
        self.t += 1.0
        self.m = BETA1 * self.m + (1.0 - BETA1) * grad
        self.v = BETA2 * self.v + (1.0 - BETA2) * (grad * grad)
        m_hat = self.m / (1.0 - BETA1**self.t)
        v_hat = self.v / (1.0 - BETA2**self.t)
        return param - lr * m_hat / (np.sqrt(v_hat) + EPS)


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------


def sigmoid(z: Array, k: Kernels) -> Array:
    return 1.0 / (1.0 + k.exp(-z))


def mean_left_to_right(a: Array) -> float:
    """The mean with its sum accumulated left to right from 0.0, as NOMA's
    `mean` loop does (NumPy's own `sum` pairs its terms differently)."""
    total = 0.0
    for x in a.ravel().tolist():
        total += x
    return total / a.size


def forward(w1: Array, w2: Array, k: Kernels = FAST) -> tuple[Array, Array, float]:
    """hidden (4xH), pred (4x1) and the loss mean((pred - Y)^2)."""
    hidden = sigmoid(k.matmul(X, w1), k)
    pred = sigmoid(k.matmul(hidden, w2), k)
    diff = pred - Y
    return hidden, pred, mean_left_to_right(diff * diff)


def backward(w2: Array, hidden: Array, pred: Array, k: Kernels = FAST) -> tuple[Array, Array]:
    """dloss/dW1 and dloss/dW2, by hand."""
    dpred = 2.0 * (pred - Y) / Y.size
    dz2 = dpred * (pred * (1.0 - pred))
    dw2 = k.matmul(hidden.T, dz2)
    dhidden = k.matmul(dz2, w2.T)
    dz1 = dhidden * (hidden * (1.0 - hidden))
    dw1 = k.matmul(X.T, dz1)
    return dw1, dw2


def loss_and_grads(w1: Array, w2: Array, k: Kernels = FAST) -> tuple[float, Array, Array]:
    hidden, pred, loss = forward(w1, w2, k)
    dw1, dw2 = backward(w2, hidden, pred, k)
    return loss, dw1, dw2


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


@dataclass
class Model:
    """The two parameters and their Adam states."""

    w1: Array
    w2: Array
    adam1: AdamState = field(init=False)
    adam2: AdamState = field(init=False)

    def __post_init__(self) -> None:
        self.w1, self.w2 = self.w1.copy(), self.w2.copy()
        self.adam1 = AdamState.zeros_like(self.w1)
        self.adam2 = AdamState.zeros_like(self.w2)

    def grow(self, w1_init: Array, w2_init: Array, reset: bool) -> None:
        """Both reallocs (and, if `reset`, reset_optimizer())."""
        self.w1 = grow(self.w1, w1_init)
        self.w2 = grow(self.w2, w2_init)
        self.adam1.grow(self.w1.shape)
        self.adam2.grow(self.w2.shape)
        if reset:
            self.adam1.reset()
            self.adam2.reset()


def optimize(model: Model, phase: Phase, k: Kernels, losses: list[float], echo: bool) -> int:
    """One optimize loop, iterations of loss, check, step; appends every loss
    it computes (printing it if `echo`) and gives the number of steps taken."""
    steps = 0
    for _ in range(phase.max_iterations):
        hidden, pred, loss = forward(model.w1, model.w2, k)
        losses.append(loss)
        if echo:
            print(loss)
        if loss < UNTIL:
            break
        dw1, dw2 = backward(model.w2, hidden, pred, k)
        model.w1 = model.adam1.step(model.w1, dw1, phase.lr)
        model.w2 = model.adam2.step(model.w2, dw2, phase.lr)
        steps += 1
    return steps


@dataclass
class GrowthRun:
    losses: list[float]  # every loss the program prints, both phases
    phase1_steps: int
    phase2_steps: int

    @property
    def final_loss(self) -> float:
        return self.losses[-1]


def run(
    reset: bool = False,
    weights: InitialWeights | None = None,
    kernels: Kernels = FAST,
    echo: bool = False,
) -> GrowthRun:
    """The whole self-growing run; `reset` selects the reset_optimizer()
    variant, `echo` prints every loss as the NOMA program does."""
    weights = weights if weights is not None else initial_weights()
    w1_init, w2_init = growth_inits(weights)
    model = Model(weights.w1, weights.w2)
    losses: list[float] = []
    phase1_steps = optimize(model, PHASE1, kernels, losses, echo)
    model.grow(w1_init, w2_init, reset)
    phase2_steps = optimize(model, PHASE2, kernels, losses, echo)
    return GrowthRun(losses, phase1_steps, phase2_steps)


def train(reset: bool = False, echo: bool = True) -> tuple[float, float]:
    """What the harness times: the whole run, printing every loss as the
    NOMA program does (the harness sends it to /dev/null). Gives the final
    loss and the seconds it took (not counting reading the JSON file)."""
    weights = initial_weights()
    start = time.perf_counter()
    result = run(reset, weights, FAST, echo)
    return result.final_loss, time.perf_counter() - start


if __name__ == "__main__":
    variant_reset = "--reset" in sys.argv[1:]
    outcome = run(variant_reset)
    print(
        f"{'reset' if variant_reset else 'state kept'}: final loss {outcome.final_loss!r} "
        f"after {outcome.phase1_steps} + {outcome.phase2_steps} steps"
    )
