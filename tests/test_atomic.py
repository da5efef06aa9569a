"""Files are written atomically: a failed write leaves the previous file, and
a new file gets ordinary permissions."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from noma import atomic


def test_write_replaces_and_respects_umask(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    old_mask = os.umask(0o022)
    try:
        atomic.write_text(target, "new")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("failing", ["write", "replace"])
def test_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("precious")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    if failing == "replace":
        monkeypatch.setattr(os, "replace", fail)
    else:
        real_fdopen = os.fdopen

        def fdopen(fd: int, *args: object, **kwargs: object):  # noqa: ANN202
            f = real_fdopen(fd, *args, **kwargs)
            f.write = fail  # type: ignore[method-assign]
            return f

        monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_bytes(target, b"partial")
    monkeypatch.undo()
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        atomic.write_text(tmp_path / "missing" / "out.txt", "x")


def test_sigint_during_a_write_removes_the_temporary(tmp_path: Path) -> None:
    """A stop signal inside `replacing` becomes an exception that removes
    the temporary; then the signal reaches its own handler again (here
    Python's, which raises KeyboardInterrupt), and the handlers are back."""
    target = tmp_path / "out.txt"
    target.write_text("precious")
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), atomic.replacing(target) as temp:
        temp.write_text("half")
        signal.raise_signal(signal.SIGINT)
        pytest.fail("the signal did not stop the write")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    assert signal.getsignal(signal.SIGINT) is before
