"""The scripts of benchmarks/ (peers, example generators, run.py) imported
in tests the way they import one another."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def load_script(path: Path, prefix: str = "noma_bench_") -> ModuleType:
    """The module of a script file (a benchmark script or any other file of
    the tree that is not in a package), imported once per test session."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # where the scripts find script_module
    from script_module import load_module

    return load_module(path, prefix)
