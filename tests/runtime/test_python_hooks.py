"""The C runtime's hooks for the Python API, through ctypes: in-memory
arrays for main's parameters (noma_set_arg_array), the parameter sink that
keeps a safetensors writer in memory (noma_exported_parameter), and the
output callback (noma_rt_set_output). Run under the sanitizers too
(test_sanitizers.py)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from noma.runtime.jit import NomaRuntime, load_runtime
from noma.runtime.python_streams import OUTPUT_CALLBACK

WHERE = "prog.noma:3:5: "
SINK = "\0noma:parameters"
"""NOMA_PARAMETERS_SINK of noma_io.h (noma.runtime.export_parameters has
the same; spelled out here so that a change to either is noticed)."""


@pytest.fixture
def rt() -> NomaRuntime:
    runtime = load_runtime()
    runtime.clear_args()
    yield runtime
    runtime.clear_args()
    runtime.lib.noma_exported_clear()


def _error(rt: NomaRuntime, capfd: pytest.CaptureFixture[str], call: object) -> str:
    capfd.readouterr()
    with pytest.raises(RuntimeError, match="runtime error"):
        call()  # type: ignore[operator]
    rt.flush()
    out, err = capfd.readouterr()
    assert out == ""
    return err


# -- arrays for main's parameters --------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 2)])
def test_an_array_is_loaded_as_it_was_given(rt: NomaRuntime, shape: tuple[int, ...]) -> None:
    array = np.array(np.arange(1.0, 1 + int(np.prod(shape))).reshape(shape) / 8)
    rt.set_arg_array("X", array)
    loaded = rt.load_arg("X", rank=len(shape), where=WHERE)
    assert loaded.shape == shape
    assert loaded.tobytes() == array.tobytes()


def test_the_array_is_read_when_loaded_and_each_load_is_a_copy(rt: NomaRuntime) -> None:
    array = np.array([1.0, 2.0])
    rt.set_arg_array("v", array)
    array[0] = 5.0  # borrowed: the runtime reads it when the program loads it
    first = rt.load_arg("v", rank=1)
    second = rt.load_arg("v", rank=1)
    assert first.tolist() == second.tolist() == [5.0, 2.0]


def test_an_array_of_another_rank_is_a_located_error(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str]
) -> None:
    rt.set_arg_array("X", np.zeros(4))
    err = _error(rt, capfd, lambda: rt.load_arg("X", rank=2, where=WHERE))
    assert err == (
        f"{WHERE}runtime error: the array given for main's parameter 'X' is a 1-D tensor, "
        "where the program expects a 2-D tensor\n"
    )
    rt.set_arg_array("s", np.array(2.0))
    err = _error(rt, capfd, lambda: rt.load_arg("s", rank=1, where=WHERE))
    assert "parameter 's' is a scalar, where the program expects a 1-D tensor" in err


def test_a_file_replaces_an_array_and_clearing_forgets_both(
    rt: NomaRuntime, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("7,8\n")
    rt.set_arg_array("X", np.zeros((1, 2)))
    rt.set_arg("X", csv)
    assert rt.load_arg("X", rank=2).tolist() == [[7.0, 8.0]]
    rt.set_arg_array("X", np.ones((1, 2)))
    assert rt.load_arg("X", rank=2).tolist() == [[1.0, 1.0]]
    rt.clear_args()
    err = _error(rt, capfd, lambda: rt.load_arg("X", rank=2, where=WHERE))
    assert "no file for main's parameter 'X'" in err


def test_set_arg_array_takes_only_contiguous_float64(rt: NomaRuntime) -> None:
    with pytest.raises(TypeError):
        rt.set_arg_array("X", np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError):
        rt.set_arg_array("X", np.zeros((3, 3))[:, 1])
    with pytest.raises(TypeError):
        rt.set_arg_array("X", np.float64(1.0))  # type: ignore[arg-type]


# -- the parameter sink --------------------------------------------------------


def test_a_writer_saved_to_the_sink_is_kept_in_name_order(rt: NomaRuntime) -> None:
    W = np.arange(6.0).reshape(2, 3)
    rt.save_safetensors(SINK, {"b": np.array(0.5), "W": W, "a": np.array([1.0, -0.0])})
    taken = rt.take_exported_parameters()
    assert [(name, shape) for name, shape, _ in taken] == [("W", (2, 3)), ("a", (2,)), ("b", ())]
    assert taken[0][2] == W.tobytes()
    assert taken[1][2] == np.array([1.0, -0.0]).tobytes()  # bit for bit: -0.0 stays
    assert rt.take_exported_parameters() == []  # taking releases them


def test_a_later_writer_replaces_the_kept_one(rt: NomaRuntime) -> None:
    rt.save_safetensors(SINK, {"old": np.array(1.0)})
    rt.save_safetensors(SINK, {"new": np.array(2.0)})
    assert [name for name, _, _ in rt.take_exported_parameters()] == ["new"]


def test_a_path_that_only_begins_like_the_sink_is_still_refused(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str]
) -> None:
    err = _error(rt, capfd, lambda: rt.save_safetensors(SINK + "x", {"a": np.array(1.0)}))
    assert "the file name contains a NUL byte" in err
    assert rt.take_exported_parameters() == []


# -- the output callback -------------------------------------------------------


def test_the_runtime_prints_through_the_callback_until_it_is_removed(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str]
) -> None:
    writes: list[tuple[int, bytes]] = []

    def record(stream: int, data: int, size: int) -> int:
        writes.append((stream, ctypes.string_at(data, size)))
        return 0

    callback = OUTPUT_CALLBACK(record)
    capfd.readouterr()
    assert rt.lib.noma_rt_set_output(callback) == 0
    try:
        rt.print_f64(1.5)
        rt.print_f64(-2.0)
        rt.print_tensor(np.array([[1.0, 2.0]]))
    finally:
        assert rt.lib.noma_rt_set_output(None) == 0
    assert writes == [(1, b"1.5\n"), (1, b"-2.0\n"), (1, b"[[1.0, 2.0]]\n")]
    rt.print_f64(3.0)
    rt.flush()
    assert capfd.readouterr().out == "3.0\n"  # the descriptor again
    assert len(writes) == 3


def test_a_failing_callback_is_a_failed_write_not_a_crash(rt: NomaRuntime) -> None:
    callback = OUTPUT_CALLBACK(lambda stream, data, size: -1)
    assert rt.lib.noma_rt_set_output(callback) == 0
    try:
        rt.print_f64(1.0)
    finally:
        rt.lib.noma_rt_set_output(None)
    # A failed write through the callback is not a failure of stdout itself.
    assert rt.check_stdout() is False
