"""Plain-Python reference semantics of NOMA training, for tests: the optimize
loop's iterations of body, `until` check, step (LANGUAGE.md section 5, as in
the original NOMA) and the textbook SGD / Adam / RMSprop updates with
per-parameter state."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

Grad = Callable[[dict[str, float]], dict[str, float]]


@dataclass
class Optimizer:
    kind: str
    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    state: dict[str, dict[str, float]] = field(default_factory=dict)

    def step(self, params: dict[str, float], grads: dict[str, float]) -> None:
        for name, g in grads.items():
            s = self.state.setdefault(name, {"m": 0.0, "v": 0.0, "t": 0.0})
            s["t"] += 1.0
            if self.kind == "sgd":
                update = self.lr * g
            elif self.kind == "rmsprop":
                s["v"] = self.beta2 * s["v"] + (1.0 - self.beta2) * (g * g)
                update = self.lr * g / (math.sqrt(s["v"]) + self.eps)
            else:
                s["m"] = self.beta1 * s["m"] + (1.0 - self.beta1) * g
                s["v"] = self.beta2 * s["v"] + (1.0 - self.beta2) * (g * g)
                m_hat = s["m"] / (1.0 - self.beta1 ** s["t"])
                v_hat = s["v"] / (1.0 - self.beta2 ** s["t"])
                update = self.lr * m_hat / (math.sqrt(v_hat) + self.eps)
            params[name] = params[name] - update


def optimize(
    params: dict[str, float],
    opt: Optimizer,
    body: Callable[[dict[str, float]], dict[str, float]],
    until: Callable[[dict[str, float]], bool],
    grad: Grad,
    max_iterations: float = 1000,
) -> tuple[dict[str, float], int, bool]:
    """At most `max_iterations` iterations (a fraction truncated, none for
    NaN), each one: run the body, stop if the condition holds, else step,
    the last iteration included. Gives the body's last values (computed
    before that iteration's step; empty when no iteration ran), the number
    of steps and whether the condition held."""
    values: dict[str, float] = {}
    steps = 0
    iterations = 0
    while iterations + 1 <= max_iterations:
        iterations += 1
        values = body(params)
        if until(values):
            return values, steps, True
        opt.step(params, grad(params))
        steps += 1
    return values, steps, False
