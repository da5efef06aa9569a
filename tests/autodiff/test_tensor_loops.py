"""Reverse mode through `while` and `batch` loops that carry tensors (a
recurrent network unrolled over time steps), checked against central finite
differences; the tape's tensor functions in the C runtime; memory that
stays flat however many steps train through such a loop.

Each case is a NOMA function `f` called from an optimize body, so that
`autodiff` generates `f__vjp`; both are called from the JIT with numpy
arrays (tests/support/jit_functions.py). `f` takes the number of time steps
`n` as an argument, so one compiled function covers loops running zero,
one and several times.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_functions import compile_functions
from mlir_functions import parse_module
from programs import peak_rss_kib
from xdsl.dialects import scf

from noma.frontend.diagnostics import NomaError
from noma.passes.autodiff import differentiate_module
from noma.passes.autodiff.rules import default_rules
from noma.runtime.jit import load_runtime

RNN = """
fn f(W, h0, X, n) {
    let h = h0;
    let t = 0;
    while t < n {
        h = tanh(matmul(h, W) + X[t]);
        t = t + 1;
    }
    return sum(h * h) + mean(h);
}
"""

MIXED = """
fn f(W, U, h0, X, n) {
    let V = U * 2;                      // a varied tensor captured by the loop
    let h = h0;
    let c = [[1.0, 1.0]];               // a tensor carried, not varied
    let acc = 0;                        // a varied scalar carried
    let t = 0;
    while t < n {
        h = tanh(matmul(h, W) + X[t] * c + matmul(h, V));
        let k = 0;
        while k < 2 {                   // a nested loop carrying a tensor
            h = h * 0.75 + sigmoid(h) * U[0];
            k = k + 1;
        }
        acc = acc + sum(h) * c[0][0];
        c = c * 0.5;
        t = t + 1;
    }
    return acc + sum(h * h);
}
"""

BATCH = """
fn f(W, h0, X, n) {
    let h = h0;
    batch xt in X with 1 {
        h = tanh(matmul(h, W) + xt) * n;
    }
    return sum(h * h) + mean(h);
}
"""

BATCH_BLOCKS = """
fn f(W, h0, X, n) {
    let h = h0;
    batch xb in X with 2 {              // blocks of 2 rows, then 1: a dynamic shape
        h = tanh(matmul(h, W) * n + matmul(xb, W)[0] + sum(xb * xb) * W[1]);
    }
    return sum(h * h) + mean(h);
}
"""

STATIC_SHAPES = {"W": (2, 2), "U": (2, 2), "h0": (1, 2), "X": (3, 2)}


def literal(shape: tuple[int, ...]) -> str:
    inner = "0.5" if len(shape) == 1 else literal(shape[1:])
    return "[" + ", ".join([inner] * shape[0]) + "]"


@cache
def compiled(source: str, names: tuple[str, ...], dynamic: bool) -> tuple[Callable, Callable]:
    """`f` and `f__vjp` of `source`, whose tensor arguments `names` are
    learnable parameters of the shapes of STATIC_SHAPES, or of dynamic shape
    (resized to run-time dimensions first) when `dynamic`."""
    learns = [f"    learn {n} = {literal(STATIC_SHAPES[n])};" for n in names]
    if dynamic:
        # floor(rand()) is 0, but not a compile-time constant.
        learns.append("    let zero = floor(rand());")
        for n in names:
            dims = ", ".join(f"zero + {d}" for d in STATIC_SHAPES[n])
            learns.append(f"    realloc {n} = [{dims}];")
    args = ", ".join(names)
    program = f"""{source}
fn main() {{
{chr(10).join(learns)}
    optimize({args}) with sgd(0.1) until 1 {{
        let loss = f({args}, 3);
        minimize loss;
    }}
}}
"""
    functions = compile_functions(program, ["fn.f", "fn.f__vjp"])
    return functions["fn.f"], functions["fn.f__vjp"]


def check_gradients(
    f: Callable[..., float], vjp: Callable[..., tuple], args: Sequence[np.ndarray], n: float
) -> None:
    """Every element of every tensor argument: autodiff against central
    differences (the functions are smooth: no kinks to skip)."""
    value = f(*args, n)
    assert math.isfinite(value)
    grads = vjp(*args, n, 1.0)
    assert len(grads) == len(args) + 1  # and the adjoint of n
    for i, (arg, grad) in enumerate(zip(args, grads, strict=False)):
        assert np.shape(grad) == arg.shape
        for index in np.ndindex(arg.shape):
            step = 1e-6 * max(1.0, abs(float(arg[index])))
            moved = [a.copy() for a in args]
            moved[i][index] += step
            up = f(*moved, n)
            moved[i][index] -= 2 * step
            down = f(*moved, n)
            fd = (up - down) / (2 * step)
            g = float(grad[index])
            assert math.isclose(g, fd, rel_tol=1e-5, abs_tol=1e-6), (
                f"d f/d arg{i}{list(index)} with n = {n}: autodiff {g}, finite differences {fd}"
            )


def arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    elements = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)
    count = math.prod(shape)
    return st.lists(elements, min_size=count, max_size=count).map(
        lambda v: np.array(v).reshape(shape)
    )


STEPS = st.sampled_from([0.0, 1.0, 2.0, 3.0])
"""Time steps: a loop running zero times (the adjoint of h0 is then that of
the result, and W and X get zeros), once, and over every row of X."""


@settings(max_examples=25, deadline=None)
@given(arrays((2, 2)), arrays((1, 2)), arrays((3, 2)), STEPS)
def test_rnn_while_loop(W: np.ndarray, h0: np.ndarray, X: np.ndarray, n: float) -> None:
    """h carried by the loop, W (a parameter read in the body) and X
    captured: gradients with respect to all three."""
    f, vjp = compiled(RNN, ("W", "h0", "X"), dynamic=False)
    check_gradients(f, vjp, [W, h0, X], n)


def test_a_loop_running_zero_times_passes_the_adjoint_through() -> None:
    _, vjp = compiled(RNN, ("W", "h0", "X"), dynamic=False)
    W, h0, X = np.full((2, 2), 0.3), np.array([[0.5, -1.0]]), np.ones((3, 2))
    dW, dh0, dX, _ = vjp(W, h0, X, 0.0, 1.0)
    assert np.array_equal(dW, np.zeros((2, 2))) and np.array_equal(dX, np.zeros((3, 2)))
    assert np.allclose(dh0, 2 * h0 + 0.5)  # d/dh (sum(h * h) + mean(h)), h = h0


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda size: st.tuples(
            arrays((size, size)),
            arrays((1, size)),
            st.integers(1, 4).flatmap(lambda steps: arrays((steps, size))),
        )
    ),
    st.data(),
)
def test_rnn_while_loop_of_dynamic_shapes(
    tensors: tuple[np.ndarray, np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    """The same loop compiled for tensor<?x?xf64>: the tape records each
    state's run-time shape, and zeros where no adjoint flows take the shape
    of a value at hand. One compiled function runs on every size."""
    W, h0, X = tensors
    n = float(data.draw(st.integers(0, len(X)), label="n"))
    f, vjp = compiled(RNN, ("W", "h0", "X"), dynamic=True)
    check_gradients(f, vjp, [W, h0, X], n)


@settings(max_examples=15, deadline=None)
@given(arrays((2, 2)), arrays((2, 2)), arrays((1, 2)), arrays((3, 2)), STEPS)
def test_loop_carrying_tensors_and_scalars_with_a_nested_loop(
    W: np.ndarray, U: np.ndarray, h0: np.ndarray, X: np.ndarray, n: float
) -> None:
    """A varied tensor computed before the loop, a carried tensor that does
    not vary, a varied scalar accumulated over the steps, and an inner loop
    carrying the state too."""
    f, vjp = compiled(MIXED, ("W", "U", "h0", "X"), dynamic=False)
    check_gradients(f, vjp, [W, U, h0, X], n)


@settings(max_examples=15, deadline=None)
@given(arrays((2, 2)), arrays((1, 2)), arrays((3, 2)), st.floats(0.5, 1.5))
def test_rnn_batch_loop(W: np.ndarray, h0: np.ndarray, X: np.ndarray, scale: float) -> None:
    """The `batch` form: one row of X per time step. (`batch` loops with a
    `minimize` inside are mini-batch training instead, one step per block.)"""
    f, vjp = compiled(BATCH, ("W", "h0", "X"), dynamic=False)
    check_gradients(f, vjp, [W, h0, X], scale)


def test_a_loop_carrying_another_type_is_refused_at_the_loop() -> None:
    """Only f64 values and f64 tensors go on the tape: an integer carried by
    hand-written IR is a located error, not a crash."""
    module = parse_module("""
func.func @main(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %i0 = arith.constant 0 : i32
    %r, %i = scf.while (%a = %w, %k = %i0) : (f64, i32) -> (f64, i32) {
      %three = arith.constant 3 : i32
      %more = arith.cmpi slt, %k, %three : i32
      scf.condition(%more) %a, %k : f64, i32
    } do {
    ^bb0(%a: f64, %k: i32):
      %b = noma.mul %a, %w : f64, f64 -> f64
      %one = arith.constant 1 : i32
      %k1 = arith.addi %k, %one : i32
      scf.yield %b, %k1 : f64, i32
    }
    noma.minimize %r : f64
    noma.until %r
  }
  func.return
}
""")
    with pytest.raises(NomaError) as error:
        differentiate_module(module, default_rules())
    assert error.value.message == (
        "autodiff: a value carried by a differentiated loop must be f64 or a tensor of f64, got i32"
    )
    assert isinstance(error.value.op, scf.WhileOp)


@settings(max_examples=15, deadline=None)
@given(arrays((2, 2)), arrays((1, 2)), arrays((3, 2)), st.floats(0.5, 1.5))
def test_batch_loop_over_blocks_of_dynamic_shape(
    W: np.ndarray, h0: np.ndarray, X: np.ndarray, scale: float
) -> None:
    """The blocks (2 rows, then the 1 left) have a dynamic shape inside the
    loop, which carries a static state."""
    f, vjp = compiled(BATCH_BLOCKS, ("W", "h0", "X"), dynamic=False)
    check_gradients(f, vjp, [W, h0, X], scale)


# --------------------------------------------------------------------------
# The tape's tensor functions in the C runtime
# --------------------------------------------------------------------------


def _flat_args(array: np.ndarray, stride: int = 1) -> tuple:
    """A flat memref<?xf64> as MLIR passes it: allocated and aligned
    pointers, offset, size, stride."""
    pointer = array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    return pointer, pointer, 0, array.size // stride, stride


def test_tape_keeps_copies_of_tensors_between_scalars() -> None:
    lib = load_runtime().lib
    tape = lib.noma_tape_new()
    first = np.arange(6.0)
    second = np.array([-1.0, 2.5, 7.0])
    lib.noma_tape_push_array(tape, *_flat_args(first))
    lib.noma_tape_push(tape, 4.0)
    lib.noma_tape_push_array(tape, *_flat_args(second))
    first[:] = 99.0  # the tape holds copies, not the buffers
    second[:] = 99.0
    strided = np.zeros(6)  # every other element: a stride of 2
    lib.noma_tape_pop_array(tape, *_flat_args(strided, stride=2))
    assert strided.tolist() == [-1.0, 0.0, 2.5, 0.0, 7.0, 0.0]
    assert lib.noma_tape_pop(tape) == 4.0
    back = np.zeros(6)
    lib.noma_tape_pop_array(tape, *_flat_args(back))
    assert back.tolist() == list(np.arange(6.0))
    many = np.arange(5000.0)  # regrowth in one push
    lib.noma_tape_push_array(tape, *_flat_args(many))
    out = np.zeros(5000)
    lib.noma_tape_pop_array(tape, *_flat_args(out))
    assert np.array_equal(out, many)
    lib.noma_tape_free(tape)


# --------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------

MEMORY = """
fn main() {{
    let X = [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.3, -0.1, 0.2, 0.0, 0.1, 0.2],
             [0.5, 0.4, -0.3, 0.2, 0.1, 0.0], [-0.2, 0.1, 0.0, 0.3, 0.2, 0.1]];
    learn W = xavier_init(6, 6, 6, 6);
    let zero = floor(rand());
    realloc W = [zero + 6, zero + 6];   // dynamic shapes: buffers not hoisted
    let max_iterations = {steps};
    optimize(W) with adam(0.001) until loss < 0 {{
        let h = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
        let t = 0;
        while t < 12 {{
            h = tanh(matmul(h, W) + X[t % 4]);
            t = t + 1;
        }}
        let loss = mean(h * h);
        minimize loss;
    }}
    return loss;
}}
"""


def rnn_peak_rss_kib(tmp_path: Path, steps: int) -> int:
    program = tmp_path / f"rnn_memory_{steps}.noma"
    program.write_text(MEMORY.format(steps=steps))
    return peak_rss_kib(program)


@pytest.mark.slow
def test_memory_is_flat_across_steps_through_a_loop_carrying_tensors(tmp_path: Path) -> None:
    """The tape of every step (12 states of 48 bytes) and the states popped
    from it are freed in that step: 60,000 steps use the memory of 1,000,
    where keeping either would take 35 MB or more."""
    short = rnn_peak_rss_kib(tmp_path, 1_000)
    long = rnn_peak_rss_kib(tmp_path, 60_000)
    print(f"peak RSS: 1,000 steps {short} KiB, 60,000 steps {long} KiB")
    assert long <= short + 10_000
