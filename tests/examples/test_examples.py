"""Every program in examples/ runs with `noma run` and prints exactly its
expected output (`<name>.out`), with nothing or exactly `<name>.err` on
stderr. The expected numbers themselves are checked independently against
Python re-implementations in test_reference.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))


def test_every_example_has_an_expected_output() -> None:
    assert EXAMPLES, "no examples found"
    missing = [p.name for p in EXAMPLES if not p.with_suffix(".out").exists()]
    assert not missing, f"examples without a .out file: {missing}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_output(example: Path) -> None:
    proc = subprocess.run(
        ["noma", "run", str(example.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    expected_err = example.with_suffix(".err")
    assert proc.stderr == (expected_err.read_text() if expected_err.exists() else "")
    assert proc.returncode == 0
    assert proc.stdout == example.with_suffix(".out").read_text()
