"""Importing the scripts of benchmarks/, which is a folder of scripts and not
a package: each is imported from its file, once per process, under the name
`noma_bench_<stem>`, so that run.py, the example generators and the tests
share one module object per script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(path: Path, prefix: str = "noma_bench_") -> ModuleType:
    """The module of the Python file `path`, imported on first use."""
    name = prefix + path.stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
