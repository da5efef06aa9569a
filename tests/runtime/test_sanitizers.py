"""The sanitizer builds are real checks: a fault in a sanitized harness stops
it with the sanitizer's exit status (so the parametrized harness tests of
test_runtime_c.py and test_io_runtime.py would see one), and executables of
`noma build-exe` linked with a sanitized runtime and driver (through `CC`,
which may carry flags) run CSV and safetensors I/O cleanly, printing what
`noma run` prints."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from c_programs import (
    ASAN_EXIT_STATUS,
    SANITIZER_FLAGS,
    UBSAN_EXIT_STATUS,
    WARNINGS,
    build_with_runtime,
    sanitizer_unavailable,
)

from noma.runtime.build import (
    RUNTIME_CFLAGS,
    find_c_compiler,
    runtime_include_dir,
    runtime_source_paths,
)

pytestmark = pytest.mark.slow  # see README.md, "Testing"

_FAULTS = textwrap.dedent(
    r"""
    #include <stdlib.h>
    #include <string.h>
    #include "noma_runtime.h"

    int main(int argc, char **argv) {
        (void)argc;
        if (strcmp(argv[1], "heap") == 0) {
            double *volatile p = malloc(4 * sizeof(double));
            volatile size_t n = 5 * sizeof(double);
            memset(p, 0, n); /* one element past the end */
            noma_print_f64(p[0]);
            free(p);
            return 0;
        }
        if (strcmp(argv[1], "overflow") == 0) {
            volatile long long big = 9223372036854775807LL;
            return (int)(big + argc); /* signed overflow */
        }
        noma_print_f64(1.5);
        return 0;
    }
    """
)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("faults")
    return build_with_runtime(d, "faults", _FAULTS, ["-std=c11", "-O1", *WARNINGS], sanitize=True)


@pytest.mark.parametrize(
    ("mode", "status", "report"),
    [
        ("heap", ASAN_EXIT_STATUS, "AddressSanitizer: heap-buffer-overflow"),
        ("overflow", UBSAN_EXIT_STATUS, "signed integer overflow"),
        ("clean", 0, ""),
    ],
)
def test_a_fault_stops_a_sanitized_program(
    faults: Path, mode: str, status: int, report: str
) -> None:
    proc = subprocess.run(
        [str(faults), mode], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == status, proc.stderr
    assert report in proc.stderr
    if status == 0:
        assert proc.stdout == "1.5\n" and proc.stderr == ""


_IO_PROGRAM = (
    "fn main(X) {\n"
    "    learn W = tensor [[0.5], [-0.25]];\n"
    '    save_csv matmul(X, W), "pred.csv";\n'
    '    load_csv P = "pred.csv";\n'
    "    print(P);\n"
    "    learn b = 0.5;\n"
    '    save_safetensors { W: W, b: b }, "m.safetensors";\n'
    '    load_safetensors W = "m.safetensors";\n'
    "    realloc W = [3, 3] init zeros;\n"
    '    save_safetensors { W: W }, "m.safetensors";\n'
    '    load_safetensors V = "m.safetensors";\n'
    "    return V;\n"
    "}\n"
)
"""CSV and safetensors, read and written; main's parameter from `--arg`."""


def test_executable_with_a_sanitized_runtime(tmp_path: Path) -> None:
    """Built once; run on a good CSV file (exit 0) and on a malformed one (a
    located run-time error, exit 1), as `noma run` runs them."""
    missing = sanitizer_unavailable()
    if missing:
        pytest.skip(missing)
    (tmp_path / "p.noma").write_text(_IO_PROGRAM)
    (tmp_path / "x.csv").write_text("1,2\n3,4\n-1,0.5\n")
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    env = {
        **os.environ,
        "CC": " ".join([*find_c_compiler(), *SANITIZER_FLAGS]),
        "NOMA_CACHE_DIR": str(tmp_path / "cache"),
    }
    noma = [sys.executable, "-m", "noma.tools.noma_cli"]
    built = subprocess.run(
        [*noma, "build-exe", "p.noma", "-o", "p", "--arg", "X=x.csv"], cwd=tmp_path, env=env,
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    for data, status in (("x.csv", 0), ("bad.csv", 1)):
        reference = subprocess.run(
            [*noma, "run", "p.noma", "--arg", f"X={data}"], cwd=tmp_path, capture_output=True,
            text=True, check=False, timeout=300,
        )  # fmt: skip
        # A run-time error ends the process from inside compiled code, whose
        # buffers are left to the system then: leaks are checked on success.
        options = f"halt_on_error=1:abort_on_error=0:detect_leaks={int(status == 0)}"
        ran = subprocess.run(
            [str(tmp_path / "p"), "--arg", f"X={data}"], cwd=tmp_path, capture_output=True,
            text=True, check=False, timeout=120, stdin=subprocess.DEVNULL,
            env={
                "ASAN_OPTIONS": f"{options}:exitcode={ASAN_EXIT_STATUS}",
                "UBSAN_OPTIONS": f"{options}:exitcode={UBSAN_EXIT_STATUS}:print_stacktrace=1",
            },
        )  # fmt: skip
        assert "Sanitizer" not in ran.stderr, ran.stderr
        assert (ran.returncode, ran.stdout, ran.stderr) == (
            reference.returncode,
            reference.stdout,
            reference.stderr,
        )
        assert ran.returncode == status, ran.stderr


# The ctypes-level runtime tests (CSV and safetensors reading and writing,
# printing, the RNG, the tape, the JIT's calls into the runtime), run again
# in a child pytest against the runtime built with the sanitizers. The
# harness tests already have sanitized variants of their own (BUILDS).
_LIBRARY_TESTS = (
    "test_io_runtime.py",
    "test_runtime_c.py",
    "test_rng.py",
    "test_print_format.py",
    "test_print_tensor.py",
    "test_python_hooks.py",
)
# ASan replaces malloc, so glibc's mallinfo2, which this test reads, counts nothing.
_NOT_UNDER_ASAN = ("test_free_buffer_releases_what_compiled_code_malloced",)


def _sanitizer_runtimes() -> list[str]:
    """The sanitizer runtimes a Python process must preload to load a
    sanitized library."""
    compiler = find_c_compiler()
    paths = []
    for name in ("libasan.so", "libubsan.so"):
        found = subprocess.run(
            [*compiler, f"-print-file-name={name}"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if not os.path.isabs(found):
            pytest.skip(f"{' '.join(compiler)} does not say where {name} is ({found!r})")
        paths.append(found)
    return paths


def test_runtime_library_tests_under_sanitizers(tmp_path: Path) -> None:
    missing = sanitizer_unavailable()
    if missing:
        pytest.skip(missing)
    library = tmp_path / "libnoma_runtime_sanitized.so"
    built = subprocess.run(
        [
            *find_c_compiler(), *RUNTIME_CFLAGS, *SANITIZER_FLAGS, "-shared",
            "-I", str(runtime_include_dir()), "-o", str(library),
            *(str(p) for p in runtime_source_paths()), "-lm",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    here = Path(__file__).resolve().parent
    deselect = " and ".join(f"not {name}" for name in ("asan-ubsan", *_NOT_UNDER_ASAN))
    env = {
        **os.environ,
        "LD_PRELOAD": " ".join(_sanitizer_runtimes()),
        # Python's own allocations are not the runtime's leaks.
        "ASAN_OPTIONS": f"detect_leaks=0:halt_on_error=1:exitcode={ASAN_EXIT_STATUS}",
        "UBSAN_OPTIONS": f"halt_on_error=1:print_stacktrace=1:exitcode={UBSAN_EXIT_STATUS}",
        "NOMA_TEST_RUNTIME_LIBRARY": str(library),
    }
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", deselect,
            *(str(here / name) for name in _LIBRARY_TESTS),
        ],
        capture_output=True, text=True, check=False, env=env, timeout=900,
        stdin=subprocess.DEVNULL, cwd=here.parent.parent,
    )  # fmt: skip
    summary = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"runtime tests under ASan+UBSan: {summary[0]}")
    assert proc.returncode == 0, f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    assert " passed" in summary[0] and "failed" not in summary[0]
