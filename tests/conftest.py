"""Settings for the whole test session.

- Makes the shared test helpers in tests/support importable: pytest's
  `--import-mode=importlib` does not put test folders on sys.path.
- `NOMA_VERIFY_EACH=1`: the IR is verified after every stage and pass, in
  this process and in every `noma` process a test starts.
- `NOMA_CACHE_DIR` points at one private temporary directory per session
  (created 0700, removed at the end): the C runtime is built once there and
  shared by every test and subprocess, and nothing is read from or left in
  the user's cache. Tests of the cache itself use their own directories. A
  pytest started by a test (the sanitizer run) keeps what it is given.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_SUPPORT = str(Path(__file__).resolve().parent / "support")
if _SUPPORT not in sys.path:
    sys.path.insert(0, _SUPPORT)

_SESSION_MARK = "NOMA_TEST_SESSION"
"""Set in the environment of the outermost session, so nested ones see it."""

_session_cache: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _session_cache
    os.environ["NOMA_VERIFY_EACH"] = "1"
    if os.environ.get(_SESSION_MARK):
        return
    os.environ[_SESSION_MARK] = "1"
    _session_cache = tempfile.mkdtemp(prefix="noma-test-cache-")
    os.environ["NOMA_CACHE_DIR"] = _session_cache


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_cache is not None:
        shutil.rmtree(_session_cache, ignore_errors=True)
        os.environ.pop("NOMA_CACHE_DIR", None)
        os.environ.pop(_SESSION_MARK, None)
