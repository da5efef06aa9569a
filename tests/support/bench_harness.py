"""Running benchmarks/run.py as a user does, for the tests of its
benchmarks: in a child process, from the repository's root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_PY = ROOT / "benchmarks" / "run.py"


def harness(
    *args: str, timeout: float = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`benchmarks/run.py ARGS`, its output captured, with `env` added to
    the environment. Python's stdout is block-buffered in it
    (PYTHONUNBUFFERED removed), as it is for a user, so that output the
    peers print while timed cannot hide in an unbuffered stream."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, **(env or {})}
    return subprocess.run(
        [sys.executable, str(RUN_PY), *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def report_of(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    """The JSON report, the last line of the harness's stdout."""
    report: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return report


def without_torch(folder: Path) -> dict[str, str]:
    """The environment additions under which a Python process cannot import
    PyTorch, installed or not: a sitecustomize.py in `folder`, first on
    PYTHONPATH, sets sys.modules["torch"] to None (so `import torch` raises
    ImportError and importlib.util.find_spec("torch") is None)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text('import sys\nsys.modules["torch"] = None\n')
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}
