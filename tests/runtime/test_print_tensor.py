"""noma_print_tensor and noma_free_buffer, the runtime side of tensors.

`print` of a tensor must be Python's nested-list output with every number in
repr(float) form, in the JIT and in executables alike; the C function is the
one implementation, so it is checked here against a Python reference on
generated shapes (including zero-sized dimensions) and values (including nan,
inf and -0.0), on strided data, and on its error path when compiled code
hands it a shape that does not match the data.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from noma.runtime.jit import JitModule, NomaRuntime, load_runtime


@pytest.fixture(scope="module")
def rt() -> NomaRuntime:
    return load_runtime()


def reference(a: np.ndarray) -> str:
    """The specified output: nested lists like repr(a.tolist()), numbers as floats."""
    if a.ndim == 0:
        return repr(float(a))
    return "[" + ", ".join(reference(x) for x in a) + "]"


def printed(rt: NomaRuntime, capfd: pytest.CaptureFixture[str]) -> str:
    """What C stdout received since the last read (stderr must be empty)."""
    rt.flush()
    out, err = capfd.readouterr()
    assert err == ""
    return out


# --- the format -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "text"),
    [
        (np.array([1.0, 2.0]), "[1.0, 2.0]"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), "[[1.0, 2.0], [3.0, 4.0]]"),
        (np.array([[[0.5]]]), "[[[0.5]]]"),
        (np.array(25.0), "25.0"),
        (np.array(-0.0), "-0.0"),
        (np.zeros(0), "[]"),
        (np.zeros((2, 0)), "[[], []]"),
        (np.zeros((0, 3)), "[]"),
        (np.zeros((2, 1, 0)), "[[[]], [[]]]"),
        (np.array([np.nan, -np.inf, np.inf, 1e16, 1.5e-07]), "[nan, -inf, inf, 1e+16, 1.5e-07]"),
    ],
)
def test_examples(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str], array: np.ndarray, text: str
) -> None:
    assert reference(array) == text  # the reference itself says what the brief says
    rt.print_tensor(array)
    assert printed(rt, capfd) == text + "\n"


FLOATS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True) | st.sampled_from(
    [-0.0, 0.0, float("nan"), float("inf"), float("-inf"), 0.1, 1e16, 5e-324]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    array=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
        elements=FLOATS,
    )
)
@example(array=np.array(-0.0))
@example(array=np.full((4, 4, 4, 4), -0.0))
def test_matches_python_reference(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str], array: np.ndarray
) -> None:
    capfd.readouterr()
    rt.print_tensor(array)
    assert printed(rt, capfd) == reference(array) + "\n"


def test_non_contiguous_array_prints_in_logical_order(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str]
) -> None:
    """A transposed view is copied to row-major order, not printed as stored."""
    m = np.arange(6.0).reshape(2, 3)
    rt.print_tensor(m.T)
    rt.print_tensor(m[:, ::2])
    assert printed(rt, capfd) == f"{reference(m.T)}\n{reference(m[:, ::2])}\n"


def test_wrong_dtype_is_rejected(rt: NomaRuntime) -> None:
    with pytest.raises(TypeError, match="float64"):
        rt.print_tensor(np.arange(3))


# --- strided flat data ---------------------------------------------------------------


def test_strided_data_reads_every_other_element(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str]
) -> None:
    """Element k is aligned[offset + k * stride]: stride 2 from offset 1 picks
    the odd slots of the buffer; stride -1 walks it backwards."""
    buffer = np.arange(13.0)
    address = buffer.ctypes.data
    rt.print_tensor_data(address, 1, 6, 2, (2, 3))
    rt.print_tensor_data(address, 12, 4, -1, (2, 2))
    rt.print_tensor_data(address, 5, 1, 2, ())
    assert printed(rt, capfd) == (
        "[[1.0, 3.0, 5.0], [7.0, 9.0, 11.0]]\n[[12.0, 11.0], [10.0, 9.0]]\n5.0\n"
    )


@pytest.mark.parametrize(
    ("size", "shape"), [(5, (2, 3)), (1, (0,)), (0, ()), (6, (-2, -3)), (0, (3, -1, 0))]
)
def test_python_wrapper_checks_the_shape(
    rt: NomaRuntime, size: int, shape: tuple[int, ...]
) -> None:
    """Outside noma_rt_invoke the C error path would exit the interpreter, so
    the wrapper refuses a mismatch itself."""
    buffer = np.zeros(8)
    with pytest.raises(ValueError, match="do not fill shape"):
        rt.print_tensor_data(buffer.ctypes.data, 0, size, 1, shape)


# --- from compiled code --------------------------------------------------------------

# `show` prints the 6 values as a 3x2 tensor whose shape is read with a
# dims stride of 2 (the 7 in between is skipped), then as 2x3 claiming
# args[0] elements: a wrong count is the internal runtime error.
PRINT_IR = r"""
@data = private constant [6 x double] [double 1.0, double 2.0, double 3.0, double 4.0, double 5.0, double 6.0]
@spaced_dims = private constant [3 x i64] [i64 3, i64 7, i64 2]
@dims = private constant [2 x i64] [i64 2, i64 3]

declare void @noma_print_tensor(ptr, ptr, i64, i64, i64, ptr, ptr, i64, i64, i64)

define void @_noma_packed_show(ptr %args) {
entry:
  %a0 = load ptr, ptr %args
  %size = load i64, ptr %a0
  call void @noma_print_tensor(ptr @data, ptr @data, i64 0, i64 6, i64 1, ptr @spaced_dims, ptr @spaced_dims, i64 0, i64 2, i64 2)
  call void @noma_print_tensor(ptr @data, ptr @data, i64 0, i64 %size, i64 1, ptr @dims, ptr @dims, i64 0, i64 2, i64 1)
  ret void
}
"""


@pytest.fixture(scope="module")
def print_module() -> Iterator[JitModule]:
    with JitModule(PRINT_IR) as module:
        yield module


def _show(module: JitModule, size: int) -> int:
    n = ctypes.c_int64(size)
    return module.invoke_packed("_noma_packed_show", [ctypes.pointer(n)])


def test_compiled_code_prints_tensors(
    print_module: JitModule, capfd: pytest.CaptureFixture[str]
) -> None:
    assert _show(print_module, 6) == 0
    print_module.flush()
    out, err = capfd.readouterr()
    assert out == "[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]\n[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\n"
    assert err == ""


@pytest.mark.parametrize("size", [5, 7, 0, -1])
def test_size_mismatch_is_a_runtime_error(
    print_module: JitModule, capfd: pytest.CaptureFixture[str], size: int
) -> None:
    """Status 1, the message names both sides, and nothing of the bad tensor
    reaches stdout (what was printed before it does)."""
    assert _show(print_module, size) == 1
    print_module.flush()
    out, err = capfd.readouterr()
    assert out == "[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]\n"
    assert err == f"runtime error: internal: tensor of {size} elements printed with shape [2, 3]\n"
    # The module stays usable after the error.
    assert _show(print_module, 6) == 0
    capfd.readouterr()


BAD_SHAPE_IR = r"""
@data = private constant [1 x double] [double 1.0]
@dims = private constant [2 x i64] [i64 -1, i64 -1]

declare void @noma_print_tensor(ptr, ptr, i64, i64, i64, ptr, ptr, i64, i64, i64)

define void @_noma_packed_negative_dims(ptr %args) {
entry:
  call void @noma_print_tensor(ptr @data, ptr @data, i64 0, i64 1, i64 1, ptr @dims, ptr @dims, i64 0, i64 2, i64 1)
  ret void
}

define void @_noma_packed_negative_rank(ptr %args) {
entry:
  call void @noma_print_tensor(ptr @data, ptr @data, i64 0, i64 1, i64 1, ptr @dims, ptr @dims, i64 0, i64 -3, i64 1)
  ret void
}
"""


def test_negative_dims_or_rank_are_runtime_errors(capfd: pytest.CaptureFixture[str]) -> None:
    """(-1) * (-1) == 1 element must not pass for a 1-element buffer."""
    with JitModule(BAD_SHAPE_IR) as module:
        assert module.invoke_packed("_noma_packed_negative_dims", []) == 1
        assert module.invoke_packed("_noma_packed_negative_rank", []) == 1
        module.flush()
    out, err = capfd.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "runtime error: internal: tensor of 1 elements printed with shape [-1, -1]",
        "runtime error: internal: tensor of 1 elements printed with rank -3",
    ]


# --- noma_free_buffer ------------------------------------------------------------------

MALLOC_IR = r"""
declare ptr @malloc(i64)

define ptr @grab(i64 %n) {
entry:
  %p = call ptr @malloc(i64 %n)
  ret ptr %p
}
"""


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mmapped_bytes() -> int:
    """glibc's count of bytes in mmapped chunks (large mallocs); skip elsewhere."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        pytest.skip("needs glibc's mallinfo2")
    mallinfo2.restype = _Mallinfo2
    mallinfo2.argtypes = []
    return int(mallinfo2().hblkhd)


def test_free_buffer_releases_what_compiled_code_malloced(rt: NomaRuntime) -> None:
    """64 MiB is above glibc's largest mmap threshold, so the block is mmapped
    and freeing it shows up at once in mallinfo2."""
    nbytes = 64 << 20
    with JitModule(MALLOC_IR) as module:
        grab = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_int64)(module.function_address("grab"))
        before = _mmapped_bytes()
        address = grab(nbytes)
        assert address
        held = _mmapped_bytes()
        assert held - before >= nbytes
        rt.free_buffer(address)
        assert held - _mmapped_bytes() >= nbytes


def test_free_buffer_ignores_null(rt: NomaRuntime) -> None:
    rt.free_buffer(0)
