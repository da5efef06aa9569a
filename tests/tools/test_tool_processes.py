"""The tools as processes: stdin as input, broken pipes, and NOMA inside
plain `xdsl-opt` through its `xdsl.universe` entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # processes; see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]

SMALL_MLIR = "func.func @f(%a : f64) -> f64 {\n  func.return %a : f64\n}\n"


def run_module(
    module: str, *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_noma_opt_reads_stdin_given_dash() -> None:
    proc = run_module("noma.tools.noma_opt", "-", "-p", "canonicalize", stdin=SMALL_MLIR)
    assert proc.returncode == 0, proc.stderr
    assert "func.func @f" in proc.stdout


def test_noma_opt_errors_in_stdin_are_located() -> None:
    proc = run_module("noma.tools.noma_opt", "-", stdin="func.func @f() {\n  %0 = arith.addf\n}\n")
    assert proc.returncode == 1
    assert proc.stderr.startswith("<stdin>:3:1: error: ")


def test_noma_translate_reads_stdin_without_a_file() -> None:
    lowered = run_module("noma.tools.noma_opt", "-", "-p", "noma-to-llvm", stdin=SMALL_MLIR)
    assert lowered.returncode == 0, lowered.stderr
    proc = run_module("noma.tools.noma_translate", "--mlir-to-llvmir", stdin=lowered.stdout)
    assert proc.returncode == 0, proc.stderr
    assert "define double @" in proc.stdout


def test_a_broken_pipe_ends_noma_opt_quietly(tmp_path: Path) -> None:
    """`noma-opt big.mlir | head -1`: no complaint once the reader is gone."""
    big = tmp_path / "big.mlir"
    body = "".join(
        f"func.func @f{i}(%a : f64) -> f64 {{\n  func.return %a : f64\n}}\n" for i in range(3000)
    )
    big.write_text(body)
    proc = subprocess.Popen(
        [sys.executable, "-m", "noma.tools.noma_opt", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert first == b"builtin.module {\n"
    assert err == ""
    assert proc.returncode == 1


def test_xdsl_opt_runs_nomas_passes_through_the_entry_point(tmp_path: Path) -> None:
    """pyproject.toml's `xdsl.universe` entry point, as an installation
    declares it (a dist-info with that entry point on the path)."""
    import tomllib

    entry = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    universe = entry["xdsl.universe"]["noma"]
    dist_info = tmp_path / "noma_probe-0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: noma-probe\nVersion: 0\n")
    (dist_info / "entry_points.txt").write_text(f"[xdsl.universe]\nnoma = {universe}\n")
    path = os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])
    program = ROOT / "lit_tests" / "autodiff" / "straight_line.mlir"
    proc = run_module(
        "xdsl.tools.xdsl_opt",
        str(program),
        "-p",
        "autodiff,noma-to-llvm",
        env={"PYTHONPATH": path},
    )
    assert proc.returncode == 0, proc.stderr
    assert "llvm.func" in proc.stdout and "noma." not in proc.stdout
