"""Runs the lit/FileCheck suite (lit_tests/) as part of pytest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parent.parent


def test_lit_suite() -> None:
    for tool in ("lit", "noma-opt", "filecheck"):
        assert shutil.which(tool), f"{tool} is not on PATH: install with `pip install -e '.[test]'`"
    proc = subprocess.run(
        ["lit", "-v", "-j", "2", str(ROOT / "lit_tests")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1200,
    )
    summary = proc.stdout[-3000:]
    print(summary)
    assert proc.returncode == 0, f"lit failures:\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"
    assert "Passed" in proc.stdout
