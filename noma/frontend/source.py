"""Reading a NOMA source file: a regular file of UTF-8 text, at most
`MAX_SOURCE_BYTES` long.

Anything else is a located error before any of it is compiled: a device
(`/dev/zero`), a FIFO or a directory is refused without being read (reading
it could block or never end), a larger file without being read whole, and
invalid UTF-8 is reported at the line and column of its first bad byte.
"""

from __future__ import annotations

import os
import stat

from noma.frontend.diagnostics import NomaError, SourceLoc

MAX_SOURCE_BYTES = 64 * 1024 * 1024
"""The largest source file the compiler reads (64 MiB): thousands of times
any program written by hand, and enough for generated ones."""


def read_source_file(path: str | os.PathLike[str]) -> str:
    """The text of the source file `path`. Raises `NomaError` located in
    that file for a file that is not regular, too large, or not UTF-8, and
    `OSError` when it cannot be opened at all (it does not exist)."""
    name = os.fspath(path)
    return decode_source(_read_bytes(name), name)


def _read_bytes(name: str) -> bytes:
    # O_NONBLOCK: opening a FIFO with no writer must not block; the type
    # check on the opened file (not on the name) then refuses it.
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _check_file_status(os.fstat(fd), name)
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_SOURCE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SOURCE_BYTES:  # it grew while being read
        raise NomaError(SourceLoc(name, 1, 1), _too_large(name))
    return data


def check_source_file(path: str | os.PathLike[str]) -> None:
    """Refuse `path` (a `NomaError` at its 1:1) unless it is a regular file
    of at most `MAX_SOURCE_BYTES`, without opening it."""
    name = os.fspath(path)
    _check_file_status(os.stat(name), name)


def _check_file_status(info: os.stat_result, name: str) -> None:
    start = SourceLoc(name, 1, 1)
    if not stat.S_ISREG(info.st_mode):
        raise NomaError(
            start, f"cannot compile '{name}': it is {_kind(info.st_mode)}, not a regular file"
        )
    if info.st_size > MAX_SOURCE_BYTES:
        raise NomaError(start, _too_large(name))


def decode_source(data: bytes, filename: str) -> str:
    """`data` as UTF-8 text; invalid UTF-8 is a `NomaError` at its first bad
    byte (column counted in characters, as everywhere else)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        col = len(data[line_start : e.start].decode("utf-8")) + 1
        raise NomaError(
            SourceLoc(filename, line, col),
            f"invalid UTF-8 in the source: byte 0x{data[e.start]:02x} ({e.reason}); "
            "a NOMA program is UTF-8 text",
        ) from None


def read_source_or_none(filename: str) -> str | None:
    """The source text for quoting in a diagnostic (invalid UTF-8 replaced
    by U+FFFD), or None when it cannot be read safely."""
    try:
        return _read_bytes(filename).decode("utf-8", errors="replace")
    except (OSError, NomaError):
        return None


def _too_large(name: str) -> str:
    return (
        f"cannot compile '{name}': the file is larger than "
        f"{MAX_SOURCE_BYTES // (1024 * 1024)} MiB, the largest source NOMA reads"
    )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
