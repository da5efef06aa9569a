"""Gradients that reach the parameters through `noma.read`, checked against
central finite differences on whole programs.

The other gradient tests call the generated `f__vjp` of a function; here
the optimize body reads the parameters and computes the loss itself, so the
gradient is the one autodiff hands to the parameter handles (the rule of
`noma.read`) and the one the optimizer applies: after one SGD step of rate
1, each parameter is its initial value minus its gradient. The reference is
the central difference of the same loss as a NOMA function (`f`, compiled
apart). Cases: `PARAMETER_CASES` in tests/support/gradient_cases.py.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from gradient_cases import PARAMETER_CASES, Shape, parameter_program, tensor_program
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_functions import compile_functions

import noma

pytestmark = pytest.mark.slow  # see README.md, "Testing"


@cache
def loss_function(name: str) -> Callable[..., float]:
    body, shapes = PARAMETER_CASES[name]
    return compile_functions(tensor_program(body, tuple(shapes)), ["fn.f"])["fn.f"]


@cache
def program(name: str) -> noma.Program:
    body, shapes = PARAMETER_CASES[name]
    return noma.compile(parameter_program(body, len(shapes)))


def central_differences(f: Callable[..., float], args: list[np.ndarray], i: int) -> np.ndarray:
    grad = np.zeros_like(args[i])
    for index in np.ndindex(args[i].shape):
        h = 1e-6 * max(1.0, abs(float(args[i][index])))
        up = [a.copy() for a in args]
        down = [a.copy() for a in args]
        up[i][index] += h
        down[i][index] -= h
        grad[index] = (f(*up) - f(*down)) / (2 * h)
    return grad


def arrays(shape: Shape) -> st.SearchStrategy[np.ndarray]:
    count = math.prod(shape)
    elements = st.floats(-1.5, 1.5, allow_nan=False)
    return st.lists(elements, min_size=count, max_size=count).map(
        lambda v: np.array(v).reshape(shape)
    )


@pytest.mark.parametrize("name", sorted(PARAMETER_CASES))
def test_one_sgd_step_subtracts_the_finite_difference_gradient(name: str) -> None:
    shapes = PARAMETER_CASES[name][1]
    f = loss_function(name)
    compiled = program(name)

    @settings(max_examples=5, deadline=None)
    @given(st.tuples(*(arrays(s) for s in shapes)))
    def check(values: tuple[np.ndarray, ...]) -> None:
        args = list(values)
        # The loop stops on max_iterations, not on `until 0`: its warning
        # says so on stderr.
        with contextlib.redirect_stderr(io.StringIO()):
            compiled.run(args={f"P{i}": a for i, a in enumerate(args)})
        trained = compiled.parameters
        for i, initial in enumerate(args):
            expected = initial - central_differences(f, args, i)
            np.testing.assert_allclose(trained[f"p{i}"], expected, rtol=1e-6, atol=1e-7)

    check()
