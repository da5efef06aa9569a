"""Running NOMA source text as a user would: `noma run` (in this process,
see in_process.py), and the peak memory of `noma run` in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from in_process import noma_in_process


def run_cli(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`noma run p.noma [args]` on `source`, written to `tmp_path/p.noma`
    (so diagnostics are located in `p.noma`). The real command-line entry
    point runs in this process: exit status, stdout and stderr are those of
    the command (tests/tools/test_cli.py runs it as a process)."""
    (tmp_path / "p.noma").write_text(source)
    return noma_in_process("run", "p.noma", *args, cwd=tmp_path)


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
