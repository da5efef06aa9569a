"""Atomic file writes: every file NOMA writes goes to a temporary file in the
same directory, which is then renamed into place, so an interrupted or failed
write never leaves a truncated file and never loses what was there.

A stop signal (SIGINT, SIGTERM, SIGHUP) arriving while temporaries exist is
turned into an exception (`cleanup_on_signals`), so that the `finally` and
`except` blocks on the way out remove them; the signal is then delivered
again, and the process ends as the signal would have ended it."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals a user sends to stop a process, which end it by default."""


class Interrupted(BaseException):
    """A stop signal, raised where the program was when it arrived. A
    BaseException, like KeyboardInterrupt, so that no `except Exception`
    swallows it on its way to `cleanup_on_signals`."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Within the block, the stop signals raise `Interrupted` (those the
    process ignores stay ignored). On the way out the previous handlers
    come back and a signal that arrived is raised again, now that the
    block's cleanup has run: by default SIGTERM and SIGHUP then kill the
    process (the conventional exit status), SIGINT raises KeyboardInterrupt.
    Signal handlers belong to the main thread: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, signal.Handlers | object] = {}
    for sig in STOP_SIGNALS:
        old = signal.getsignal(sig)
        if old in (signal.SIG_IGN, None):
            continue
        previous[sig] = old
        signal.signal(sig, _raise_interrupted)
    received: int | None = None
    try:
        yield
    except Interrupted as stop:
        received = stop.signum
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
    if received is not None:
        signal.raise_signal(received)
        # The previous handler returned: the block's work is still undone.
        raise KeyboardInterrupt


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def replacing(path: str | os.PathLike[str], mode: int = 0o666) -> Iterator[Path]:
    """A temporary file in `path`'s directory to write in the `with` block;
    on success it gets `mode` less the umask (as `open` would give, not
    mkstemp's 0600) and is renamed over `path`; on failure, or a stop
    signal, it is removed and `path` is untouched."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    with cleanup_on_signals():
        fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        temp = Path(name)
        try:
            os.close(fd)
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
