"""`benchmarks/run.py gemm`: the harness checks NOMA's product against
NumPy's before timing, pins the BLAS to one thread and reports both sides
for every size. No timing is checked: timings belong to the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # compiles and runs two programs in a child process

ROOT = Path(__file__).resolve().parents[2]


def load_gemm_module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from script_module import load_module

    return load_module(ROOT / "benchmarks" / "gemm.py")


def test_quick_run_reports_both_sides(tmp_path: Path) -> None:
    output = tmp_path / "gemm.json"
    ran = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "gemm", "--quick", "--runs", "1", "--output", str(output)],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout.splitlines()[-1])
    assert report == json.loads(output.read_text())
    assert report["benchmark"] == "gemm" and report["runs"] == 1
    assert set(report["blas_threads"].values()) == {"1"}
    assert set(report["sizes"]) == {"256", "512"}
    for size in report["sizes"].values():
        assert size["max_rel_diff"] <= report["rel_tol"]
        assert all(len(times) == 1 for times in size["times_ms"].values())
        assert size["numpy_gflops"] > 0 and size["noma_gflops"] > 0
        assert size["ratio"] == pytest.approx(size["noma_gflops"] / size["numpy_gflops"])
        assert size["noma_ms"] == pytest.approx(
            max(size["noma_raw_ms"] - size["baseline_ms"], 1e-6)
        )


def test_a_wrong_product_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A NOMA program computing something else gives no timings."""
    module = load_gemm_module()
    wrong = tmp_path / "wrong.noma"
    wrong.write_text("fn main(A, B) { return matmul(A, B) * 1.000001; }\n")
    monkeypatch.setattr(module, "PROGRAM", wrong)
    with pytest.raises(module.GemmBenchmarkError, match="differs from NumPy's"):
        module.measure(1, (16,))
