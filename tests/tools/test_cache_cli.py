"""The compile cache from the command line: `noma run` (with and without
`--no-cache`), concurrent runs, `noma cache [--clear]`, and `build-exe`
reusing the runtime's objects."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # processes; see README.md, "Testing"


PROGRAM = """\
fn relu(x) { return x * 2; }
fn main() {
    print(relu(3));
    return relu(4) + rand();
}
"""


def _env(cache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOMA_NO_CACHE", "CC")}
    return {**env, "NOMA_CACHE_DIR": str(cache), **(extra or {})}


def _noma(
    cwd: Path, cache: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noma.tools.noma_cli", *args], cwd=cwd, env=_env(cache, env),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip


def _start(cwd: Path, cache: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "noma.tools.noma_cli", *args], cwd=cwd, env=_env(cache),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "programs").glob("*.nomaprog"))


@pytest.fixture
def program(tmp_path: Path) -> Path:
    (tmp_path / "p.noma").write_text(PROGRAM)
    return tmp_path / "p.noma"


def test_concurrent_runs_on_an_empty_cache(tmp_path: Path, program: Path) -> None:
    """Two processes compile the same program at once, each writing the
    entry (and the runtime) atomically: both succeed, one valid entry stays,
    and a third run takes it."""
    cache = tmp_path / "cache"
    runs = [_start(tmp_path, cache, "run", "p.noma", "--seed", "5") for _ in range(2)]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    assert outcomes[0] == outcomes[1]
    status, out, err = outcomes[0]
    assert status == 0, err
    assert out.startswith("6.0\n")
    assert len(_entries(cache)) == 1
    assert [p.name for p in (cache / "programs").iterdir()] == [_entries(cache)[0].name]
    assert (
        _noma(tmp_path, cache, "run", "p.noma", "--seed", "5").stdout,
        _noma(tmp_path, cache, "run", "p.noma", "--seed", "5").stderr,
    ) == (out, err)


def test_no_cache_writes_nothing(tmp_path: Path, program: Path) -> None:
    cache = tmp_path / "cache"
    proc = _noma(tmp_path, cache, "run", "p.noma", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert not (cache / "programs").exists()
    proc = _noma(tmp_path, cache, "run", "p.noma", env={"NOMA_NO_CACHE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert not (cache / "programs").exists()


def test_cache_info_and_clear(tmp_path: Path, program: Path) -> None:
    cache = tmp_path / "cache"
    assert _noma(tmp_path, cache, "run", "p.noma").returncode == 0
    mine = cache / "notes.txt"  # not NOMA's: left alone
    mine.write_text("keep me")
    info = _noma(tmp_path, cache, "cache")
    assert info.returncode == 0, info.stderr
    lines = info.stdout.splitlines()
    assert lines[0] == f"directory: {cache}"
    assert lines[1].startswith("compiled programs: 1 (")
    assert lines[2].startswith("runtime files: 1 (")

    cleared = _noma(tmp_path, cache, "cache", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.startswith("removed 1 compiled programs and 1 runtime files (")
    assert _entries(cache) == []
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt", "programs"]
    assert "compiled programs: 0 (0 bytes)" in _noma(tmp_path, cache, "cache", "--info").stdout


LOGGING_CC = """#!/bin/sh
echo "$@" >> "$NOMA_TEST_CC_LOG"
exec cc "$@"
"""


def test_build_exe_reuses_runtime_objects(tmp_path: Path, program: Path) -> None:
    """The second build only links: the C compiler is run once, on no C file."""
    cache = tmp_path / "cache"
    cc = tmp_path / "logging-cc"
    cc.write_text(LOGGING_CC)
    cc.chmod(0o755)
    log = tmp_path / "cc.log"
    env = {"CC": str(cc), "NOMA_TEST_CC_LOG": str(log)}
    first = _noma(tmp_path, cache, "build-exe", "p.noma", "-o", "prog", env=env)
    assert first.returncode == 0, first.stderr
    calls = log.read_text().splitlines()
    assert sum(".c " in call + " " for call in calls) >= 2  # the runtime's files were compiled
    log.write_text("")
    second = _noma(tmp_path, cache, "build-exe", "p.noma", "-o", "prog2", env=env)
    assert second.returncode == 0, second.stderr
    (link,) = log.read_text().splitlines()
    assert ".c " not in link + " " and " -c " not in f" {link} "
    runs = [subprocess.run([str(tmp_path / exe)], capture_output=True, text=True, check=False)
            for exe in ("prog", "prog2")]  # fmt: skip
    assert runs[0].returncode == 0 and runs[0].stdout == runs[1].stdout
    assert runs[0].stdout == _noma(tmp_path, cache, "run", "p.noma").stdout


def test_plain_run_takes_what_typer_takes(tmp_path: Path, program: Path) -> None:
    """`noma run` lines handled without typer give what typer gives: the
    seed in any position, hexadecimal, the last one winning."""
    cache = tmp_path / "cache"
    by_typer = _noma(tmp_path, cache, "run", "p.noma", "--seed", "17", "--no-cache")
    assert by_typer.returncode == 0, by_typer.stderr
    for args in (["--seed", "0x11", "p.noma"], ["p.noma", "--seed", "3", "--seed", "+17"]):
        proc = _noma(tmp_path, cache, "run", *args)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, by_typer.stdout, by_typer.stderr)
    bad = _noma(tmp_path, cache, "run", "p.noma", "--seed", "x")
    assert bad.returncode == 2 and "'x' is not an integer" in bad.stderr


HIT_MODULES = """
import sys
sys.argv = ["noma", "run", "p.noma"]
from noma.tools.noma_cli import main
main()
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_on_a_hit(tmp_path: Path, program: Path) -> set[str]:
    cache = tmp_path / "cache"
    assert _noma(tmp_path, cache, "run", "p.noma").returncode == 0  # the miss
    proc = subprocess.run(
        [sys.executable, "-c", HIT_MODULES], cwd=tmp_path, env=_env(cache),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return set(proc.stderr.splitlines()[-1].split())


def _heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes))


def test_hit_imports_no_compiler(tmp_path: Path, program: Path) -> None:
    """A cached `noma run` imports neither typer (nor pydantic), nor numpy
    for a scalar result, nor the pipeline, passes, lowering, dialects or the
    frontend's parser and IR generation."""
    modules = _modules_on_a_hit(tmp_path, program)
    heavy = (
        "typer", "pydantic", "numpy", "noma.pipeline", "noma.passes", "noma.lowering",
        "noma.dialects", "noma.frontend.parser", "noma.frontend.irgen", "xdsl.dialects.func",
    )  # fmt: skip
    assert _heavy(modules, heavy) == []


def test_hit_imports_no_xdsl(tmp_path: Path, program: Path) -> None:
    """Of xDSL only the module of exception classes NOMA's diagnostics type
    derives from; of the frontend, only reading the source file."""
    modules = _modules_on_a_hit(tmp_path, program)
    assert set(_heavy(modules, ("xdsl",))) <= {"xdsl", "xdsl.utils", "xdsl.utils.exceptions"}
    reading = {"noma.frontend", "noma.frontend.source", "noma.frontend.diagnostics"}
    assert set(_heavy(modules, ("noma.frontend",))) <= reading
