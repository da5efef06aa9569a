"""C programs linked with the runtime, as executables are: the harnesses the
runtime tests drive, built plain or under AddressSanitizer and
UndefinedBehaviorSanitizer."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

from noma.runtime.build import find_c_compiler, runtime_include_dir, runtime_source_paths

WARNINGS = ("-Wall", "-Wextra")

SANITIZER_FLAGS = (
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=all",
)
"""Every sanitizer report stops the program (no recovery)."""

ASAN_EXIT_STATUS = 86
UBSAN_EXIT_STATUS = 87
"""A sanitized program that reports a fault exits with these, which no
harness uses, so any test that checks the exit status sees the fault."""

_SANITIZER_DEFAULTS = textwrap.dedent(
    f"""\
    /* Compiled into sanitized harnesses: the options hold whatever the
     * environment says, so every run is checked the same way. */
    const char *__asan_default_options(void);
    const char *__ubsan_default_options(void);
    const char *__asan_default_options(void) {{
        return "halt_on_error=1:abort_on_error=0:exitcode={ASAN_EXIT_STATUS}:"
               "detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1";
    }}
    const char *__ubsan_default_options(void) {{
        return "halt_on_error=1:abort_on_error=0:exitcode={UBSAN_EXIT_STATUS}:print_stacktrace=1";
    }}
    """
)

BUILDS = [
    pytest.param(False, id="plain"),
    pytest.param(True, id="asan-ubsan", marks=pytest.mark.slow),  # a sanitized runtime build each
]
"""Parameters of a harness fixture: each harness test runs against a plain
build and a sanitized one."""


def build_with_runtime(
    directory: Path,
    name: str,
    source: str,
    flags: Sequence[str],
    *,
    quiet: bool = False,
    sanitize: bool = False,
) -> Path:
    """Compile the C `source` with `flags` and link it with every runtime
    source into `directory/name`; the build must succeed (and, if `quiet`,
    print nothing). With `sanitize`, the program and the runtime are built
    with SANITIZER_FLAGS; the test is skipped, with the reason, when the
    compiler has no sanitizer runtime."""
    sanitizer_flags: list[str] = []
    sanitizer_sources: list[str] = []
    if sanitize:
        missing = sanitizer_unavailable()
        if missing:
            pytest.skip(missing)
        defaults = directory / f"{name}_sanitizer_options.c"
        defaults.write_text(_SANITIZER_DEFAULTS)
        sanitizer_flags, sanitizer_sources = list(SANITIZER_FLAGS), [str(defaults)]
    src = directory / f"{name}.c"
    src.write_text(source)
    exe = directory / name
    proc = subprocess.run(
        [
            *find_c_compiler(), *flags, *sanitizer_flags, "-I", str(runtime_include_dir()),
            "-o", str(exe), str(src), *sanitizer_sources,
            *(str(p) for p in runtime_source_paths()), "-lm",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    if quiet:
        assert proc.stderr == ""
    return exe


@cache
def sanitizer_unavailable() -> str | None:
    """Why sanitized harnesses cannot be built here (None when they can):
    the compiler must link, and run, a program with SANITIZER_FLAGS."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="noma-sanitizer-probe-") as scratch:
        src = Path(scratch) / "probe.c"
        src.write_text("int main(void) { return 0; }\n")
        exe = Path(scratch) / "probe"
        compiler = find_c_compiler()
        built = subprocess.run(
            [*compiler, *SANITIZER_FLAGS, "-o", str(exe), str(src)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if built.returncode != 0:
            return f"{' '.join(compiler)} cannot build with {' '.join(SANITIZER_FLAGS)}: " + (
                built.stderr.strip().splitlines() or ["no message"]
            )[-1]
        ran = subprocess.run([str(exe)], capture_output=True, text=True, check=False, timeout=60)
        if ran.returncode != 0:
            return f"a program built with the sanitizers does not run here: {ran.stderr.strip()}"
    return None
