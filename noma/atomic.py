"""Atomic file writes: every file NOMA writes goes to a temporary file in the
same directory, which is then renamed into place, so an interrupted or failed
write never leaves a truncated file and never loses what was there."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o666) -> Path:
    """Write `data` to `path` atomically; the file gets `mode` less the
    umask, as `open` would give it (not mkstemp's 0600)."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temp, mode & ~_umask())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def write_text(path: str | os.PathLike[str], text: str, mode: int = 0o666) -> Path:
    return write_bytes(path, text.encode("utf-8"), mode)
