"""A central-difference check of autodiff for one NOMA expression of its
parameters p0, p1, ..., for tests that generate their own shapes (the
fixed-shape tables are checked by tests/autodiff/test_tensor_rules.py)."""

from __future__ import annotations

import math

import numpy as np
from gradient_cases import tensor_program
from jit_functions import compile_functions


def check_gradients_fd(body: str, args: list[np.ndarray], rel_tol: float = 2e-5) -> None:
    """`f(p0, ...) = body` and its vjp against central differences, element
    by element (smooth bodies only: no kinks)."""
    shapes = tuple(a.shape for a in args)
    compiled = compile_functions(tensor_program(body, shapes), ["fn.f", "fn.f__vjp"])
    f, vjp = compiled["fn.f"], compiled["fn.f__vjp"]
    grads = vjp(*args, 1.0)
    if len(args) == 1:
        grads = (grads,)
    for i, (arg, grad) in enumerate(zip(args, grads, strict=True)):
        assert np.shape(grad) == arg.shape
        for index in np.ndindex(arg.shape):
            h = 1e-6 * max(1.0, abs(float(arg[index])))

            def at(delta: float, i: int = i, index: tuple[int, ...] = index) -> float:
                moved = [a.copy() for a in args]
                moved[i][index] += delta
                return f(*moved)

            fd = (at(h) - at(-h)) / (2 * h)
            g = float(np.asarray(grad)[index])
            assert math.isclose(g, fd, rel_tol=rel_tol, abs_tol=2e-6), (
                f"d f/d p{i}{list(index)} of {body!r} with shapes {shapes}: "
                f"autodiff {g}, finite differences {fd}"
            )
