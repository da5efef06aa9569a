"""Files, output and processes (issue 9): what happens when the outside world
gets in the way, in `noma run` (the JIT) and in executables alike.

- A failed write (file-size limit, full disk, a stop signal during the
  write) leaves the old file and no temporary behind.
- `noma build-exe` and the runtime library build remove their temporaries
  when SIGTERM or SIGINT arrives, then die of the signal.
- A write error on stdout (/dev/full, a closed descriptor) is reported, exit 1.
- The runtime library is loaded only from a cache nobody else can write to.
- `--arg` for a name main does not take, or a tensor name a file does not
  hold, is an error; `--seed` takes the same integers everywhere.
- Braces in the file name are not placeholders of run-time messages.
- `--arg X=/dev/stdin` reads a CSV from a pipe.

One program is built once as an executable (module fixture); each check runs
it and `noma run` on the same file. Faults are injected without timing: the
file-size limit by setrlimit in the child, a full disk and a signal by a
preloaded `fsync` (the atomic writer syncs the temporary before renaming it),
and a slow C compiler by a $CC script that waits once it has started.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest
import typer
from c_programs import WARNINGS
from safetensors.numpy import load_file, save_file

from noma.runtime import build
from noma.runtime.build import find_c_compiler
from noma.tools.noma_cli import parse_seed

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600

# Every file operation the cases need: a parameter from a file, output,
# both writers, and a result.
PROGRAM = """fn main(X) {
  print(sum(X));
  print(rand());
  save_csv X, "out.csv";
  save_safetensors { X: X }, "out.safetensors";
  return sum(X) * 2;
}
"""
ROWS = 300  # X is [300, 4]: its CSV (~6 kB) is over the 1000-byte limit below
OLD = {"out.csv": b"old csv\n", "out.safetensors": b"old safetensors\n"}

Runner = Callable[..., subprocess.CompletedProcess[str]]


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


def noma_cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
             stdin: int | None = subprocess.DEVNULL, stdout: int | None = subprocess.PIPE,
             preexec_fn: Callable[[], None] | None = None, input: str | None = None,
             ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`noma ARGS` of this checkout (python -m, so this tree is tested)."""
    return subprocess.run(
        [sys.executable, "-m", "noma.tools.noma_cli", *args], cwd=cwd, env=_env(env),
        stdin=None if input is not None else stdin, stdout=stdout, stderr=subprocess.PIPE,
        text=True, timeout=TIMEOUT, check=False, preexec_fn=preexec_fn, input=input,
    )  # fmt: skip


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """p.noma, its input x.csv, and the executable `prog` built from it."""
    d = tmp_path_factory.mktemp("files")
    (d / "p.noma").write_text(PROGRAM)
    x = np.arange(ROWS * 4, dtype=np.float64).reshape(ROWS, 4) / 7
    np.savetxt(d / "x.csv", x, delimiter=",")
    build.build_runtime_library()  # in the cache before any limit is set
    proc = noma_cli("build-exe", "p.noma", "-o", "prog", cwd=d)
    assert proc.returncode == 0, proc.stderr
    return d


@pytest.fixture
def case(workdir: Path, tmp_path: Path) -> Path:
    """A fresh directory with p.noma, x.csv and prog, and old output files."""
    for name in ("p.noma", "x.csv"):
        (tmp_path / name).write_bytes((workdir / name).read_bytes())
    os.link(workdir / "prog", tmp_path / "prog")
    for name, data in OLD.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def run_jit(d: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return noma_cli("run", "p.noma", *args, cwd=d, **kw)  # type: ignore[arg-type]


def run_exe(d: Path, *args: str, env: Mapping[str, str] | None = None,
            stdin: int | None = subprocess.DEVNULL, stdout: int | None = subprocess.PIPE,
            preexec_fn: Callable[[], None] | None = None, input: str | None = None,
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [str(d / "prog"), *args], cwd=d, env=dict(env or {}),
        stdin=None if input is not None else stdin, stdout=stdout, stderr=subprocess.PIPE,
        text=True, timeout=TIMEOUT, check=False, preexec_fn=preexec_fn, input=input,
    )  # fmt: skip


RUNNERS: dict[str, Runner] = {"jit": run_jit, "exe": run_exe}
modes = pytest.mark.parametrize("mode", RUNNERS)


def assert_untouched(d: Path) -> None:
    """The old outputs are there, byte for byte, and no temporary is left."""
    for name, data in OLD.items():
        assert (d / name).read_bytes() == data, name
    assert sorted(p.name for p in d.iterdir()) == sorted(["p.noma", "x.csv", "prog", *OLD])


# --------------------------------------------------------------------------
# Failed writes: the file-size limit, a full disk, a stop signal
# --------------------------------------------------------------------------


def assert_failed_write(
    case: Path, proc: subprocess.CompletedProcess[str], reason: str
) -> None:
    """The save of out.csv failed for `reason`: a located run-time error,
    exit 1, and the old file kept with no temporary left."""
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.endswith(
        f"p.noma:4:3: runtime error: cannot write 'out.csv': {reason}\n"
    ), proc.stderr
    assert_untouched(case)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


@modes
def test_file_size_limit_is_a_write_error(case: Path, mode: str) -> None:
    """Over `ulimit -f`, write() fails with EFBIG (SIGXFSZ is ignored while
    writing) instead of the process being killed with its temporary left."""
    proc = RUNNERS[mode](case, "--arg", "X=x.csv", preexec_fn=_limit_file_size)
    assert_failed_write(case, proc, "File too large")


FSYNC_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* fsync as a fault injector: NOMA_TEST_FSYNC=ENOSPC fails it as a full disk
 * does; =SIGTERM / =SIGINT raises the signal first (a user stopping the
 * program while a file is being written), then syncs. */
int fsync(int fd)
{
    const char *fault = getenv("NOMA_TEST_FSYNC");
    if (fault != NULL && strcmp(fault, "ENOSPC") == 0) {
        errno = ENOSPC;
        return -1;
    }
    if (fault != NULL && strcmp(fault, "SIGTERM") == 0)
        raise(SIGTERM);
    if (fault != NULL && strcmp(fault, "SIGINT") == 0)
        raise(SIGINT);
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}
"""


@pytest.fixture(scope="module")
def fsync_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if sys.platform != "linux":
        pytest.skip(f"the fault injection preloads a library (LD_PRELOAD), not on {sys.platform}")
    d = tmp_path_factory.mktemp("shim")
    (d / "shim.c").write_text(FSYNC_SHIM)
    lib = d / "libfsync_fault.so"
    proc = subprocess.run(
        [*find_c_compiler(), *WARNINGS, "-shared", "-fPIC", "-o", str(lib), str(d / "shim.c"),
         "-ldl"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return lib


@modes
def test_full_disk_is_a_write_error(case: Path, mode: str, fsync_shim: Path) -> None:
    env = {"LD_PRELOAD": str(fsync_shim), "NOMA_TEST_FSYNC": "ENOSPC"}
    proc = RUNNERS[mode](case, "--arg", "X=x.csv", env=env)
    assert_failed_write(case, proc, "No space left on device")


@modes
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_write_keeps_the_old_file(
    case: Path, mode: str, signum: signal.Signals, fsync_shim: Path
) -> None:
    """The signal abandons the write (temporary removed, target kept), then
    ends the process as it would have: killed by it."""
    env = {"LD_PRELOAD": str(fsync_shim), "NOMA_TEST_FSYNC": signum.name}
    proc = RUNNERS[mode](case, "--arg", "X=x.csv", env=env)
    assert proc.returncode == -signum, (proc.returncode, proc.stderr)
    assert_untouched(case)


@modes
def test_writes_without_faults(case: Path, mode: str) -> None:
    """The control: the same run, undisturbed, replaces both files."""
    proc = RUNNERS[mode](case, "--arg", "X=x.csv")
    assert proc.returncode == 0, proc.stderr
    x = np.loadtxt(case / "x.csv", delimiter=",")
    np.testing.assert_array_equal(np.loadtxt(case / "out.csv", delimiter=","), x)
    np.testing.assert_array_equal(load_file(str(case / "out.safetensors"))["X"], x)
    lines = proc.stdout.splitlines()
    assert float(lines[0]) == pytest.approx(x.sum()) and float(lines[-1]) == 2 * float(lines[0])


# --------------------------------------------------------------------------
# build-exe and the runtime build, stopped by a signal
# --------------------------------------------------------------------------

SLOW_CC = """#!/bin/sh
# A C compiler that has started (the temporaries exist) and takes forever.
: > "$NOMA_TEST_CC_STARTED"
exec sleep 600
"""


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    """Until `path` exists (or the process ended, which the caller reports)."""
    deadline = time.monotonic() + TIMEOUT
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def _stopped_command(tmp_path: Path, args: list[str], signum: signal.Signals,
                     extra_env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Runs `noma ARGS` with the slow $CC and a private TMPDIR; once the
    compiler has started, sends `signum`."""
    cc = tmp_path / "slow-cc"
    cc.write_text(SLOW_CC)
    cc.chmod(0o755)
    started = tmp_path / "cc-started"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = _env({"CC": str(cc), "NOMA_TEST_CC_STARTED": str(started), "TMPDIR": str(scratch),
                **extra_env})  # fmt: skip
    with subprocess.Popen(
        [sys.executable, "-m", "noma.tools.noma_cli", *args], cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        _wait_for(started, proc)
        assert started.exists(), proc.communicate()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=TIMEOUT)
    assert list(scratch.iterdir()) == []
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_build_exe_stopped_by_a_signal_cleans_up(tmp_path: Path, signum: signal.Signals) -> None:
    (tmp_path / "p.noma").write_text("fn main() { return 1; }\n")
    (tmp_path / "prog").write_bytes(b"the old executable")
    proc = _stopped_command(tmp_path, ["build-exe", "p.noma", "-o", "prog"], signum, {})
    assert proc.returncode == -signum, proc.stderr
    assert (tmp_path / "prog").read_bytes() == b"the old executable"
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"p.noma", "prog", "slow-cc", "cc-started", "scratch"}


def test_runtime_build_stopped_by_sigterm_cleans_up(tmp_path: Path) -> None:
    (tmp_path / "p.noma").write_text("fn main() { return 1; }\n")
    cache = tmp_path / "cache"
    proc = _stopped_command(
        tmp_path, ["run", "p.noma"], signal.SIGTERM, {"NOMA_CACHE_DIR": str(cache)}
    )
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert list(cache.iterdir()) == []


# --------------------------------------------------------------------------
# Standard output that cannot be written
# --------------------------------------------------------------------------


@modes
def test_stdout_on_a_full_disk_is_an_error(case: Path, mode: str) -> None:
    with open("/dev/full", "w") as full:
        proc = RUNNERS[mode](case, "--arg", "X=x.csv", stdout=full.fileno())
    assert proc.returncode == 1
    assert proc.stderr == (
        "runtime error: cannot write to standard output: No space left on device\n"
    )


def _close_stdout() -> None:
    os.close(1)


@modes
def test_closed_stdout_is_an_error_and_pollutes_no_file(case: Path, mode: str) -> None:
    """`prog >&-`: the writes fail (EBADF) and are reported; fd 1 is not
    reused by a file the program opens, so the saved files hold only data."""
    proc = RUNNERS[mode](case, "--arg", "X=x.csv", stdout=None, preexec_fn=_close_stdout)
    assert proc.returncode == 1
    assert proc.stderr == "runtime error: cannot write to standard output: Bad file descriptor\n"
    x = np.loadtxt(case / "x.csv", delimiter=",")
    np.testing.assert_array_equal(np.loadtxt(case / "out.csv", delimiter=","), x)


def test_python_output_on_a_full_disk_is_an_error(case: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = noma_cli("emit", "p.noma", cwd=case, stdout=full.fileno())
    assert proc.returncode == 1
    assert proc.stderr == "noma: error: cannot write to standard output: No space left on device\n"


# --------------------------------------------------------------------------
# The runtime library comes only from a cache nobody else can write to
# --------------------------------------------------------------------------

PLANTED = r"""
#include <stdio.h>
/* Runs when the library is loaded: proof that a planted file was used. */
__attribute__((constructor)) static void planted(void)
{
    FILE *f = fopen("PLANTED_MARKER", "w");
    if (f != NULL)
        fclose(f);
}
"""


def _plant_runtime(directory: Path, mode: int) -> Path:
    """A library under the runtime's cache name in `directory` (then given
    `mode`), whose constructor creates the file PLANTED_MARKER."""
    directory.mkdir(parents=True, exist_ok=True)
    compiler = find_c_compiler()
    flags = build.RUNTIME_CFLAGS + build._SHARED_FLAGS
    key = build._cache_key(compiler, flags + build._LINK_LIBS)
    target = directory / f"{build._LIB_STEM}-{key}{build._shared_library_suffix()}"
    src = directory.parent / "planted.c"
    src.write_text(PLANTED)
    proc = subprocess.run(
        [*compiler, "-shared", "-fPIC", "-o", str(target), str(src)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    directory.chmod(mode)
    return target


@pytest.mark.parametrize("mode", [0o777, 0o775], ids=["world-writable", "group-writable"])
def test_planted_runtime_in_an_open_cache_is_not_loaded(tmp_path: Path, mode: int) -> None:
    cache = tmp_path / "cache"
    planted = _plant_runtime(cache, mode)
    (tmp_path / "p.noma").write_text("fn main() { return 6 * 7; }\n")
    proc = noma_cli("run", "p.noma", cwd=tmp_path, env={"NOMA_CACHE_DIR": str(cache)})
    assert (proc.returncode, proc.stdout) == (0, "42.0\n"), proc.stderr
    assert not (tmp_path / "PLANTED_MARKER").exists()
    assert proc.stderr == (
        f"noma: warning: not using the cache directory {cache}: it is writable by others; "
        "building the runtime in a private directory instead\n"
    )
    assert planted.is_file()  # left alone: not ours to delete


def test_cache_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """New cache directories are 0700; a loosened library in a trusted cache
    is rebuilt rather than used; a symbolic link is never trusted."""
    monkeypatch.setattr(build, "_private_cache", None)
    fresh = tmp_path / "new" / "cache"
    monkeypatch.setenv("NOMA_CACHE_DIR", str(fresh))
    library = build.build_runtime_library()
    assert library.parent == fresh
    assert stat.S_IMODE(os.lstat(fresh).st_mode) == 0o700

    own = tmp_path / "own"
    planted = _plant_runtime(own, 0o700)
    planted.chmod(0o666)
    planted_bytes = planted.read_bytes()
    monkeypatch.setenv("NOMA_CACHE_DIR", str(own))
    assert build.untrusted_reason(planted, directory=False) == "it is writable by others"
    assert build.build_runtime_library() == planted
    assert planted.read_bytes() != planted_bytes
    assert build.untrusted_reason(planted, directory=False) is None

    link = tmp_path / "link"
    link.symlink_to(own, target_is_directory=True)
    assert build.untrusted_reason(link, directory=True) == "it is a symbolic link"
    monkeypatch.setenv("NOMA_CACHE_DIR", str(link))
    assert build.trusted_cache_dir() != link


# --------------------------------------------------------------------------
# --arg and --seed: the same in both modes
# --------------------------------------------------------------------------


def _both(case: Path, *args: str, input: str | None = None) -> tuple[object, object]:
    jit = run_jit(case, *args, input=input)
    exe = run_exe(case, *args, input=input)
    return (jit.returncode, jit.stdout, jit.stderr), (exe.returncode, exe.stdout, exe.stderr)


def test_arg_for_a_parameter_main_does_not_take(case: Path) -> None:
    jit, exe = _both(case, "--arg", "X=x.csv", "--arg", "Z=x.csv")
    assert jit == exe == (
        1, "",
        "p.noma:1:1: error: main has no parameter named 'Z'; it takes X\n"
        "    fn main(X) {\n    ^\n",
    )  # fmt: skip


def test_named_tensor_missing_from_a_one_tensor_file(case: Path) -> None:
    save_file({"A": np.ones((2, 2))}, str(case / "w.safetensors"))
    jit, exe = _both(case, "--arg", "X=w.safetensors:nope")
    assert jit == exe == (
        1, "", "p.noma:1:9: runtime error: w.safetensors has no tensor 'nope' (it has: A)\n"
    )  # fmt: skip
    # Without a name, the file's only tensor is the one.
    jit, exe = _both(case, "--arg", "X=w.safetensors")
    assert jit == exe and jit[0] == 0  # type: ignore[index]


SEED_REFUSED = "'{}' is not an integer from -2^63 to 2^64 - 1 (decimal or 0x hexadecimal)"
SEEDS_REFUSED = ["18446744073709551616", "-9223372036854775809", "0x10000000000000000",
                 "0x0x5", " 5", "1_000", "", "+", "0x", "1e3"]  # fmt: skip
SEEDS = {"-9223372036854775808": -(2**63), "18446744073709551615": 2**64 - 1, "-1": -1,
         "0xFFFFFFFFFFFFFFFF": 2**64 - 1, "+0x2a": 42, "42": 42, "-0x10": -16}  # fmt: skip


def test_seed_range_is_the_same_in_both(case: Path) -> None:
    """`noma run` and executables take the integers in [-2^63, 2^64),
    decimal or 0x hexadecimal (2^64 was accepted by one and not the other),
    and refuse the rest with the same words, as a usage error (status 2)."""
    for text, value in SEEDS.items():
        assert parse_seed(text) == value
    for text in SEEDS_REFUSED:
        with pytest.raises(typer.BadParameter) as refused:
            parse_seed(text)
        assert refused.value.message == SEED_REFUSED.format(text)
        exe = run_exe(case, "--arg", "X=x.csv", "--seed", text)
        assert exe.returncode == 2 and exe.stdout == ""
        assert f"prog: error: invalid value for --seed: {SEED_REFUSED.format(text)}\n" in exe.stderr
    jit = run_jit(case, "--arg", "X=x.csv", "--seed", "18446744073709551616")
    assert jit.returncode == 2 and jit.stdout == ""
    # typer frames the message and wraps it: compare the words.
    framed = " ".join(w for w in jit.stderr.split() if w not in "│╭╮╰╯─")
    assert f"Invalid value for '--seed': {SEED_REFUSED.format('18446744073709551616')}" in framed
    assert_untouched(case)


def test_seeds_in_range_give_the_same_numbers_in_both(case: Path) -> None:
    """Each seed's bits: -1 and 2^64 - 1 are one seed; the ends of the range
    work in both modes."""
    draws = {}
    for text in SEEDS:
        exe = run_exe(case, "--arg", "X=x.csv", "--seed", text)
        assert exe.returncode == 0, exe.stderr
        draws[text] = exe.stdout
    assert draws["-1"] == draws["18446744073709551615"] == draws["0xFFFFFFFFFFFFFFFF"]
    assert draws["+0x2a"] == draws["42"] != draws["-1"]
    for text in ("-9223372036854775808", "18446744073709551615"):
        jit = run_jit(case, "--arg", "X=x.csv", "--seed", text)
        assert (jit.returncode, jit.stdout) == (0, draws[text]), jit.stderr


# --------------------------------------------------------------------------
# Braces in the file name; streams
# --------------------------------------------------------------------------


def test_braces_in_the_file_name_are_not_placeholders(tmp_path: Path) -> None:
    name = "p{0}{1}.noma"
    (tmp_path / name).write_text(
        "fn main() {\n  let t = tensor [1, 2];\n  let i = sum(tensor [5.0]);\n  return t[i];\n}\n"
    )
    expected = (
        f"{name}:4:11: runtime error: index 5 is out of bounds for a dimension of size 2\n"
    )
    jit = noma_cli("run", name, cwd=tmp_path)
    assert (jit.returncode, jit.stderr) == (1, expected)
    built = noma_cli("build-exe", name, "-o", "braces", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    exe = subprocess.run([str(tmp_path / "braces")], capture_output=True, text=True,
                         timeout=TIMEOUT, check=False)  # fmt: skip
    assert (exe.returncode, exe.stderr) == (1, expected)


def test_arg_from_a_pipe(case: Path) -> None:
    """`cat x.csv | noma run p.noma --arg X=/dev/stdin`, and the same for
    the executable: the CSV is read as a stream."""
    text = (case / "x.csv").read_text()
    jit, exe = _both(case, "--arg", "X=/dev/stdin", input=text)
    assert jit == exe and jit[0] == 0, (jit, exe)  # type: ignore[index]
    x = np.loadtxt(case / "x.csv", delimiter=",")
    assert float(jit[1].splitlines()[0]) == pytest.approx(x.sum())  # type: ignore[index]
