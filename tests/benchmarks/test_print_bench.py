"""`benchmarks/run.py print`: the harness builds its driver with the runtime,
checks that every number reads back before timing, and reports both sides.
No timing is checked: timings belong to the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and runs a C program

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_both_sides(tmp_path: Path) -> None:
    output = tmp_path / "print.json"
    ran = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "print", "--runs", "1", "--output", str(output)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout.splitlines()[-1])
    assert report == json.loads(output.read_text())
    assert report["benchmark"] == "print" and report["numbers"] == 1_000_000
    assert len(report["times_ns"]["noma"]) == len(report["times_ns"]["c"]) == 1
    assert report["noma_ns"] > 0 and report["c_ns"] > 0
    assert report["c_over_noma"] == pytest.approx(report["c_ns"] / report["noma_ns"])


def test_a_wrong_formatter_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver that reports numbers not reading back gives no timings."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from script_module import load_module

    module = load_module(ROOT / "benchmarks" / "print_format.py")
    monkeypatch.setattr(
        module,
        "DRIVER",
        module.DRIVER.replace(
            "bad += strtod(a, NULL) != xs[i]", "bad += 1 + 0 * (strtod(a, NULL) != xs[i])"
        ),
    )
    with pytest.raises(module.PrintBenchmarkError, match="1000000 numbers did not read back"):
        module.run_print_benchmark(1)
