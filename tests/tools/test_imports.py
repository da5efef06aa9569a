"""Each command imports only what it needs (issue 10, lean start-up).

Every case runs a command in a fresh interpreter, the way its console script
does (the `module:function` of pyproject.toml's [project.scripts]), and
records the modules it imported. What is pinned is the set of *heavy* module
groups (HEAVY below), in both directions: a command must not import more
than it needs (no NumPy to compile, no llvmlite for a pass over MLIR, no
LLVM dialect before lowering to it), and what it does import shows that the
command really did its work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pytest

pytestmark = pytest.mark.slow  # processes; see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]

SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

LIGHT_FRONTEND = {
    "noma.frontend",
    "noma.frontend.diagnostics",
    "noma.frontend.file_ranks",
    "noma.frontend.source",
}
"""What any command may import of the frontend: reading a source file and
reporting its errors, the ranks of files named on the command line. None of
them imports xDSL beyond LIGHT_XDSL."""

LIGHT_XDSL = {"xdsl", "xdsl.utils", "xdsl.utils.exceptions"}
"""What any command may import of xDSL: NOMA's diagnostics type derives from
xDSL's DiagnosticException, and that module defines only exception classes
(the package's own `__init__` imports nothing)."""

HEAVY: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "llvmlite": ("llvmlite",),
    "safetensors": ("safetensors",),
    "xdsl": ("xdsl",),
    "xdsl llvm dialect": ("xdsl.dialects.llvm",),
    "noma dialect": ("noma.dialects.noma",),
    "frontend": ("noma.frontend",),
    "noma passes": ("noma.passes",),
    "lowering": ("noma.lowering",),
}
"""Groups of modules whose import costs a command tens of milliseconds or
more, by the prefixes of their names."""


def heavy_groups(modules: list[str]) -> set[str]:
    def in_group(module: str, prefixes: tuple[str, ...]) -> bool:
        if module in LIGHT_FRONTEND or module in LIGHT_XDSL:
            return False
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    return {
        group for group, prefixes in HEAVY.items() if any(in_group(m, prefixes) for m in modules)
    }


RUN_COMMAND = """
import importlib, json, sys
out, entry, *argv = sys.argv[1:]
module, _, function = entry.partition(":")
sys.argv = [module, *argv]
status = 0
try:
    getattr(importlib.import_module(module), function)()
except SystemExit as e:
    status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
finally:
    with open(out, "w") as f:
        json.dump({"status": status, "modules": sorted(sys.modules)}, f)
"""
"""Runs a console script's function as the script would, then records
sys.modules (even when the command fails, so that the test can say how)."""


class Imports(NamedTuple):
    groups: set[str]
    """The groups of HEAVY imported."""
    modules: list[str]
    stdout: str


def imported_by(tool: str, *args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Imports:
    """What `tool args` imports; the command must succeed."""
    record = cwd / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND, str(record), SCRIPTS[tool], *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        # The default path: without the suite's NOMA_VERIFY_EACH, which
        # loads NOMA's verifier after every pass.
        env={**os.environ, "NOMA_VERIFY_EACH": "0", **(env or {})},
    )
    recorded = json.loads(record.read_text())
    assert (proc.returncode, recorded["status"]) == (0, 0), proc.stderr
    return Imports(heavy_groups(recorded["modules"]), recorded["modules"], proc.stdout)


SMALL_MLIR = """\
func.func @f(%a : f64) -> f64 {
  %zero = arith.constant 0.0 : f64
  %r = arith.addf %a, %zero : f64
  func.return %r : f64
}
"""

SCALAR_PROGRAM = """\
fn main() {
    let x = 3;
    print(x);
    return x * x + 1;
}
"""

TRAINING_PROGRAM = """\
fn main() {
    learn w = 0.5;
    optimize(w) with sgd(0.1) until loss < 0.0001 {
        let loss = (w - 2) ** 2;
        minimize loss;
    }
    return w;
}
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "small.mlir").write_text(SMALL_MLIR)
    (tmp_path / "scalar.noma").write_text(SCALAR_PROGRAM)
    (tmp_path / "train.noma").write_text(TRAINING_PROGRAM)
    return tmp_path


def test_noma_opt_canonicalize_mlir_imports_only_xdsl(work: Path) -> None:
    """Only the dialects of the input are loaded: no NOMA dialect, frontend,
    passes or lowering, no LLVM dialect, no NumPy or llvmlite."""
    imports = imported_by("noma-opt", "-p", "canonicalize", "small.mlir", cwd=work)
    assert imports.groups == {"xdsl"}
    assert {"xdsl.dialects.func", "xdsl.dialects.arith"} <= set(imports.modules)
    assert "arith.addf" in imports.stdout


def test_noma_opt_autodiff_on_noma_needs_no_llvm(work: Path) -> None:
    imports = imported_by("noma-opt", "-p", "autodiff", "train.noma", cwd=work)
    assert imports.groups == {"xdsl", "noma dialect", "frontend", "noma passes"}
    assert "grads(" in imports.stdout  # the gradients the pass computed


def test_noma_translate_imports_llvmlite_but_not_numpy(work: Path) -> None:
    llvm_mlir = work / "scalar.llvm.mlir"
    imported_by("noma-opt", "-p", "noma-to-llvm", "scalar.noma", "-o", str(llvm_mlir), cwd=work)
    imports = imported_by("noma-translate", str(llvm_mlir), "--mlir-to-llvmir", cwd=work)
    assert imports.groups == {"xdsl", "xdsl llvm dialect", "llvmlite", "lowering"}
    assert "define " in imports.stdout


def test_compiling_to_the_llvm_dialect_imports_no_numpy_nor_llvmlite(work: Path) -> None:
    """The compile path itself (frontend, passes, lowering to the llvm
    dialect), as noma.compiler drives it."""
    imports = imported_by("noma-opt", "-p", "noma-to-llvm", "train.noma", cwd=work)
    assert "llvm.func" in imports.stdout
    assert imports.groups == {
        "xdsl",
        "xdsl llvm dialect",
        "noma dialect",
        "frontend",
        "noma passes",
        "lowering",
    }


def test_naming_stages_reading_sources_and_ranks_import_no_xdsl(work: Path) -> None:
    """What `noma run` needs before it knows whether it must compile (the
    compile cache's key: the source, the ranks of main's parameters; the
    stages; how errors are reported) imports neither xDSL nor NumPy."""
    code = (
        "import json, sys\n"
        "from noma import pipeline\n"
        "from noma.frontend.file_ranks import arg_ranks\n"
        "from noma.frontend.source import read_source_file\n"
        "from noma.tools import errors\n"
        "read_source_file('scalar.noma')\n"
        "assert arg_ranks({'X': 'x.csv'}) == {'X': 2}\n"
        "assert [s.name for s in pipeline.STAGES][-1] == 'llvm'\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert heavy_groups(json.loads(proc.stdout)) == set()


def test_noma_check_imports_no_llvmlite_nor_numpy(work: Path) -> None:
    imports = imported_by("noma", "check", "train.noma", cwd=work)
    assert not imports.groups & {"llvmlite", "numpy"}
    assert "lowering" in imports.groups


def test_noma_emit_loops_imports_no_llvmlite_nor_numpy(work: Path) -> None:
    imports = imported_by("noma", "emit", "--stage", "loops", "train.noma", cwd=work)
    assert not imports.groups & {"llvmlite", "numpy"}
    assert "scf.for" in imports.stdout or "scf.while" in imports.stdout


def test_noma_run_of_a_scalar_program_imports_no_numpy(work: Path) -> None:
    cache = {"NOMA_CACHE_DIR": str(work / "cache")}
    imports = imported_by("noma", "run", "scalar.noma", cwd=work, env=cache)
    assert imports.stdout == "3.0\n10.0\n"
    assert "numpy" not in imports.groups
    assert "lowering" in imports.groups  # it was compiled: a cache miss


def test_noma_run_from_a_warm_cache_imports_no_compiler(work: Path) -> None:
    cache = {"NOMA_CACHE_DIR": str(work / "cache")}
    imported_by("noma", "run", "scalar.noma", cwd=work, env=cache)
    imports = imported_by("noma", "run", "scalar.noma", cwd=work, env=cache)
    assert imports.stdout == "3.0\n10.0\n"
    assert not imports.groups & {
        "xdsl",
        "frontend",
        "noma dialect",
        "noma passes",
        "lowering",
        "numpy",
    }
