"""Every scalar derivative rule, and autodiff through control flow and calls,
checked against central finite differences on hypothesis-generated inputs.

A NOMA function `f` is compiled through the whole pipeline; `autodiff`
generates `f__vjp` for it (the optimize loop in `main` calls `f`). Both are
called directly from the JIT-compiled module, so each example is a function
call, not a compilation.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from functools import cache

import pytest
from gradient_cases import (
    CONTROL_FLOW,
    SCALAR_BINARY,
    SCALAR_ROUNDING,
    SCALAR_UNARY,
    moderate,
    scalar_binary_source,
    scalar_program,
    scalar_rounding_source,
    scalar_unary_source,
)
from hypothesis import assume, given, settings
from jit_functions import jit_with_entries


@cache
def compiled(f_source: str, arity: int) -> tuple[Callable[..., float], Callable[..., tuple]]:
    """`f` and its vector-Jacobian product from a NOMA definition of `f`."""
    source = scalar_program(f_source, arity)
    # Entry points: kept as functions (calls of them are inlined otherwise).
    jit, _ = jit_with_entries(source, ["fn.f", "fn.f__vjp"])
    double = ctypes.c_double
    f = ctypes.CFUNCTYPE(double, *[double] * arity)(jit.function_address("fn.f"))
    # f__vjp(args..., dy) returns one adjoint per argument: a struct of
    # doubles when there are several.
    if arity == 1:
        vjp_raw = ctypes.CFUNCTYPE(double, double, double)(jit.function_address("fn.f__vjp"))

        def vjp(*args: float) -> tuple[float, ...]:
            return (vjp_raw(*args, 1.0),)

    else:

        class Adjoints(ctypes.Structure):
            _fields_ = [(f"d{i}", double) for i in range(arity)]

        vjp_struct = ctypes.CFUNCTYPE(Adjoints, *[double] * (arity + 1))(
            jit.function_address("fn.f__vjp")
        )

        def vjp(*args: float) -> tuple[float, ...]:
            result = vjp_struct(*args, 1.0)
            return tuple(getattr(result, f"d{i}") for i in range(arity))

    # Keep the JIT module alive as long as the cached callables.
    f._jit = jit  # type: ignore[attr-defined]
    return f, vjp


def _shifted(args: tuple[float, ...], i: int, h: float) -> list[float]:
    moved = list(args)
    moved[i] += h
    return moved


def central_difference(f: Callable[..., float], args: tuple[float, ...], i: int) -> float:
    h = 1e-6 * max(1.0, abs(args[i]))
    return (f(*_shifted(args, i, h)) - f(*_shifted(args, i, -h))) / (2 * h)


def one_sided_differences(
    f: Callable[..., float], args: tuple[float, ...], i: int
) -> tuple[float, float]:
    h = 1e-6 * max(1.0, abs(args[i]))
    here = f(*args)
    return (f(*_shifted(args, i, h)) - here) / h, (here - f(*_shifted(args, i, -h))) / h


def assert_gradient_matches(f_source: str, args: tuple[float, ...]) -> None:
    f, vjp = compiled(f_source, len(args))
    value = f(*args)
    assume(math.isfinite(value))
    grads = vjp(*args)
    for i, g in enumerate(grads):
        fd = central_difference(f, args, i)
        # Near a branch switch or a change in the number of loop iterations
        # the function has a jump or a kink there is no derivative at: skip
        # points where the one-sided differences disagree.
        forward, backward = one_sided_differences(f, args, i)
        assume(math.isfinite(fd))
        assume(math.isclose(forward, backward, rel_tol=1e-3, abs_tol=1e-4))
        # Within a step of a kink the one-sided slopes still agree to 1e-3
        # (0.999 and 1.0 at x = 1.4e-9 for `x > 0 && ...`), and any value
        # between them is a valid (sub)gradient, as in test_tensor_rules.py.
        low, high = sorted((forward, backward))
        subgradient = low - 2e-6 <= g <= high + 2e-6
        assert subgradient or math.isclose(g, fd, rel_tol=2e-5, abs_tol=2e-6), (
            f"d/dp{i} of {f_source!r} at {args}: autodiff {g}, finite differences {fd}"
        )


@pytest.mark.parametrize("builtin", sorted(SCALAR_UNARY))
def test_unary_rule(builtin: str) -> None:
    @settings(max_examples=60, deadline=None)
    @given(SCALAR_UNARY[builtin])
    def check(x: float) -> None:
        assert_gradient_matches(scalar_unary_source(builtin), (x,))

    check()


@pytest.mark.parametrize("builtin", SCALAR_ROUNDING)
def test_rounding_has_zero_gradient(builtin: str) -> None:
    f, vjp = compiled(scalar_rounding_source(builtin), 1)

    @settings(max_examples=40, deadline=None)
    @given(moderate.filter(lambda x: abs(x - round(x)) > 1e-3))
    def check(x: float) -> None:
        # d/dx (floor(x) * x) = floor(x): only the product rule's other term.
        (g,) = vjp(x)
        assert g == getattr(math, builtin)(x)

    check()


@pytest.mark.parametrize("case", sorted(SCALAR_BINARY))
def test_binary_rule(case: str) -> None:
    expression, xs, ys = SCALAR_BINARY[case]

    @settings(max_examples=60, deadline=None)
    @given(xs, ys)
    def check(x: float, y: float) -> None:
        if case in ("min", "max"):
            assume(abs(x - y) > 1e-3)
        if case == "rem":
            quotient = x / y
            assume(abs(quotient - round(quotient)) > 1e-3)
        assert_gradient_matches(scalar_binary_source(expression), (x, y))

    check()


def test_unary_minus_rule() -> None:
    f, vjp = compiled("fn f(x) { return -x * 3; }", 1)
    assert vjp(2.0) == (-3.0,)


def test_pow_with_integer_exponent_at_zero() -> None:
    # y * x^(y-1) is used rather than y * z / x, so x = 0 is fine.
    f, vjp = compiled("fn f(x) { return x ** 3; }", 1)
    assert vjp(0.0) == (0.0,)
    assert vjp(2.0) == (12.0,)


@pytest.mark.parametrize("name", sorted(CONTROL_FLOW))
def test_control_flow_and_calls(name: str) -> None:
    @settings(max_examples=40, deadline=None)
    @given(moderate, moderate.filter(lambda y: abs(y) > 0.05))
    def check(x: float, y: float) -> None:
        assert_gradient_matches(CONTROL_FLOW[name], (x, y))

    check()
