"""The C runtime and its build: caching, compiler errors, warnings, and the
behaviour of the C functions when linked into a plain C program (which is
how standalone executables will use them)."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from c_programs import BUILDS, WARNINGS, build_with_runtime

from noma.runtime import build
from noma.runtime.build import (
    CCompilerNotFoundError,
    RuntimeBuildError,
    build_runtime_library,
    cache_dir,
    find_c_compiler,
    runtime_header_path,
    runtime_include_dir,
    runtime_source_path,
    runtime_source_paths,
)
from noma.runtime.jit import NomaRuntime, load_runtime

# --------------------------------------------------------------------------
# build.py
# --------------------------------------------------------------------------


def test_source_paths_exist() -> None:
    assert runtime_source_path().is_file()
    assert runtime_source_path().name == "noma_runtime.c"
    assert runtime_header_path().is_file()
    assert runtime_header_path().parent == runtime_include_dir()


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOMA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "noma"
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("NOMA_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "noma"


def test_build_is_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh cache dir gets a fresh build; the second call reuses it."""
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path / "cache"))
    first = build_runtime_library()
    assert first.parent == tmp_path / "cache"
    assert first.is_file()
    mtime = first.stat().st_mtime_ns
    second = build_runtime_library()
    assert second == first
    assert second.stat().st_mtime_ns == mtime
    # No temporary files are left behind.
    assert sorted(p.name for p in first.parent.iterdir()) == [first.name]
    # The library is loadable and exports the ABI.
    lib = ctypes.CDLL(str(first))
    for name in (
        "noma_print_f64",
        "noma_print_str",
        "noma_warning",
        "noma_runtime_error",
        "noma_tape_new",
        "noma_tape_push",
        "noma_tape_pop",
        "noma_tape_free",
        "noma_rt_invoke",
        "noma_rt_flush",
        "noma_format_f64",
    ):
        assert hasattr(lib, name), name


@pytest.mark.slow
def test_force_rebuilds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    first = build_runtime_library()
    os.utime(first, ns=(1, 1))
    again = build_runtime_library(force=True)
    assert again == first
    assert again.stat().st_mtime_ns != 1


@pytest.mark.slow
def test_key_depends_on_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Different flags (or compiler) must not share a cached library."""
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    first = build_runtime_library()
    monkeypatch.setattr(build, "RUNTIME_CFLAGS", (*build.RUNTIME_CFLAGS, "-DNOMA_TEST_FLAG=1"))
    second = build_runtime_library()
    assert second != first
    assert first.is_file() and second.is_file()


@pytest.mark.slow
def test_concurrent_builds(tmp_path: Path) -> None:
    """Several processes building into the same empty cache all succeed and
    agree on one library; nothing half-written or temporary survives."""
    env = {**os.environ, "NOMA_CACHE_DIR": str(tmp_path)}
    code = "from noma.runtime.build import build_runtime_library as b; print(b())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outs) == 1
    (lib,) = outs
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(lib).name]
    ctypes.CDLL(lib)


def test_missing_compiler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", "definitely-not-a-c-compiler-xyz")
    with pytest.raises(CCompilerNotFoundError, match="no C compiler found"):
        find_c_compiler()
    with pytest.raises(RuntimeBuildError, match="definitely-not-a-c-compiler-xyz"):
        build_runtime_library()
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_cc_with_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$CC may carry arguments, as with `CC="gcc -m64"`."""
    cc = find_c_compiler()[0]
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", f"{cc} -DNOMA_SOMETHING=1")
    assert find_c_compiler() == [cc, "-DNOMA_SOMETHING=1"]
    assert build_runtime_library().is_file()


def test_compile_failure_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(
        build, "RUNTIME_CFLAGS", (*build.RUNTIME_CFLAGS, "-DX=", "-include", "/nonexistent/h.h")
    )
    with pytest.raises(RuntimeBuildError, match="compiling the NOMA C runtime failed"):
        build_runtime_library()
    assert not any(tmp_path.iterdir())  # the temporary output was removed


def test_no_warnings_strict(tmp_path: Path) -> None:
    """The runtime compiles warning-free even with pedantic extra checks."""
    cc = find_c_compiler()
    proc = subprocess.run(
        [
            *cc,
            "-std=c11",
            "-O2",
            "-fPIC",
            "-shared",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Wshadow",
            "-Wconversion",
            "-Werror",
            "-o",
            str(tmp_path / "lib.so"),
            *(str(p) for p in runtime_source_paths()),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# --------------------------------------------------------------------------
# The tape, through ctypes
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rt() -> NomaRuntime:
    return load_runtime()


def test_tape_is_lifo(rt: NomaRuntime) -> None:
    lib = rt.lib
    tape = lib.noma_tape_new()
    assert tape != 0
    values = [float(i) * 0.5 for i in range(10_000)]  # forces several regrowths
    for v in values:
        lib.noma_tape_push(tape, v)
    assert [lib.noma_tape_pop(tape) for _ in values] == values[::-1]
    # Reusable after being emptied.
    lib.noma_tape_push(tape, 1.25)
    lib.noma_tape_push(tape, -3.0)
    assert lib.noma_tape_pop(tape) == -3.0
    assert lib.noma_tape_pop(tape) == 1.25
    lib.noma_tape_free(tape)
    lib.noma_tape_free(0)  # freeing the null handle is a no-op


def test_tapes_are_independent(rt: NomaRuntime) -> None:
    lib = rt.lib
    a, b = lib.noma_tape_new(), lib.noma_tape_new()
    assert a != b
    lib.noma_tape_push(a, 1.0)
    lib.noma_tape_push(b, 2.0)
    assert lib.noma_tape_pop(a) == 1.0
    assert lib.noma_tape_pop(b) == 2.0
    lib.noma_tape_free(a)
    lib.noma_tape_free(b)


# --------------------------------------------------------------------------
# The runtime linked into a C program (the executable configuration)
# --------------------------------------------------------------------------

_C_HARNESS = textwrap.dedent(
    r"""
    #include <locale.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include "noma_runtime.h"

    static void str(void (*f)(char *, char *, int64_t, int64_t, int64_t),
                    const char *s) {
        char *p = (char *)s;
        f(p, p, 0, (int64_t)strlen(s), 1);
    }

    int main(int argc, char **argv) {
        const char *mode = argc > 1 ? argv[1] : "";
        if (strcmp(mode, "locale") == 0) {
            if (!setlocale(LC_ALL, argv[2])) return 3;
            char probe[16];
            snprintf(probe, sizeof probe, "%.1f", 1.5);
            printf("%s\n", probe); /* proves the locale is active: 1,5 */
            noma_print_f64(1.5);
            noma_print_f64(0.1);
            noma_print_f64(-2.5e-7);
            noma_print_f64(1.2345678901234567e+300);
            noma_print_f64(123456.789);
            return 0;
        }
        if (strcmp(mode, "print") == 0) {
            noma_print_f64(25.0);
            str(noma_print_str, "hello, world");
            /* offset and size select a window; no NUL terminator needed */
            char buf[] = "xxabcxx";
            noma_print_str(buf, buf, 2, 3, 1);
            /* stride 2 picks every other byte */
            char strided[] = "a-b-c";
            noma_print_str(strided, strided, 0, 3, 2);
            noma_print_str(NULL, NULL, 0, 0, 1); /* empty string */
            noma_rt_flush();
            return 0;
        }
        if (strcmp(mode, "error") == 0) {
            noma_print_f64(1.0); /* buffered: must be flushed before exit */
            char msg[] = "prog.noma:3:7: runtime error: index {0} out of bounds for size {1}";
            noma_runtime_error(msg, msg, 0, (int64_t)strlen(msg), 1, 5.0, 3.0);
            puts("not reached");
            return 0;
        }
        if (strcmp(mode, "underflow") == 0) {
            int64_t t = noma_tape_new();
            noma_tape_push(t, 1.0);
            noma_print_f64(noma_tape_pop(t));
            noma_tape_pop(t);
            puts("not reached");
            return 0;
        }
        return 2;
    }
    """
)


@pytest.fixture(scope="module", params=BUILDS)
def harness(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A C program linked with noma_runtime.c, as executables will be;
    plain and under AddressSanitizer and UBSan."""
    d = tmp_path_factory.mktemp("harness")
    flags = ["-std=c11", "-O2", *WARNINGS]
    return build_with_runtime(d, "harness", _C_HARNESS, flags, sanitize=request.param)


def _run(
    exe: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=60)


def test_print_functions(harness: Path) -> None:
    proc = _run(harness, "print")
    assert proc.returncode == 0
    assert proc.stdout == "25.0\nhello, world\nabc\nabc\n\n"
    assert proc.stderr == ""


def test_runtime_error_without_invoke_exits_1(harness: Path) -> None:
    proc = _run(harness, "error")
    assert proc.returncode == 1
    assert proc.stdout == "1.0\n"
    assert proc.stderr == "prog.noma:3:7: runtime error: index 5 out of bounds for size 3\n"


def test_tape_underflow_in_executable(harness: Path) -> None:
    proc = _run(harness, "underflow")
    assert proc.returncode == 1
    assert proc.stdout == "1.0\n"
    assert proc.stderr == "runtime error: internal: tape underflow\n"


def test_format_is_locale_independent(harness: Path, tmp_path: Path) -> None:
    """Under a locale whose decimal point is ',' the output is unchanged."""
    localedef = shutil.which("localedef")
    locale_name = "de_DE.UTF-8"
    env = dict(os.environ)
    if localedef is not None:
        locpath = tmp_path / "locales"
        locpath.mkdir()
        made = subprocess.run(
            [localedef, "-i", "de_DE", "-f", "UTF-8", str(locpath / locale_name)],
            capture_output=True,
        )
        if made.returncode in (0, 1) and (locpath / locale_name).exists():
            env["LOCPATH"] = str(locpath)
    proc = _run(harness, "locale", locale_name, env=env)
    if proc.returncode == 3:
        pytest.skip("no locale with a ',' decimal point available (de_DE.UTF-8)")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "1,5"  # the locale really is active
    assert lines[1:] == [
        repr(1.5),
        repr(0.1),
        repr(-2.5e-7),
        repr(1.2345678901234567e300),
        repr(123456.789),
    ]
