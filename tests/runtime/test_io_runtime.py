"""Run-time file I/O of the C runtime (noma_io.c): CSV and safetensors read
and written, through ctypes (NomaRuntime's helpers, which call the runtime
under the noma_rt_invoke trampoline), through JIT-compiled code, and linked
into a C program as standalone executables link it.

Error messages are checked in full: `<where>runtime error: <message>`."""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import stat
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from c_programs import BUILDS, WARNINGS, build_with_runtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.numpy import load_file, save_file

from noma.runtime.jit import JitModule, NomaRuntime, load_runtime

WHERE = "prog.noma:3:5: "


@pytest.fixture(scope="module")
def rt() -> NomaRuntime:
    return load_runtime()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, so that messages show short relative paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _error(rt: NomaRuntime, capfd: pytest.CaptureFixture[str], call: Callable[[], Any]) -> str:
    """Runs a call that must fail with a runtime error; returns the message
    after the location and "runtime error: " (checking both are there)."""
    capfd.readouterr()
    with pytest.raises(RuntimeError, match="runtime error"):
        call()
    rt.flush()
    out, err = capfd.readouterr()
    assert out == ""
    prefix = WHERE + "runtime error: "
    assert err.startswith(prefix), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err[len(prefix) : -1]


def _no_temp_files(directory: Path, *expected: str) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(expected)


# --------------------------------------------------------------------------
# load_csv
# --------------------------------------------------------------------------


def test_csv_comments_blank_lines_crlf_spaces(rt: NomaRuntime, in_tmp: Path) -> None:
    Path("x.csv").write_bytes(
        b"# weights, exported by hand\r\n"
        b"\r\n"
        b"1, 2 ,3\r\n"
        b"   # an indented comment\n"
        b"\t4.5e0\t,-2.5E-3,  +7   # trailing comment, with a comma\n"
        b"\n"
        b"1e300,-0.0,.5"  # no final newline
    )
    got = rt.load_csv("x.csv")
    want = np.array([[1, 2, 3], [4.5, -2.5e-3, 7], [1e300, -0.0, 0.5]])
    assert got.shape == (3, 3)
    assert got.tobytes() == want.tobytes()  # bit for bit, -0.0 included


def test_csv_one_column_one_row_one_cell(rt: NomaRuntime, in_tmp: Path) -> None:
    Path("col.csv").write_text("1\n2\n3\n")
    assert rt.load_csv("col.csv").tolist() == [[1.0], [2.0], [3.0]]
    Path("row.csv").write_text("1,2,3\n")
    assert rt.load_csv("row.csv").tolist() == [[1.0, 2.0, 3.0]]
    Path("one.csv").write_text("42")
    assert rt.load_csv("one.csv").tolist() == [[42.0]]


def test_csv_special_values_as_strtod_reads_them(rt: NomaRuntime, in_tmp: Path) -> None:
    Path("x.csv").write_text("nan, inf, -inf, Infinity, 0x1p4, 1e999, 4.9e-324, 1e-400\n")
    got = rt.load_csv("x.csv")[0]
    assert math.isnan(got[0])
    assert got[1:4].tolist() == [math.inf, -math.inf, math.inf]
    assert got[4] == 16.0
    assert got[5] == math.inf  # out of range: strtod's HUGE_VAL
    assert got[6] == 5e-324  # the smallest subnormal
    assert got[7] == 0.0


def test_csv_utf8_bom_is_skipped(rt: NomaRuntime, in_tmp: Path) -> None:
    Path("x.csv").write_bytes(b"\xef\xbb\xbf1,2\n3,4\n")
    assert rt.load_csv("x.csv").tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_csv_large_file(rt: NomaRuntime, in_tmp: Path) -> None:
    """Many rows (the value buffer grows many times); every value exact."""
    values = np.random.default_rng(7).standard_normal((5000, 7))
    Path("big.csv").write_text(
        "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values)
    )
    assert rt.load_csv("big.csv").tobytes() == values.tobytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1,2\n3,abc\n", "x.csv:2: 'abc' is not a number"),
        (b"# c\n\n1,2,3\n4,5,6\n7,8\n", "x.csv:5: 2 values, where the rows before have 3"),
        (b"1,2,3\n4\n", "x.csv:2: 1 value, where the rows before have 3"),
        (b"1,2\n3,4,5\n", "x.csv:2: 3 values, where the rows before have 2"),
        (b"1,,2\n", "x.csv:1: '' is not a number"),
        (b"1,2,\n", "x.csv:1: '' is not a number"),
        (b",\n", "x.csv:1: '' is not a number"),
        (b"1 2\n", "x.csv:1: '1 2' is not a number"),
        (b"1.5.2\n", "x.csv:1: '1.5.2' is not a number"),
        (b'"1"\n', "x.csv:1: '\"1\"' is not a number"),
        (b"x,y\n1,2\n", "x.csv:1: 'x' is not a number"),
        (b"1\r\n2\r\n3x\r\n", "x.csv:3: '3x' is not a number"),
        (b"1;2\n", "x.csv:1: '1;2' is not a number"),
        (b"1,2\x00\n", "x.csv:1: '2\\x00' is not a number"),
        (b"1,\x1b[31mred\n", "x.csv:1: '\\x1b[31mred' is not a number"),
        (
            b"1," + b"9" * 30 + b"z" * 30 + b"\n",
            "x.csv:1: '" + "9" * 30 + "z" * 10 + "...' is not a number",
        ),
        # A long cell is cut before a whole UTF-8 character, never inside one.
        (
            b"a" * 39 + "é".encode() + b"\n",
            "x.csv:1: '" + "a" * 39 + "...' is not a number",
        ),
        (b"", "x.csv: no data"),
        (b"# nothing but comments\n\n   \n\t# more\n", "x.csv: no data"),
    ],
)
def test_csv_errors(
    rt: NomaRuntime,
    in_tmp: Path,
    capfd: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    Path("x.csv").write_bytes(content)
    assert _error(rt, capfd, lambda: rt.load_csv("x.csv", where=WHERE)) == message


def test_csv_cannot_read(rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert (
        _error(rt, capfd, lambda: rt.load_csv("x.csv", where=WHERE))
        == "cannot read 'x.csv': No such file or directory"
    )
    Path("d.csv").mkdir()
    assert (
        _error(rt, capfd, lambda: rt.load_csv("d.csv", where=WHERE))
        == "cannot read 'd.csv': Is a directory"
    )
    assert (
        _error(rt, capfd, lambda: rt.load_csv(b"a\x00b.csv", where=WHERE))
        == "cannot read 'a\\x00b.csv': the file name contains a NUL byte"
    )


def test_error_message_path_is_the_given_one(
    rt: NomaRuntime, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Absolute paths, and paths through directories, are quoted as given."""
    path = tmp_path / "sub dir" / "x.csv"
    path.parent.mkdir()
    path.write_text("1\nzz\n")
    assert (
        _error(rt, capfd, lambda: rt.load_csv(path, where=WHERE))
        == f"{path}:2: 'zz' is not a number"
    )


# --------------------------------------------------------------------------
# save_csv
# --------------------------------------------------------------------------


def test_save_csv_layouts(rt: NomaRuntime, in_tmp: Path) -> None:
    rt.save_csv("s.csv", np.array(2.5))
    assert Path("s.csv").read_text() == "2.5\n"
    rt.save_csv("v.csv", np.array([1.0, 0.1, -0.0, 1e16, 1.5e-7]))
    assert Path("v.csv").read_text() == "1.0\n0.1\n-0.0\n1e+16\n1.5e-07\n"
    rt.save_csv("m.csv", np.array([[1.0, 2.0, 3.0], [4.0, 5.5, math.inf]]))
    assert Path("m.csv").read_text() == "1.0,2.0,3.0\n4.0,5.5,inf\n"
    rt.save_csv("n.csv", np.array([math.nan, -math.inf]))
    assert Path("n.csv").read_text() == "nan\n-inf\n"
    # Empty tensors: no line for [0], one empty line per row for [2, 0].
    rt.save_csv("e.csv", np.zeros(0))
    assert Path("e.csv").read_bytes() == b""
    rt.save_csv("e2.csv", np.zeros((2, 0)))
    assert Path("e2.csv").read_bytes() == b"\n\n"
    # A 1-D tensor reads back as one column.
    assert rt.load_csv("v.csv").shape == (5, 1)
    _no_temp_files(in_tmp, "s.csv", "v.csv", "m.csv", "n.csv", "e.csv", "e2.csv")


def test_save_csv_rank_3_is_an_error(
    rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    message = _error(rt, capfd, lambda: rt.save_csv("t.csv", np.zeros((2, 3, 4)), where=WHERE))
    assert message == "save_csv writes 1-D and 2-D tensors, not a [2, 3, 4] one"
    _no_temp_files(in_tmp)  # nothing was written


def test_save_csv_strided_descriptor(rt: NomaRuntime, in_tmp: Path) -> None:
    """Compiled code may pass a view: offset and stride are honoured for the
    path, the data and the shape."""
    data = np.array([9.0, 1.0, 9.0, 2.0, 9.0, 3.0, 9.0, 4.0])  # [1,2,3,4] at odd slots
    dims = np.array([7, 2, 7, 2], dtype=np.int64)  # [2, 2] at odd slots
    path = ctypes.create_string_buffer(b"XoXuXtX.XcXsXv")  # "out.csv" at odd slots
    where = ctypes.create_string_buffer(b"")
    vals: list[Any] = [
        ctypes.c_void_p(ctypes.addressof(where)),
        ctypes.c_void_p(ctypes.addressof(where)),
        ctypes.c_int64(0),
        ctypes.c_int64(0),
        ctypes.c_int64(1),
    ]
    for buf, addr, size in (
        (path, ctypes.addressof(path), 7),
        (data, data.ctypes.data, 4),
        (dims, dims.ctypes.data, 2),
    ):
        vals += [
            ctypes.c_void_p(addr),
            ctypes.c_void_p(addr),
            ctypes.c_int64(1),
            ctypes.c_int64(size),
            ctypes.c_int64(2),
        ]
    assert rt.io_invoke("save_csv", vals) == 0
    assert Path("out.csv").read_text() == "1.0,2.0\n3.0,4.0\n"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(allow_nan=False, width=64),
    )
)
def test_save_then_load_csv_round_trips_bit_for_bit(
    rt: NomaRuntime, tmp_path: Path, array: np.ndarray
) -> None:
    path = tmp_path / "r.csv"
    rt.save_csv(path, array)
    # The text is Python's repr of each value ...
    rows = array.reshape(array.shape[0], -1)
    assert path.read_text() == "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)
    # ... and reads back to the very same bits (-0.0, subnormals, 1e308).
    back = rt.load_csv(path)
    assert back.shape == rows.shape
    assert back.tobytes() == rows.tobytes()


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, width=64))
def test_csv_value_round_trip_edge_values(rt: NomaRuntime, value: float) -> None:
    """One value per file, biased by hypothesis towards the edges (tiny,
    huge, subnormal, powers of two)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "v.csv"
        rt.save_csv(path, np.array(value))
        assert path.read_text() == repr(value) + "\n"
        assert rt.load_csv(path)[0, 0].tobytes() == np.float64(value).tobytes()


# --------------------------------------------------------------------------
# load_safetensors
# --------------------------------------------------------------------------


def test_load_files_written_by_safetensors(rt: NomaRuntime, in_tmp: Path) -> None:
    rng = np.random.default_rng(3)
    tensors = {
        "W1": rng.standard_normal((4, 3)),
        "b1": rng.standard_normal(3),
        "W2": rng.standard_normal((3, 2)).astype(np.float32),
        "scale": np.array(0.5),
        "T": rng.standard_normal((2, 3, 4)),
        "empty": np.zeros((0, 5)),
    }
    save_file(tensors, "w.safetensors", metadata={"format": "np", "note": 'with "quotes"'})
    for name, array in tensors.items():
        got = rt.load_safetensors("w.safetensors", name, rank=array.ndim)
        assert got.dtype == np.float64
        assert got.shape == array.shape
        # F32 is widened exactly.
        assert got.tobytes() == array.astype(np.float64).tobytes()


def test_load_the_only_tensor(rt: NomaRuntime, in_tmp: Path) -> None:
    save_file({"weights": np.arange(6.0).reshape(2, 3)}, "one.safetensors")
    assert rt.load_safetensors("one.safetensors", rank=2).tolist() == [[0, 1, 2], [3, 4, 5]]
    save_file({"x": np.array([1.5, -2.0], dtype=np.float32)}, "f32.safetensors")
    assert rt.load_safetensors("f32.safetensors", rank=1).tolist() == [1.5, -2.0]


def test_safetensors_name_and_type_errors(
    rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    save_file(
        {"W1": np.zeros((2, 2)), "W2": np.zeros((2, 2)), "b": np.zeros(16)},
        "w.safetensors",
    )
    save_file({"W": np.zeros(3, dtype=np.int32)}, "i.safetensors")
    save_file({}, "none.safetensors")

    def fails(path: str, name: str = "", rank: int = 2) -> str:
        return _error(rt, capfd, lambda: rt.load_safetensors(path, name, rank=rank, where=WHERE))

    assert fails("w.safetensors") == (
        "w.safetensors holds 3 tensors (W1, W2, b); name the one to load"
    )
    assert fails("w.safetensors", "W3") == "w.safetensors has no tensor 'W3' (it has: W1, W2, b)"
    assert fails("i.safetensors", "W") == (
        "i.safetensors: tensor 'W' has dtype I32; NOMA reads F64 and F32"
    )
    assert fails("w.safetensors", "b") == (
        "w.safetensors: tensor 'b' has shape [16], where the program expects a 2-D tensor"
    )
    assert fails("w.safetensors", "W1", rank=1) == (
        "w.safetensors: tensor 'W1' has shape [2, 2], where the program expects a 1-D tensor"
    )
    assert fails("w.safetensors", "W1", rank=0) == (
        "w.safetensors: tensor 'W1' has shape [2, 2], where the program expects a scalar"
    )
    assert fails("w.safetensors", "W1", rank=8) == (
        "w.safetensors: tensor 'W1' has shape [2, 2], where the program expects an 8-D tensor"
    )
    assert fails("none.safetensors") == "none.safetensors holds no tensors"
    assert fails("none.safetensors", "W") == (
        "none.safetensors has no tensor 'W' (it holds no tensors)"
    )
    assert fails("missing.safetensors") == (
        "cannot read 'missing.safetensors': No such file or directory"
    )


def test_safetensors_are_read_from_streams(
    rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A FIFO has no size and cannot seek: it is read to its end first, then
    the tensors are found as in a regular file (issue 9). An empty stream
    is a short file like any other."""
    tensors = {"W": np.arange(6.0).reshape(2, 3), "b": np.array([0.5, -1.5])}
    data = Path("w.safetensors")
    save_file(tensors, str(data))
    os.mkfifo("pipe.safetensors")

    def feed() -> None:
        with open("pipe.safetensors", "wb") as fifo:
            fifo.write(data.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    loaded = rt.load_safetensors("pipe.safetensors", "b", rank=1, where=WHERE)
    writer.join(timeout=60)
    np.testing.assert_array_equal(loaded, tensors["b"])
    assert _error(rt, capfd, lambda: rt.load_safetensors("/dev/null", rank=1, where=WHERE)) == (
        "/dev/null: malformed header: the file has 0 bytes, fewer than the 8 of the header length"
    )


def test_long_name_lists_are_cut(
    rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    save_file({f"t{i:02d}": np.zeros(1) for i in range(25)}, "many.safetensors")
    message = _error(
        rt, capfd, lambda: rt.load_safetensors("many.safetensors", "x", rank=1, where=WHERE)
    )
    names = ", ".join(f"t{i:02d}" for i in range(20))
    assert message == f"many.safetensors has no tensor 'x' (it has: {names}, and 5 more)"


def _safetensors_bytes(header: str | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    raw = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _entry(dtype: str = "F64", shape: str = "[1]", offsets: str = "[0, 8]") -> str:
    return f'{{"dtype": "{dtype}", "shape": {shape}, "data_offsets": {offsets}}}'


ONE = struct.pack("<d", 1.0)
DEEP = "[" * 100 + "]" * 100


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x05\x00\x00", "the file has 3 bytes, fewer than the 8 of the header length"),
        (
            _safetensors_bytes("{}", length=1000),
            "header length 1000 goes past the end of the file (10 bytes)",
        ),
        (
            _safetensors_bytes("{}", length=1 << 40),
            "header length 1099511627776 is over the limit of 100000000 bytes",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(), ONE),
            "invalid JSON at byte 60: expected ',' or '}'",
        ),
        (_safetensors_bytes("[1, 2]"), "the header is not a JSON object"),
        (_safetensors_bytes(""), "the header is not a JSON object"),
        (_safetensors_bytes('{"W": 3}'), "tensor 'W': the entry is not an object"),
        (
            _safetensors_bytes('{"W": {"shape": [1], "data_offsets": [0, 8]}}', ONE),
            "tensor 'W': no 'dtype'",
        ),
        (
            _safetensors_bytes('{"W": {"dtype": "F64", "data_offsets": [0, 8]}}', ONE),
            "tensor 'W': no 'shape'",
        ),
        (
            _safetensors_bytes('{"W": {"dtype": "F64", "shape": [1]}}', ONE),
            "tensor 'W': no 'data_offsets'",
        ),
        (
            _safetensors_bytes('{"W": {"dtype": 64, "shape": [1], "data_offsets": [0, 8]}}', ONE),
            "tensor 'W': 'dtype' is not a string",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(shape="[-1]") + "}", ONE),
            "tensor 'W': 'shape' is not a list of non-negative integers",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(shape="[1.0]") + "}", ONE),
            "tensor 'W': 'shape' is not a list of non-negative integers",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(shape='"1"') + "}", ONE),
            "tensor 'W': 'shape' is not a list of non-negative integers",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(shape="[99999999999999999999]") + "}", ONE),
            "tensor 'W': 'shape' is not a list of non-negative integers",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(offsets="[0]") + "}", ONE),
            "tensor 'W': 'data_offsets' is not a pair of non-negative integers",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(offsets="[0, 8, 16]") + "}", ONE),
            "tensor 'W': 'data_offsets' is not a pair of non-negative integers",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(offsets="[8, 0]") + "}", ONE),
            "tensor 'W': data_offsets [8, 0] run backwards",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(offsets="[0, 16]") + "}", ONE),
            "tensor 'W': data_offsets [0, 16] go past the end of the data (8 bytes)",
        ),
        (
            # Another tensor than the one loaded is damaged: still refused.
            _safetensors_bytes(
                '{"W": ' + _entry() + ', "V": ' + _entry(offsets="[8, 24]") + "}", ONE
            ),
            "tensor 'V': data_offsets [8, 24] go past the end of the data (8 bytes)",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry(shape="[2]") + "}", ONE * 2),
            "tensor 'W': dtype F64 and shape [2] take 16 bytes, but data_offsets [0, 8] span 8",
        ),
        (
            _safetensors_bytes(
                '{"W": ' + _entry(dtype="F32", shape="[3]", offsets="[0, 8]") + "}", ONE
            ),
            "tensor 'W': dtype F32 and shape [3] take 12 bytes, but data_offsets [0, 8] span 8",
        ),
        (
            _safetensors_bytes(
                '{"W": ' + _entry(shape="[4611686018427387904]", offsets="[0, 8]") + "}", ONE
            ),
            "tensor 'W': its shape has too many elements",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry() + ', "W": ' + _entry() + "}", ONE),
            "tensor 'W': the name appears twice",
        ),
        (
            _safetensors_bytes(
                '{"W": {"dtype": "F64", "dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}',
                ONE,
            ),
            "tensor 'W': 'dtype' appears twice",
        ),
        (
            _safetensors_bytes('{"__metadata__": {"a": 1}, "W": ' + _entry() + "}", ONE),
            "'__metadata__' is not an object of strings",
        ),
        (
            _safetensors_bytes('{"__metadata__": [], "W": ' + _entry() + "}", ONE),
            "'__metadata__' is not an object of strings",
        ),
        (
            _safetensors_bytes('{"__metadata__": {}, "__metadata__": {}}'),
            "'__metadata__' appears twice",
        ),
        (
            _safetensors_bytes("{} x"),
            "invalid JSON at byte 3: unexpected data after the header object",
        ),
        (
            _safetensors_bytes("{}\x00\x00"),
            "invalid JSON at byte 2: unexpected data after the header object",
        ),
        (
            _safetensors_bytes('{"W" ' + _entry() + "}", ONE),
            "invalid JSON at byte 5: expected ':' after a key",
        ),
        (
            _safetensors_bytes('{"W": ' + _entry() + ",}", ONE),
            "invalid JSON at byte 61: expected a string",
        ),
        (_safetensors_bytes("{W: 1}"), "invalid JSON at byte 1: expected a string"),
        (_safetensors_bytes('{"\\q": 1}'), "invalid JSON at byte 3: bad escape in a string"),
        (
            _safetensors_bytes('{"\\ud800x": 1}'),
            "invalid JSON at byte 8: unpaired surrogate in a \\u escape",
        ),
        (
            _safetensors_bytes('{"\\udc00": 1}'),
            "invalid JSON at byte 8: unpaired surrogate in a \\u escape",
        ),
        (
            _safetensors_bytes('{"\\u12G4": 1}'),
            "invalid JSON at byte 4: bad hex digit in a \\u escape",
        ),
        (
            _safetensors_bytes('{"a\tb": 1}'),
            "invalid JSON at byte 3: control character in a string",
        ),
        (_safetensors_bytes('{"ab'), "invalid JSON at byte 4: unterminated string"),
        (
            _safetensors_bytes(
                '{"W": {"dtype": "F64", "x": 01, "shape": [1], "data_offsets": [0, 8]}}'
            ),
            "invalid JSON at byte 29: expected ',' or '}'",
        ),
        (
            _safetensors_bytes(
                '{"W": {"dtype": "F64", "x": 1., "shape": [1], "data_offsets": [0, 8]}}'
            ),
            "invalid JSON at byte 30: expected a digit after '.'",
        ),
        (
            _safetensors_bytes(
                '{"W": {"dtype": "F64", "x": tru, "shape": [1], "data_offsets": [0, 8]}}'
            ),
            "invalid JSON at byte 28: expected a value",
        ),
        (
            _safetensors_bytes('{"W": {"dtype": "F64", "x": ' + DEEP + "}}"),
            "invalid JSON at byte 92: nested too deeply",
        ),
    ],
)
def test_malformed_headers(
    rt: NomaRuntime,
    in_tmp: Path,
    capfd: pytest.CaptureFixture[str],
    content: bytes,
    why: str,
) -> None:
    Path("w.safetensors").write_bytes(content)
    message = _error(
        rt, capfd, lambda: rt.load_safetensors("w.safetensors", "W", rank=1, where=WHERE)
    )
    assert message == f"w.safetensors: malformed header: {why}"


def test_header_json_features(rt: NomaRuntime, in_tmp: Path) -> None:
    """What valid JSON may hold: escapes in names (\\u, surrogate pairs),
    unknown members of any kind, metadata anywhere, white space and
    padding."""
    header = (
        ' {\n "\\u0057\\u00e9\\ud83d\\ude00" : {"data_offsets":[8,16], "extra": '
        '{"a": [1, -2.5e+3, true, false, null, "s\\"\\\\\\/\\b\\f\\n\\r\\t"]}, '
        '"shape" : [ ], "dtype":"F64"},\t"__metadata__": {"k": "v", "": ""},'
        ' "x": ' + _entry(offsets="[0, 8]") + "}   \r\n  "
    )
    Path("w.safetensors").write_bytes(_safetensors_bytes(header, ONE + struct.pack("<d", -3.5)))
    assert rt.load_safetensors("w.safetensors", "Wé😀", rank=0).tolist() == -3.5
    assert rt.load_safetensors("w.safetensors", "x", rank=1).tolist() == [1.0]


# --------------------------------------------------------------------------
# save_safetensors
# --------------------------------------------------------------------------


def test_our_files_load_in_safetensors(rt: NomaRuntime, in_tmp: Path) -> None:
    rng = np.random.default_rng(11)
    tensors = {
        "b": rng.standard_normal(3),
        "W": rng.standard_normal((4, 3)),
        "a.weight": rng.standard_normal((2, 2, 2)),
        "s": np.array(-0.0),
        "e": np.zeros((3, 0)),
    }
    rt.save_safetensors("o.safetensors", tensors)
    back = load_file("o.safetensors")
    assert sorted(back) == sorted(tensors)
    for name, array in tensors.items():
        assert back[name].dtype == np.float64
        assert back[name].shape == array.shape
        assert back[name].tobytes() == array.tobytes()
    # Byte for byte what the safetensors package writes for the same tensors.
    save_file(tensors, "ref.safetensors")
    assert Path("o.safetensors").read_bytes() == Path("ref.safetensors").read_bytes()
    # The layout the header documents: sorted names, contiguous data,
    # header padded with spaces to a multiple of 8.
    raw = Path("o.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = raw[8 : 8 + n]
    assert header.rstrip(b" ").endswith(b"}")
    parsed = json.loads(header)
    assert list(parsed) == sorted(tensors)
    offset = 0
    for name in sorted(tensors):
        assert parsed[name]["dtype"] == "F64"
        assert parsed[name]["data_offsets"] == [offset, offset + 8 * tensors[name].size]
        offset += 8 * tensors[name].size
    assert len(raw) == 8 + n + offset
    # And our reader reads our files.
    assert rt.load_safetensors("o.safetensors", "W", rank=2).tobytes() == tensors["W"].tobytes()


def test_names_needing_json_escapes(rt: NomaRuntime, in_tmp: Path) -> None:
    tensors = {'q"uote\\back': np.array([1.0]), "tab\there": np.array([2.0]), "ü": np.array([3.0])}
    rt.save_safetensors("o.safetensors", tensors)
    back = load_file("o.safetensors")
    assert {k: v.tolist() for k, v in back.items()} == {k: v.tolist() for k, v in tensors.items()}
    for name, array in tensors.items():
        assert rt.load_safetensors("o.safetensors", name, rank=1).tolist() == array.tolist()


def test_empty_writer(rt: NomaRuntime, in_tmp: Path) -> None:
    rt.save_safetensors("o.safetensors", {})
    assert Path("o.safetensors").read_bytes() == struct.pack("<Q", 8) + b"{}      "
    assert load_file("o.safetensors") == {}


def test_our_files_load_in_torch(rt: NomaRuntime, in_tmp: Path) -> None:
    try:
        import torch
        from safetensors.torch import load_file as torch_load_file
    except ImportError as exc:
        print(f"skipping the PyTorch check: {exc}")
        pytest.skip(f"PyTorch is not installed ({exc}); safetensors.numpy is checked instead")
    tensors = {"W": np.arange(6.0).reshape(2, 3), "b": np.array([0.5, -1.0])}
    rt.save_safetensors("o.safetensors", tensors)
    back = torch_load_file("o.safetensors")
    for name, array in tensors.items():
        assert back[name].dtype == torch.float64
        assert back[name].numpy().tobytes() == array.tobytes()


def test_writer_errors(rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def save(tensors: dict[str, np.ndarray]) -> Callable[[], None]:
        return lambda: rt.save_safetensors("o.safetensors", tensors, where=WHERE)

    assert _error(rt, capfd, save({"__metadata__": np.zeros(1)})) == (
        "save_safetensors: '__metadata__' cannot name a tensor"
    )
    # Duplicates cannot come from a dict; add twice through the writer.
    writer = rt.lib.noma_safetensors_writer_new()
    data, dims, _keep = NomaRuntime._tensor_values(np.zeros(2))
    name, _buf = NomaRuntime._str_values(b"W")
    for _ in range(2):
        assert rt.io_invoke("writer_add", [ctypes.c_int64(writer), *name, *data, *dims]) == 0
    w, _wbuf = NomaRuntime._str_values(WHERE)
    p, _pbuf = NomaRuntime._str_values("o.safetensors")
    capfd.readouterr()
    assert rt.io_invoke("writer_save", [ctypes.c_int64(writer), *w, *p]) == 1
    rt.flush()
    assert capfd.readouterr().err == (
        WHERE + "runtime error: save_safetensors: two tensors are named 'W'\n"
    )
    _no_temp_files(in_tmp)
    # save released the writer, even though it failed.
    assert rt.io_invoke("writer_save", [ctypes.c_int64(writer), *w, *p]) == 1
    rt.flush()
    assert capfd.readouterr().err == (
        f"runtime error: internal: bad safetensors writer handle {writer}\n"
    )


# --------------------------------------------------------------------------
# Handles
# --------------------------------------------------------------------------


def _invoke_error(
    rt: NomaRuntime, capfd: pytest.CaptureFixture[str], function: str, values: list[Any]
) -> str:
    capfd.readouterr()
    assert rt.io_invoke(function, values) == 1
    rt.flush()
    return capfd.readouterr().err


def test_handles_are_checked(
    rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("x.csv").write_text("1,2,3\n4,5,6\n")
    w, _wbuf = NomaRuntime._str_values(WHERE)
    p, _pbuf = NomaRuntime._str_values("x.csv")
    handle = ctypes.c_int64(0)
    assert rt.io_invoke("load_csv", [*w, *p, handle]) == 0
    h = handle.value
    assert h > 0

    def dim(axis: int) -> list[Any]:
        return [ctypes.c_int64(h), ctypes.c_int64(axis), ctypes.c_int64(-1)]

    values = dim(1)
    assert rt.io_invoke("loaded_dim", values) == 0
    assert values[2].value == 3
    assert _invoke_error(rt, capfd, "loaded_dim", dim(2)) == (
        "runtime error: internal: axis 2 of a loaded tensor of rank 2\n"
    )
    # A buffer of the wrong size: an internal error, and the handle is gone.
    small = np.zeros(4)
    take = [ctypes.c_int64(h), *NomaRuntime._memref_values(small.ctypes.data, small.size)]
    assert _invoke_error(rt, capfd, "loaded_take", take) == (
        "runtime error: internal: a loaded tensor of 6 elements taken into a buffer of 4\n"
    )
    assert _invoke_error(rt, capfd, "loaded_dim", dim(0)) == (
        f"runtime error: internal: bad loaded-tensor handle {h}\n"
    )
    for bad in (0, -1, 1 << 40):
        bad_values = [ctypes.c_int64(bad), ctypes.c_int64(0), ctypes.c_int64(0)]
        assert _invoke_error(rt, capfd, "loaded_dim", bad_values) == (
            f"runtime error: internal: bad loaded-tensor handle {bad}\n"
        )
    # A writer handle is not a loaded tensor.
    writer = rt.lib.noma_safetensors_writer_new()
    assert _invoke_error(
        rt, capfd, "loaded_dim", [ctypes.c_int64(writer), ctypes.c_int64(0), ctypes.c_int64(0)]
    ) == (f"runtime error: internal: bad loaded-tensor handle {writer}\n")
    # (Release the writer by saving it.)
    ww, _wwbuf = NomaRuntime._str_values("")
    pp, _ppbuf = NomaRuntime._str_values("unused.safetensors")
    assert rt.io_invoke("writer_save", [ctypes.c_int64(writer), *ww, *pp]) == 0


def test_mismatched_shape_is_internal(
    rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    w, _wbuf = NomaRuntime._str_values(WHERE)
    p, _pbuf = NomaRuntime._str_values("o.csv")
    data = np.zeros(5)
    dims = np.array([2, 3], dtype=np.int64)
    values = [
        *w,
        *p,
        *NomaRuntime._memref_values(data.ctypes.data, 5),
        *NomaRuntime._memref_values(dims.ctypes.data, 2),
    ]
    assert _invoke_error(rt, capfd, "save_csv", values) == (
        "runtime error: internal: save_csv of 5 elements with shape [2, 3]\n"
    )
    _no_temp_files(in_tmp)


def test_many_handles_reuse_slots(rt: NomaRuntime, in_tmp: Path) -> None:
    Path("x.csv").write_text("1\n")
    w, _wbuf = NomaRuntime._str_values("")
    p, _pbuf = NomaRuntime._str_values("x.csv")
    handles = []
    for _ in range(100):  # many alive at once: the table grows
        h = ctypes.c_int64(0)
        assert rt.io_invoke("load_csv", [*w, *p, h]) == 0
        handles.append(h.value)
    assert len(set(handles)) == 100
    for h in handles:
        out = np.zeros(1)
        take = [ctypes.c_int64(h), *NomaRuntime._memref_values(out.ctypes.data, 1)]
        assert rt.io_invoke("loaded_take", take) == 0
        assert out[0] == 1.0
    # Freed slots are reused: loading again does not grow the handles.
    h = ctypes.c_int64(0)
    assert rt.io_invoke("load_csv", [*w, *p, h]) == 0
    assert h.value <= max(handles)
    assert rt.load_csv("x.csv").tolist() == [[1.0]]


# --------------------------------------------------------------------------
# load_arg
# --------------------------------------------------------------------------


@pytest.fixture
def args_rt(rt: NomaRuntime) -> Any:
    rt.clear_args()
    yield rt
    rt.clear_args()


def test_load_arg_kinds(args_rt: NomaRuntime, in_tmp: Path) -> None:
    rt = args_rt
    Path("x.csv").write_text("1,2\n3,4\n")
    save_file({"W1": np.eye(2), "b": np.array([5.0, 6.0])}, "w.safetensors")
    save_file({"only": np.array([[7.0]])}, "one.safetensors")
    Path("dir:with.safetensors").mkdir()
    save_file({"T": np.array([8.0])}, "dir:with.safetensors/t.safetensors")
    Path("odd:name.csv").write_text("9\n")

    rt.set_arg("X", "x.csv")
    assert rt.load_arg("X", rank=2).tolist() == [[1, 2], [3, 4]]
    rt.set_arg("W", "w.safetensors:W1")
    assert rt.load_arg("W", rank=2).tolist() == [[1, 0], [0, 1]]
    rt.set_arg("W", "w.safetensors:b")  # replaces the earlier value
    assert rt.load_arg("W", rank=1).tolist() == [5, 6]
    rt.set_arg("O", "one.safetensors")
    assert rt.load_arg("O", rank=2).tolist() == [[7]]
    # Split at the LAST ':' only after ".safetensors"; other colons are
    # part of the path.
    rt.set_arg("T", "dir:with.safetensors/t.safetensors")
    assert rt.load_arg("T", rank=1).tolist() == [8]
    rt.set_arg("T", "dir:with.safetensors/t.safetensors:T")
    assert rt.load_arg("T", rank=1).tolist() == [8]
    rt.set_arg("C", "odd:name.csv")
    assert rt.load_arg("C", rank=2).tolist() == [[9]]


def test_load_arg_errors(
    args_rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rt = args_rt
    Path("x.csv").write_text("1,2\n")
    save_file({"W1": np.eye(2), "W2": np.eye(2)}, "w.safetensors")

    def fails(name: str, rank: int) -> str:
        return _error(rt, capfd, lambda: rt.load_arg(name, rank=rank, where=WHERE))

    rt.lib.noma_set_arg_syntax(0)  # as noma run and executables say it
    assert fails("X", 2) == "no file for main's parameter 'X' (pass --arg X=FILE)"
    rt.lib.noma_set_arg_syntax(1)  # as the Python API says it
    assert fails("X", 2) == "no file for main's parameter 'X' (pass run(args={'X': array_or_path}))"
    rt.lib.noma_set_arg_syntax(0)
    rt.set_arg("X", "x.csv")
    assert fails("X", 1) == "x.csv holds a 2-D table, where the program expects a 1-D tensor"
    assert fails("X", 0) == "x.csv holds a 2-D table, where the program expects a scalar"
    rt.set_arg("W", "w.safetensors")
    assert fails("W", 2) == "w.safetensors holds 2 tensors (W1, W2); name the one to load"
    rt.set_arg("W", "w.safetensors:W3")
    assert fails("W", 2) == "w.safetensors has no tensor 'W3' (it has: W1, W2)"
    rt.set_arg("M", "missing.csv")
    assert fails("M", 2) == "cannot read 'missing.csv': No such file or directory"
    rt.clear_args()
    assert fails("X", 2) == "no file for main's parameter 'X' (pass --arg X=FILE)"


# --------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------


def test_new_files_follow_the_umask(rt: NomaRuntime, in_tmp: Path) -> None:
    old = os.umask(0o022)
    try:
        rt.save_csv("a.csv", np.ones(2))
        rt.save_safetensors("a.safetensors", {"x": np.ones(2)})
        os.umask(0o077)
        rt.save_csv("b.csv", np.ones(2))
        os.umask(0o002)
        rt.save_csv("c.csv", np.ones(2))
    finally:
        os.umask(old)
    mode = {name: stat.S_IMODE(Path(name).stat().st_mode) for name in os.listdir(".")}
    assert mode == {"a.csv": 0o644, "a.safetensors": 0o644, "b.csv": 0o600, "c.csv": 0o664}


def test_replacing_keeps_the_mode(rt: NomaRuntime, in_tmp: Path) -> None:
    Path("a.csv").write_text("old\n")
    os.chmod("a.csv", 0o640)
    old = os.umask(0o077)
    try:
        rt.save_csv("a.csv", np.array([1.0]))
    finally:
        os.umask(old)
    assert Path("a.csv").read_text() == "1.0\n"
    assert stat.S_IMODE(Path("a.csv").stat().st_mode) == 0o640
    _no_temp_files(in_tmp, "a.csv")


def test_cannot_write(rt: NomaRuntime, in_tmp: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert _error(rt, capfd, lambda: rt.save_csv("missing/o.csv", np.ones(1), where=WHERE)) == (
        "cannot write 'missing/o.csv': No such file or directory"
    )
    Path("d.csv").mkdir()
    assert _error(rt, capfd, lambda: rt.save_csv("d.csv", np.ones(1), where=WHERE)) == (
        "cannot write 'd.csv': Is a directory"
    )
    Path("d.safetensors").mkdir()
    assert _error(
        rt, capfd, lambda: rt.save_safetensors("d.safetensors", {"x": np.ones(1)}, where=WHERE)
    ) == ("cannot write 'd.safetensors': Is a directory")
    _no_temp_files(in_tmp, "d.csv", "d.safetensors")
    assert list(Path("d.csv").iterdir()) == []


def test_long_target_names(rt: NomaRuntime, in_tmp: Path) -> None:
    """The temporary name is cut so that it stays within NAME_MAX even when
    the target's name is at the limit."""
    name = "n" * 251 + ".csv"
    rt.save_csv(name, np.ones(1))
    assert Path(name).read_text() == "1.0\n"
    _no_temp_files(in_tmp, name)


# A child process whose file-size limit makes write() fail with EFBIG (we
# run as root, so permissions would not stop a write). SIGXFSZ is ignored so
# that the write returns the error instead of killing the process.
_EFBIG_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    from noma.runtime.jit import load_runtime

    rt = load_runtime()  # built (if needed) before the limit applies
    kind, path = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    data = np.arange(10000.0)
    try:
        if kind == "csv":
            rt.save_csv(path, data, where="prog.noma:7:1: ")
        else:
            rt.save_safetensors(path, {"W": data}, where="prog.noma:7:1: ")
    except RuntimeError:
        rt.flush()
        print("failed")
    else:
        print("written")
    """
)


@pytest.mark.parametrize(("kind", "name"), [("csv", "out.csv"), ("st", "out.safetensors")])
def test_failed_write_keeps_the_previous_file(tmp_path: Path, kind: str, name: str) -> None:
    target = tmp_path / name
    target.write_bytes(b"precious\n")
    os.chmod(target, 0o640)
    proc = subprocess.run(
        [sys.executable, "-c", _EFBIG_CHILD, kind, name],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "failed\n"
    assert proc.stderr == f"prog.noma:7:1: runtime error: cannot write '{name}': File too large\n"
    assert target.read_bytes() == b"precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    _no_temp_files(tmp_path, name)


# --------------------------------------------------------------------------
# JIT-compiled code: errors come back as status 1
# --------------------------------------------------------------------------


def _ir_bytes(name: str, data: bytes) -> str:
    text = "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:02X}" for b in data)
    return f'@{name} = private constant [{len(data)} x i8] c"{text}"\n'


def _load_ir(where: bytes, path: bytes) -> str:
    """A packed function that loads a CSV, stores its two dims in args[0],
    args[1] and copies it into the buffer args[2] points to (room for 16)."""
    return (
        _ir_bytes("where", where)
        + _ir_bytes("path", path)
        + f"""
declare i64 @noma_load_csv(ptr, ptr, i64, i64, i64, ptr, ptr, i64, i64, i64)
declare i64 @noma_loaded_dim(i64, i64)
declare void @noma_loaded_take(i64, ptr, ptr, i64, i64, i64)

define void @_noma_packed_load(ptr %args) {{
entry:
  %h = call i64 @noma_load_csv(ptr @where, ptr @where, i64 0, i64 {len(where)}, i64 1, ptr @path, ptr @path, i64 0, i64 {len(path)}, i64 1)
  %rows = call i64 @noma_loaded_dim(i64 %h, i64 0)
  %cols = call i64 @noma_loaded_dim(i64 %h, i64 1)
  %a0 = load ptr, ptr %args
  store i64 %rows, ptr %a0
  %a1p = getelementptr inbounds ptr, ptr %args, i64 1
  %a1 = load ptr, ptr %a1p
  store i64 %cols, ptr %a1
  %a2p = getelementptr inbounds ptr, ptr %args, i64 2
  %a2 = load ptr, ptr %a2p
  %buf = load ptr, ptr %a2
  %n = mul i64 %rows, %cols
  call void @noma_loaded_take(i64 %h, ptr %buf, ptr %buf, i64 0, i64 %n, i64 1)
  ret void
}}
"""
    )


def test_jit_code_loads_and_fails_with_status_1(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("1,2\n3,4\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3\n")
    where = b"prog.noma:2:3: "

    rows, cols = ctypes.c_int64(0), ctypes.c_int64(0)
    out = np.zeros(16)
    out_ptr = ctypes.c_void_p(out.ctypes.data)
    argv = [ctypes.pointer(rows), ctypes.pointer(cols), ctypes.pointer(out_ptr)]

    with JitModule(_load_ir(where, os.fsencode(good))) as m:
        assert m.invoke_packed("_noma_packed_load", argv) == 0
        assert (rows.value, cols.value) == (2, 2)
        assert out[:4].tolist() == [1, 2, 3, 4]
    capfd.readouterr()
    for path, message in (
        (bad, f"{bad}:2: 1 value, where the rows before have 2"),
        (
            tmp_path / "nope.csv",
            f"cannot read '{tmp_path / 'nope.csv'}': No such file or directory",
        ),
    ):
        with JitModule(_load_ir(where, os.fsencode(path))) as m:
            for _ in range(3):  # repeatable: each error unwinds its own frame
                assert m.invoke_packed("_noma_packed_load", argv) == 1
            m.flush()
        out_text, err = capfd.readouterr()
        assert out_text == ""
        assert err == f"prog.noma:2:3: runtime error: {message}\n" * 3


# --------------------------------------------------------------------------
# Linked into a C program, as executables are
# --------------------------------------------------------------------------

_C_HARNESS = textwrap.dedent(
    r"""
    #define _POSIX_C_SOURCE 200809L
    #include <locale.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/resource.h>
    #include "noma_runtime.h"

    static const char *g_path;

    #define STR(s) (char *)(s), (char *)(s), 0, (int64_t)strlen(s), 1

    /* Loads g_path and prints its shape and values. */
    static void load_and_print(void) {
        int64_t h = noma_load_csv(STR("prog.noma:4:1: "), STR(g_path));
        int64_t rows = noma_loaded_dim(h, 0), cols = noma_loaded_dim(h, 1);
        double *buf = malloc((size_t)(rows * cols) * sizeof *buf + 1);
        noma_loaded_take(h, buf, buf, 0, rows * cols, 1);
        printf("%lld %lld\n", (long long)rows, (long long)cols);
        for (int64_t i = 0; i < rows * cols; ++i)
            noma_print_f64(buf[i]);
        free(buf);
    }

    static void packed_load(void **args) {
        (void)args;
        load_and_print();
    }

    static void save(const char *path, int64_t n) {
        double *data = malloc((size_t)n * sizeof *data);
        for (int64_t i = 0; i < n; ++i)
            data[i] = (double)i + 0.25;
        int64_t dims[1] = {n};
        noma_save_csv(STR("prog.noma:9:2: "), STR(path), data, data, 0, n, 1,
                      dims, dims, 0, 1, 1);
        free(data);
    }

    int main(int argc, char **argv) {
        const char *mode = argv[1];
        if (argc < 3) return 2;
        g_path = argv[2];
        if (strcmp(mode, "load") == 0) {
            load_and_print();
            return 0;
        }
        if (strcmp(mode, "invoke") == 0) {
            /* A failing load under the trampoline returns 1, and the program
             * goes on; a good one afterwards returns 0. */
            int s1 = noma_rt_invoke(packed_load, NULL);
            printf("status %d\n", s1);
            g_path = argv[3];
            int s2 = noma_rt_invoke(packed_load, NULL);
            printf("status %d\n", s2);
            return 0;
        }
        if (strcmp(mode, "locale") == 0) {
            if (!setlocale(LC_ALL, argv[3])) return 3;
            printf("%.1f\n", 1.5); /* proves the locale: 1,5 */
            load_and_print();
            return 0;
        }
        if (strcmp(mode, "efbig") == 0) {
            struct rlimit lim = {4096, 4096};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 4;
            noma_print_f64(1.0); /* flushed before the error */
            save(g_path, 100000);
            puts("not reached");
            return 0;
        }
        if (strcmp(mode, "save") == 0) {
            save(g_path, 3);
            return 0;
        }
        return 2;
    }
    """
)


@pytest.fixture(scope="module", params=BUILDS)
def harness(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """Plain and under AddressSanitizer and UBSan."""
    d = tmp_path_factory.mktemp("io_harness")
    flags = ["-std=c11", "-O2", *WARNINGS, "-Werror"]
    return build_with_runtime(d, "harness", _C_HARNESS, flags, sanitize=request.param)


def _run(exe: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [str(exe), *args], capture_output=True, check=False, text=True, cwd=cwd, env=env, timeout=60
    )


def test_executable_loads_and_saves(harness: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2.5\n-3,1e-7\n")
    proc = _run(harness, "load", "x.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "2 2\n1.0\n2.5\n-3.0\n1e-07\n"
    proc = _run(harness, "save", "o.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.csv").read_text() == "0.25\n1.25\n2.25\n"


def test_executable_reads_csv_from_a_pipe(harness: Path, tmp_path: Path) -> None:
    """A file of unknown size (a pipe) is read to its end, however long."""
    values = [float(i) / 7 for i in range(3000)]
    text = "".join(f"{v!r}\n" for v in values)
    proc = subprocess.run(
        [str(harness), "load", "/dev/stdin"],
        input=text,
        capture_output=True,
        check=False,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "3000 1\n" + text


def test_executable_error_exits_1(harness: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2\n\n# c\n3,four\n")
    proc = _run(harness, "load", "x.csv", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == "prog.noma:4:1: runtime error: x.csv:4: 'four' is not a number\n"


def test_executable_invoke_returns_1_and_goes_on(harness: Path, tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text("7\n")
    proc = _run(harness, "invoke", "missing.csv", "good.csv", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == "status 1\n1 1\n7.0\nstatus 0\n"
    assert proc.stderr == (
        "prog.noma:4:1: runtime error: cannot read 'missing.csv': No such file or directory\n"
    )


def test_executable_failed_write_keeps_the_previous_file(harness: Path, tmp_path: Path) -> None:
    (tmp_path / "out.csv").write_text("precious\n")
    proc = _run(harness, "efbig", "out.csv", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "1.0\n"
    assert proc.stderr == "prog.noma:9:2: runtime error: cannot write 'out.csv': File too large\n"
    assert (tmp_path / "out.csv").read_text() == "precious\n"
    _no_temp_files(tmp_path, "out.csv")


def test_csv_reading_is_locale_independent(harness: Path, tmp_path: Path) -> None:
    """Under a locale whose decimal point is ',' "2.5" still reads as 2.5."""
    (tmp_path / "x.csv").write_text("2.5,-0.125\n")
    locale_name = "de_DE.UTF-8"
    env = dict(os.environ)
    localedef = shutil.which("localedef")
    if localedef is not None:
        locpath = tmp_path / "locales"
        locpath.mkdir()
        made = subprocess.run(
            [localedef, "-i", "de_DE", "-f", "UTF-8", str(locpath / locale_name)],
            capture_output=True,
            check=False,
        )
        if made.returncode in (0, 1) and (locpath / locale_name).exists():
            env["LOCPATH"] = str(locpath)
    proc = _run(harness, "locale", "x.csv", locale_name, cwd=tmp_path, env=env)
    if proc.returncode == 3:
        pytest.skip("no locale with a ',' decimal point available (de_DE.UTF-8)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1,5\n1 2\n2.5\n-0.125\n"
