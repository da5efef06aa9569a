"""C programs linked with the runtime, as executables are: the harnesses the
runtime tests drive."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from noma.runtime.build import find_c_compiler, runtime_include_dir, runtime_source_paths

WARNINGS = ("-Wall", "-Wextra")


def build_with_runtime(
    directory: Path, name: str, source: str, flags: Sequence[str], *, quiet: bool = False
) -> Path:
    """Compile the C `source` with `flags` and link it with every runtime
    source into `directory/name`; the build must succeed (and, if `quiet`,
    print nothing)."""
    src = directory / f"{name}.c"
    src.write_text(source)
    exe = directory / name
    proc = subprocess.run(
        [
            *find_c_compiler(), *flags, "-I", str(runtime_include_dir()), "-o", str(exe),
            str(src), *(str(p) for p in runtime_source_paths()), "-lm",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    if quiet:
        assert proc.stderr == ""
    return exe
