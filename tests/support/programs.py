"""Running NOMA source text as a user would: `noma run` in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`noma run p.noma [args]` on `source`, written to `tmp_path/p.noma`
    (so diagnostics are located in `p.noma`)."""
    (tmp_path / "p.noma").write_text(source)
    return subprocess.run(
        ["noma", "run", "p.noma", *args], cwd=tmp_path, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip


def peak_rss_kib(path: Path) -> int:
    """The peak resident memory, in KiB, of `noma run path` (which must
    succeed), measured in a fresh process."""
    script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(['noma', 'run', sys.argv[1]], capture_output=True)\n"
        "assert p.returncode == 0, p.stderr\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.strip())
