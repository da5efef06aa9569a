"""Atomic file writes: every file NOMA writes goes to a temporary file in the
same directory, which is then renamed into place, so an interrupted or failed
write never leaves a truncated file and never loses what was there."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def replacing(path: str | os.PathLike[str], mode: int = 0o666) -> Iterator[Path]:
    """A temporary file in `path`'s directory to write in the `with` block;
    on success it gets `mode` less the umask (as `open` would give, not
    mkstemp's 0600) and is renamed over `path`; on failure it is removed and
    `path` is untouched."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, mode & ~_umask())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o666) -> Path:
    """Write `data` to `path` atomically (see `replacing`)."""
    with replacing(path, mode) as temp, os.fdopen(os.open(temp, os.O_WRONLY), "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str, mode: int = 0o666) -> Path:
    return write_bytes(path, text.encode("utf-8"), mode)
