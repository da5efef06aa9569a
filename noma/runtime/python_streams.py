"""What a program prints, sent through Python's `sys.stdout` and `sys.stderr`.

The C runtime prints with C stdio, to file descriptors 1 and 2. Python code
that captures output (`contextlib.redirect_stdout`, pytest's `capsys`,
a Jupyter cell) replaces `sys.stdout` instead, and sees nothing of that. So
while `Program.run` runs a program, the runtime prints through a callback
(`noma_rt_set_output`, noma_output.c) that decodes the bytes as UTF-8 and
writes them to `sys.stdout` / `sys.stderr` as they are at the time of the
write.

A stream that already writes to the same file descriptor (`fileno()` is 1
for stdout, 2 for stderr: a plain script, `noma run`) is left to C, which
writes there directly and faster; Python's buffer is flushed before the run
so that the order is kept.
"""

from __future__ import annotations

import codecs
import ctypes
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from noma.runtime.jit import NomaRuntime

OUTPUT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int64)
"""`noma_output_fn` (noma_runtime.h): stream, data, size -> 0 or -1."""

STDOUT, STDERR = 1, 2


def writes_to_descriptor(stream: TextIO | None, fd: int) -> bool:
    """Whether `stream` writes to file descriptor `fd` (so C may write there
    itself). A stream without a descriptor (StringIO, pytest's capture, a
    notebook's) does not; nor does None (no stream: C writes to the fd)."""
    if stream is None:
        return True
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def python_streams_needed() -> bool:
    """Whether the runtime must print through Python for the current
    sys.stdout and sys.stderr."""
    return not (
        writes_to_descriptor(sys.stdout, STDOUT) and writes_to_descriptor(sys.stderr, STDERR)
    )


class PythonStreams:
    """The callback the runtime prints through: bytes decoded as UTF-8
    (incrementally per stream, so a character split between two writes is
    whole), written to sys.stdout or sys.stderr. Before writing to stderr
    it flushes stdout, as the C runtime does, so that a notebook shows a
    warning or an error after the lines printed before it."""

    def __init__(self) -> None:
        self._decoders = {
            stream: codecs.getincrementaldecoder("utf-8")("replace") for stream in (STDOUT, STDERR)
        }
        self.failure: BaseException | None = None
        """The first exception a write raised (re-raised after the run)."""
        self.last_error_line = ""
        """The last complete line written to stderr (a run-time error's
        message, when the run stopped with one)."""
        self._stderr_line = ""
        self.callback = OUTPUT_CALLBACK(self._write)

    def _write(self, stream: int, data: int | None, size: int) -> int:
        # Called from C: an exception must not escape (ctypes would print it
        # and return 0); it is kept and the write reported as failed.
        try:
            raw = ctypes.string_at(data, size) if data and size > 0 else b""
            self._emit(stream, self._decoders[stream].decode(raw))
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised after the run
            if self.failure is None:
                self.failure = exc
            return -1

    def _emit(self, stream: int, text: str) -> None:
        if not text:
            return
        if stream == STDOUT:
            _target(STDOUT).write(text)
            return
        _flush(_target(STDOUT))
        err = _target(STDERR)
        err.write(text)
        _flush(err)
        lines = (self._stderr_line + text).split("\n")
        self._stderr_line = lines[-1]
        complete = [line for line in lines[:-1] if line]
        if complete:
            self.last_error_line = complete[-1]

    def finish(self) -> None:
        """Write what the decoders still hold (an incomplete character) and
        flush sys.stdout."""
        for stream, decoder in self._decoders.items():
            self._emit(stream, decoder.decode(b"", final=True))
        _flush(_target(STDOUT))


def _target(stream: int) -> TextIO:
    target = sys.stdout if stream == STDOUT else sys.stderr
    if target is None:
        raise OSError(f"sys.{'stdout' if stream == STDOUT else 'stderr'} is None")
    return target


def _flush(stream: TextIO) -> None:
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


@contextmanager
def printing_through_python(runtime: NomaRuntime) -> Iterator[PythonStreams | None]:
    """While the body runs a program, the runtime prints through Python's
    streams when they need it (see `python_streams_needed`); yields the
    `PythonStreams`, or None when C prints to the descriptors. An exception
    raised by a write (a closed file, a KeyboardInterrupt caught in the
    callback) is raised when the body ends."""
    if not python_streams_needed():
        yield None
        return
    streams = PythonStreams()
    if runtime.lib.noma_rt_set_output(streams.callback) != 0:
        yield None  # no callback streams in this C library: the descriptors
        return
    try:
        yield streams
    finally:
        runtime.lib.noma_rt_set_output(None)  # flushes: the callback is still alive
        streams.finish()
    if streams.failure is not None:
        raise streams.failure
