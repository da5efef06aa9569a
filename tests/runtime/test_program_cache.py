"""The compile cache (noma/runtime/program_cache.py), in this process: a
program compiled once runs again without compiling, with the same output,
warnings and run-time errors; what is not the same program is not the same
entry; a damaged or untrusted entry is never loaded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from noma import compiler
from noma.compiler import Program, ProgramError
from noma.runtime import build, jit, program_cache

WARNED = """\
fn relu(x) { return x * 2; }
fn main() {
    print(relu(3));
    return relu(4) + rand();
}
"""
"""A compile-time warning (relu hides the built-in), output, and a result
that depends on the seed."""

WARNING = (
    "p.noma:1:4: warning: function `relu` hides the built-in of the same name\n"
    "    fn relu(x) { return x * 2; }\n"
    "       ^\n"
)

FAILING = """\
fn main() {
    let t = [1.0, 2.0];
    let i = 2;
    print(1);
    return t[i];
}
"""
RUNTIME_ERROR = "p.noma:5:13: runtime error: index 2 is out of bounds for a dimension of size 2\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory for the test (created by the first use). The
    runtime library stays the one this process loaded first: compiled code
    resolves its calls to that copy, so invoking through another copy
    would not catch its run-time errors."""
    library = jit.build_runtime_library()
    monkeypatch.setattr(jit, "build_runtime_library", lambda *, force=False: library)
    directory = tmp_path / "cache"
    monkeypatch.setenv("NOMA_CACHE_DIR", str(directory))
    monkeypatch.delenv("NOMA_NO_CACHE", raising=False)
    monkeypatch.setattr(build, "_private_cache", None)
    return directory


def _program(tmp_path: Path, source: str, name: str = "p.noma") -> Program:
    """`noma.compile` of `source` written to `name`, with cwd there so the
    file name in messages is `name`."""
    (tmp_path / name).write_text(source)
    return compiler.compile(name)


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on any use of the compiler's stages fails the test."""

    def refuse(self: Program, stage: str = "noma") -> None:
        raise AssertionError(f"compiled stage {stage!r} on a cache hit")

    monkeypatch.setattr(Program, "ir", refuse)


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "programs").glob("*.nomaprog"))


def test_hit_runs_without_compiling(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    first = _program(tmp_path, WARNED).run(seed=1)
    miss = capfd.readouterr()
    assert (miss.out, miss.err) == ("6.0\n", WARNING)
    assert len(_entries(cache)) == 1
    assert stat.S_IMODE(os.lstat(cache / "programs").st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(_entries(cache)[0]).st_mode) == 0o600

    _no_compiling(monkeypatch)
    again = _program(tmp_path, WARNED).run(seed=1)
    hit = capfd.readouterr()
    assert again == first
    assert (hit.out, hit.err) == (miss.out, miss.err)  # the warning is printed again


def test_hit_reports_runtime_errors_at_their_location(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for compiling in (True, False):
        if not compiling:
            _no_compiling(monkeypatch)
        with pytest.raises(ProgramError):
            _program(tmp_path, FAILING).run()
        outcome = capfd.readouterr()
        assert (outcome.out, outcome.err) == ("1.0\n", RUNTIME_ERROR)


def test_tensor_result_from_the_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = "fn main() { return [[1.0, 2.0], [3.0, 4.0]] * 3; }\n"
    expected = np.array([[3.0, 6.0], [9.0, 12.0]])
    np.testing.assert_array_equal(_program(tmp_path, source).run(), expected)
    _no_compiling(monkeypatch)
    np.testing.assert_array_equal(_program(tmp_path, source).run(), expected)


def test_seed_is_not_in_the_key(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    one = _program(tmp_path, WARNED).run(seed=1)
    _no_compiling(monkeypatch)
    two = _program(tmp_path, WARNED).run(seed=2)
    assert one != two  # rand() drew from another stream: the seed is read at run time
    assert len(_entries(cache)) == 1


def test_what_changes_the_code_changes_the_key(cache: Path) -> None:
    def key(source: str = "fn main() { return 1; }", filename: str = "p.noma", **ranks: int) -> str:
        return program_cache.program_key(source, filename, ranks, "target")

    keys = {
        key(),
        key(source="fn main() { return 2; }"),
        key(filename="q.noma"),  # run-time errors name the file
        key(x=1),
        key(x=2),
        program_cache.program_key("fn main() { return 1; }", "p.noma", {}, "another target"),
        program_cache.program_key("fn main() { return 1; }", "p.noma", {}, "target", "exe"),
    }
    assert len(keys) == 7
    assert key() == key()


def test_different_file_name_is_another_entry(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramError):
        _program(tmp_path, FAILING).run()
    with pytest.raises(ProgramError):
        _program(tmp_path, FAILING, "q.noma").run()
    assert capfd.readouterr().err == RUNTIME_ERROR + RUNTIME_ERROR.replace("p.noma", "q.noma")
    assert len(_entries(cache)) == 2


def _corrupt_truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _corrupt_flipped(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _corrupt_magic(path: Path) -> None:
    path.write_bytes(b"X" + path.read_bytes()[1:])


def _corrupt_mode(path: Path) -> None:
    path.chmod(0o620)


def _corrupt_symlink(path: Path) -> None:
    """The entry is replaced by a link to a copy of it (valid bytes, but
    not a file of ours in our directory)."""
    elsewhere = path.parent.parent / "elsewhere.nomaprog"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)


@pytest.mark.parametrize(
    "corrupt",
    [_corrupt_truncated, _corrupt_flipped, _corrupt_magic, _corrupt_mode, _corrupt_symlink],
    ids=["truncated", "flipped-byte", "wrong-magic", "group-writable", "symlink"],
)
def test_damaged_entry_is_rebuilt_not_loaded(
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    corrupt: object,
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = _program(tmp_path, WARNED).run(seed=3)
    capfd.readouterr()
    (entry,) = _entries(cache)
    corrupt(entry)  # type: ignore[operator]
    key = entry.name.removesuffix(program_cache.ENTRY_SUFFIX)
    assert program_cache.load(key) is None

    stages: list[str] = []
    real_ir = Program.ir

    def counting_ir(self: Program, stage: str = "noma") -> object:
        stages.append(stage)
        return real_ir(self, stage)

    monkeypatch.setattr(Program, "ir", counting_ir)
    assert _program(tmp_path, WARNED).run(seed=3) == expected
    assert stages  # compiled again
    assert capfd.readouterr() == ("6.0\n", WARNING)
    # ...and replaced by a valid entry of ours.
    assert not entry.is_symlink()
    assert build.untrusted_reason(entry, directory=False) is None
    assert program_cache.load(key) is not None


def test_entry_bytes_are_checked() -> None:
    entry = program_cache.CachedProgram(
        object_code=b"\x7fELF...",
        packed_entry="_noma_packed_fn.main",
        result="tensor",
        result_rank=2,
        parameters=("x", "y"),
        main_line=3,
        main_col=1,
        main_where="p.noma:3:1: ",
        main_excerpt="\n    fn main(x, y) {\n    ^",
        warnings=("a warning",),
    )
    data = program_cache.encode_entry(entry)
    assert program_cache.decode_entry(data) == entry
    for damaged in (data[:-1], data + b"\0", data[:10], b""):
        with pytest.raises(program_cache.CacheEntryError):
            program_cache.decode_entry(damaged)


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_cache_off_writes_nothing(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.noma").write_text("fn main() { return 6 * 7; }\n")
    if how == "environment":
        monkeypatch.setenv("NOMA_NO_CACHE", "1")
    program = compiler.compile("p.noma", cache=how != "argument")
    assert program.run() == 42.0
    assert not (cache / "programs").exists()


def test_ir_of_a_program_from_the_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The IR is computed on demand for a program whose code came from the
    cache."""
    monkeypatch.chdir(tmp_path)
    source = "fn main() { return 6 * 7; }\n"
    assert _program(tmp_path, source).run() == 42.0
    program = _program(tmp_path, source)
    assert program.run() == 42.0
    assert "_stages" in vars(program) and not program._stages  # nothing compiled
    assert "func.func" in str(program.ir("loops"))


def test_untrusted_cache_directory_is_not_used(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A cache directory others can write to: a warning, and the entries go
    to a private directory instead."""
    monkeypatch.chdir(tmp_path)
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    (tmp_path / "p.noma").write_text("fn main() { return 6 * 7; }\n")
    assert compiler.compile("p.noma").run() == 42.0
    assert "noma: warning: not using the cache directory" in capfd.readouterr().err
    assert list(cache.iterdir()) == []
    assert program_cache.programs_dir().parent == build._private_cache


def test_executable_reuses_the_programs_object(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second build of the same program at the same level links the
    cached object: LLVM is not run; another level is another entry."""
    import subprocess

    from noma.executable import build_executable

    monkeypatch.chdir(tmp_path)
    build_executable(_program(tmp_path, WARNED), tmp_path / "first")
    assert len(_entries(cache)) == 1

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("compiled the program again")

    monkeypatch.setattr(jit, "compile_to_object", refuse)
    build_executable(_program(tmp_path, WARNED), tmp_path / "second")
    runs = [
        subprocess.run([str(tmp_path / name)], capture_output=True, text=True, check=False)
        for name in ("first", "second")
    ]
    assert runs[0].returncode == 0 and runs[0].stdout.startswith("6.0\n")
    assert (runs[0].stdout, runs[0].stderr) == (runs[1].stdout, runs[1].stderr)
    with pytest.raises(AssertionError, match="compiled the program again"):
        build_executable(_program(tmp_path, WARNED), tmp_path / "third", opt_level=1)
