"""`noma build-exe`: standalone executables behave exactly like `noma run`.

A representative set is built once (module fixture, from the session's one
compile of each program, see tests/support/in_process.py): a scalar result,
tensor results, file I/O, growth with the seeded generator, a run-time
error, no result, and each `-O` level once (-O1 in the umask test). Each
executable runs with an EMPTY environment and stdin from /dev/null; its
stdout, stderr and exit status must be the example's checked-in `.out` and
`.err` (what `noma run` prints, tests/examples/test_examples.py), or for
the other programs those of `noma run` on the same file (run in-process).
Every example's output as a JIT run is checked in test_examples.py. Then
the driver's command line, the build's failure modes (compile errors,
failed links, no C compiler: nothing written, nothing clobbered) and what
the executable links against.

The build-exe failure modes run the CLI as `python -m noma.tools.noma_cli`
with this tree first on PYTHONPATH, so the code under test is this checkout
even when the `noma` script on PATH belongs to another install.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import noma
from in_process import compiled, noma_in_process
from noma.executable import build_executable
from noma.frontend.diagnostics import NomaError
from noma.runtime.build import find_c_compiler, runtime_include_dir

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))
BUILT_EXAMPLES = [
    "minimize_square",  # a scalar result
    "tensor_basics",  # a rank-2 tensor result
    "csv_linear_regression",  # reads a CSV file at run time
    "self_growing_xor",  # growth with the seeded generator, a warning on stderr
]
TIMEOUT = 600

# The default init of `realloc` draws normal(0, 0.3) from the seeded generator.
GROW_BY_DEFAULT = "fn main() { learn W = tensor [1.0]; realloc W = [6]; return W; }\n"
RUNTIME_ERROR = (
    "fn main() {\n  learn W = tensor [1, 2];\n  let n = sum(tensor [3.0]);\n"
    "  print(n);\n  realloc W = [n];\n  return W + tensor [1, 2];\n}\n"
)
PROGRAMS = {
    "no_result": 'fn main() { print("no result"); print(tensor [1, 2]); }\n',
    "rank3": "fn main() { return tensor [[[1, 2], [3, 4.5]], [[5, 6], [7, -8]]] * 0.1; }\n",
    "row": "fn main() { let t = tensor [[1, 2, 3], [4, 5, 6]]; return t[1] / 3; }\n",
    "grow": GROW_BY_DEFAULT,
    "runtime_error": RUNTIME_ERROR,
}
# Other optimisation levels, on a training example (same bits expected).
OPT_LEVELS = {"xor_O0": ("xor_2_16_1", 0), "xor_O3": ("xor_2_16_1", 3)}


def cli(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`noma ARGS`, this checkout's, with stdin from /dev/null."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "noma.tools.noma_cli", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=TIMEOUT, check=False,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )  # fmt: skip


def noma_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`noma run ARGS` in `cwd`, the real command run in this process."""
    return noma_in_process("run", *args, cwd=cwd, share_compile=True)


def run_exe(exe: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The executable with an empty environment: it needs nothing from it."""
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env={}, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=TIMEOUT, check=False,
    )  # fmt: skip


def outcome(proc: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return proc.returncode, proc.stdout, proc.stderr


@dataclass(frozen=True)
class Case:
    """One program to build: `source` as given to the CLI, relative to `cwd`
    (the executable's messages name the file as it was given)."""

    source: str
    cwd: Path
    exe: Path
    opt_level: int = 2


@dataclass(frozen=True)
class Built:
    case: Case

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_exe(self.case.exe, *args, cwd=self.case.cwd)

    @property
    def reference(self) -> subprocess.CompletedProcess[str]:
        """`noma run` on the same file (in-process, on the same compile)."""
        return noma_run(self.case.source, cwd=self.case.cwd)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The representative examples and the programs of this file, each built
    once from the session's compile of it."""
    exes = tmp_path_factory.mktemp("exes")
    sources = tmp_path_factory.mktemp("programs")
    cases = {name: Case(f"examples/{name}.noma", ROOT, exes / name) for name in BUILT_EXAMPLES}
    for name, text in PROGRAMS.items():
        (sources / f"{name}.noma").write_text(text)
        cases[name] = Case(f"{name}.noma", sources, exes / name)
    for name, (example, level) in OPT_LEVELS.items():
        cases[name] = Case(f"examples/{example}.noma", ROOT, exes / name, level)
    for case in cases.values():
        with chdir(case.cwd):  # as `noma build-exe` runs there (the excerpts read the source)
            build_executable(compiled(case.source, case.cwd), case.exe, case.opt_level)
    return {name: Built(case) for name, case in cases.items()}


@pytest.mark.slow
def test_build_exe_command_prints_nothing_and_builds(tmp_path: Path) -> None:
    """The command itself (the fixture calls build_executable): quiet on
    success, and the executable it writes runs."""
    (tmp_path / "p.noma").write_text(PROGRAMS["rank3"])
    proc = noma_in_process("build-exe", "p.noma", "-o", "p", cwd=tmp_path, share_compile=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert outcome(run_exe(tmp_path / "p", cwd=tmp_path)) == outcome(
        noma_run("p.noma", cwd=tmp_path)
    )


# -- the same output as `noma run` -----------------------------------------------


def expected(example: Path) -> tuple[int, str, str]:
    """What `noma run` prints for an example (checked in test_examples.py)."""
    err = example.with_suffix(".err")
    return 0, example.with_suffix(".out").read_text(), err.read_text() if err.exists() else ""


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILT_EXAMPLES)
def test_example_executable_prints_the_expected_output(built: dict[str, Built], name: str) -> None:
    assert outcome(built[name].run()) == expected(ROOT / "examples" / f"{name}.noma")


@pytest.mark.slow
@pytest.mark.parametrize("name", [*PROGRAMS])
def test_program_executable_prints_what_noma_run_prints(built: dict[str, Built], name: str) -> None:
    b = built[name]
    assert outcome(b.run()) == outcome(b.reference)


@pytest.mark.slow
def test_results_of_every_kind(built: dict[str, Built]) -> None:
    assert built["no_result"].run().stdout == "no result\n[1.0, 2.0]\n"
    assert built["row"].run().stdout == "[1.3333333333333333, 1.6666666666666667, 2.0]\n"
    rank3 = built["rank3"].run().stdout
    assert rank3.startswith("[[[0.1, 0.2], [0.30000000000000004, 0.45]], [[0.5, ")


@pytest.mark.slow
def test_run_time_error_is_located_and_exits_1(built: dict[str, Built]) -> None:
    proc = built["runtime_error"].run()
    assert proc.returncode == 1
    assert proc.stdout == "3.0\n"  # what was printed before the error, and no result
    assert proc.stderr == (
        "runtime_error.noma:6:12: runtime error: operands of shapes [3] and [2] do not broadcast\n"
    )


@pytest.mark.slow
def test_optimisation_levels_give_the_same_bits(built: dict[str, Built]) -> None:
    for name, (example, _) in OPT_LEVELS.items():
        assert outcome(built[name].run()) == expected(ROOT / "examples" / f"{example}.noma"), name


@pytest.mark.slow
def test_seed_gives_the_same_numbers_as_noma_run(built: dict[str, Built]) -> None:
    grow = built["grow"]
    reference = noma_run("--seed", "7", grow.case.source, cwd=grow.case.cwd)
    assert reference.returncode == 0, reference.stderr
    assert reference.stdout != grow.reference.stdout  # the seed matters
    for spelling in (["--seed", "7"], ["--seed=7"], ["--seed", "0x7"], ["--seed", "+7"]):
        assert outcome(grow.run(*spelling)) == outcome(reference), spelling
    # Negative seeds are taken modulo 2**64 in both.
    assert grow.run("--seed", "-1").stdout == grow.run("--seed", "0xFFFFFFFFFFFFFFFF").stdout
    assert grow.run("--seed", "0x4E4F4D41").stdout == grow.reference.stdout


# -- the executable's command line ------------------------------------------------


@pytest.mark.slow
def test_help(built: dict[str, Built]) -> None:
    for flag in ("--help", "-h"):
        proc = built["grow"].run(flag)
        assert proc.returncode == 0 and proc.stderr == ""
        assert proc.stdout.startswith("usage: grow [--seed N] [--arg NAME=FILE]... [--progress]\n")
        assert "--seed N" in proc.stdout and "exit status" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unknown option '--bogus'"),
        (["-x"], "unknown option '-x'"),
        (["extra"], "unexpected argument 'extra'"),
        (["--seed"], "option --seed needs a value"),
        (["--seed", "abc"], "invalid value for --seed: 'abc'"),
        (["--seed", "0x"], "invalid value for --seed: '0x'"),
        (["--seed", "12x"], "invalid value for --seed: '12x'"),
        (["--seed", " 1"], "invalid value for --seed: ' 1'"),
        (["--seed", ""], "invalid value for --seed: ''"),
        (["--seed", "18446744073709551616"], "invalid value for --seed: '18446744073709551616'"),
        (["--arg"], "option --arg needs a value NAME=FILE"),
        (["--arg", "X"], "--arg expects NAME=FILE, got 'X'"),
        (["--arg", "=data.csv"], "--arg expects NAME=FILE, got '=data.csv'"),
        (["--seed", "1", "--nope"], "unknown option '--nope'"),
    ],
)
def test_bad_command_line_is_a_usage_error(
    built: dict[str, Built], args: list[str], message: str
) -> None:
    proc = built["grow"].run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""  # nothing ran
    usage, error, end = proc.stderr.split("\n")
    assert usage == "usage: grow [--seed N] [--arg NAME=FILE]... [--progress]"
    assert error.startswith(f"grow: error: {message}")
    assert end == ""


@pytest.mark.slow
def test_args_for_a_program_without_parameters_are_refused(built: dict[str, Built]) -> None:
    """An --arg main does not take is the located error of `noma run` (issue
    9), at main, naming the first such parameter; nothing runs."""
    grow = built["grow"]
    proc = grow.run("--arg", "X=a.csv", "--arg=Y=b.csv", "--arg", "X=c.csv")
    reference = noma_run(grow.case.source, "--arg", "X=a.csv", "--arg", "Y=b.csv",
                         cwd=grow.case.cwd)  # fmt: skip
    assert outcome(proc) == outcome(reference) == (
        1, "",
        "grow.noma:1:1: error: main has no parameter named 'X'; it takes none\n"
        f"    {GROW_BY_DEFAULT.strip()}\n    ^\n",
    )  # fmt: skip


def _compiles(source: str) -> bool:
    try:
        _ = noma.compile(source).llvm_ir
    except NomaError:
        return False
    return True


@pytest.mark.slow
def test_arg_reaches_mains_parameter(tmp_path: Path) -> None:
    """`--arg X=FILE` gives main's parameter X the file's contents, in both
    modes, and a missing or unreadable file is the same located error."""
    source = "fn main(X) { print(X); return sum(X); }\n"
    if not _compiles(source):
        pytest.skip("main's parameters are not compiled yet")
    (tmp_path / "p.noma").write_text(source)
    (tmp_path / "x.csv").write_text("1, 2\n3, 4.5\n")
    build = cli("build-exe", "p.noma", "-o", "p", cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    for args in (["--arg", "X=x.csv"], [], ["--arg", "X=missing.csv"]):
        reference = noma_run(*args, "p.noma", cwd=tmp_path)
        assert outcome(run_exe(tmp_path / "p", *args, cwd=tmp_path)) == outcome(reference), args
    proc = run_exe(tmp_path / "p", "--arg", "X=x.csv", cwd=tmp_path)
    assert outcome(proc) == (0, "[[1.0, 2.0], [3.0, 4.5]]\n10.5\n", "")
    proc = run_exe(tmp_path / "p", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == (
        "p.noma:1:9: runtime error: no file for main's parameter 'X' (pass --arg X=FILE)\n"
    )


@pytest.mark.slow
def test_build_exe_arg_gives_the_parameters_rank(tmp_path: Path) -> None:
    """A 1-D safetensors parameter: `noma run` takes the rank from the file;
    `build-exe --arg` compiles it in, without it the executable expects 2-D."""
    source = "fn main(X) { return X * 2; }\n"
    if not _compiles(source):
        pytest.skip("main's parameters are not compiled yet")
    from safetensors.numpy import save_file

    (tmp_path / "p.noma").write_text(source)
    save_file({"v": np.array([1.0, 2.0, 3.0])}, str(tmp_path / "v.safetensors"))
    reference = noma_run("--arg", "X=v.safetensors", "p.noma", cwd=tmp_path)
    assert outcome(reference) == (0, "[2.0, 4.0, 6.0]\n", "")
    for exe, build_args in (("ranked", ["--arg", "X=v.safetensors"]), ("default", [])):
        build = cli("build-exe", "p.noma", "-o", exe, *build_args, cwd=tmp_path)
        assert build.returncode == 0, build.stderr
    ranked = run_exe(tmp_path / "ranked", "--arg", "X=v.safetensors", cwd=tmp_path)
    assert outcome(ranked) == outcome(reference)
    default = run_exe(tmp_path / "default", "--arg", "X=v.safetensors", cwd=tmp_path)
    assert default.returncode == 1
    assert "where the program expects a 2-D tensor" in default.stderr


@pytest.mark.slow
def test_noma_run_rejects_a_malformed_arg(tmp_path: Path) -> None:
    (tmp_path / "p.noma").write_text("fn main(X, Y) { return 1; }\n")
    np.savetxt(tmp_path / "x.csv", np.ones((1, 1)))
    for value in ("X", "=x.csv"):
        proc = noma_run("--arg", value, "p.noma", cwd=tmp_path)
        assert proc.returncode == 2
        assert "NAME=FILE" in proc.stderr and "Traceback" not in proc.stderr
    # An empty FILE is well-formed (and unused here).
    proc = noma_run("--arg", "X=x.csv", "--arg", "Y=", "p.noma", cwd=tmp_path)
    assert outcome(proc) == (0, "1.0\n", "")


# -- building: failures leave nothing behind ---------------------------------------


@pytest.mark.slow
def test_compile_error_is_located_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "p.noma").write_text("fn main() {\n    return y;\n}\n")
    proc = cli("build-exe", "p.noma", "-o", "p", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("p.noma:2:12: error: unknown variable 'y'\n")
    assert outcome(proc)[1:] == outcome(noma_run("p.noma", cwd=tmp_path))[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.noma"]


FAKE_COMPILER = """#!/bin/sh
# Writes half an executable to its -o argument, then fails like a linker.
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then printf 'half' > "$2"; fi
  shift
done
echo "ld: error: undefined symbol: noma_something" >&2
exit 1
"""


def _write_fake_compiler(directory: Path) -> Path:
    fake = directory / "fake-cc"
    fake.write_text(FAKE_COMPILER)
    fake.chmod(0o755)
    return fake


@pytest.mark.slow
@pytest.mark.parametrize("compiler", ["fake", "missing library", "none"])
def test_failed_build_leaves_the_existing_executable_untouched(
    tmp_path: Path, compiler: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "p.noma").write_text("fn main() { return 1; }\n")
    (work / "p").write_bytes(b"the previous executable")
    (work / "p").chmod(0o751)
    cc = {
        "fake": str(_write_fake_compiler(tmp_path)),
        "missing library": f"{shutil.which('cc') or 'cc'} -lnoma_no_such_library",
        "none": str(tmp_path / "no-such-cc"),
    }[compiler]
    proc = cli("build-exe", "p.noma", "-o", "p", cwd=work, env={"CC": cc})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    expected = {
        # The fake one fails from its first call: compiling the runtime's objects.
        "fake": "noma: error: compiling the NOMA C runtime failed",
        "missing library": "noma: error: linking the executable failed",
        "none": "noma: error: no C compiler found",
    }[compiler]
    assert proc.stderr.startswith(expected), proc.stderr
    assert (work / "p").read_bytes() == b"the previous executable"
    assert stat.S_IMODE((work / "p").stat().st_mode) == 0o751
    assert sorted(p.name for p in work.iterdir()) == ["p", "p.noma"]


@pytest.mark.slow
def test_output_in_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.noma").write_text("fn main() { return 1; }\n")
    proc = cli("build-exe", "p.noma", "-o", "no/such/dir/p", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("noma: error: cannot write the executable to no/such/dir/p")


def test_build_exe_help() -> None:
    proc = cli("build-exe", "--help")
    assert proc.returncode == 0
    assert "usage" in proc.stdout.lower() and "--output" in proc.stdout and "-O" in proc.stdout
    assert "build-exe" in cli("--help").stdout


@pytest.mark.slow
@pytest.mark.parametrize("args", [["-O4"], ["-O", "-1"], []])
def test_bad_build_options_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "p.noma").write_text("fn main() { return 1; }\n")
    proc = cli("build-exe", "p.noma", *args, *(["-o", "p"] if args else []), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Usage" in proc.stderr or "usage" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.noma"]


def test_executable_replaces_the_output_with_the_umask_mode(tmp_path: Path) -> None:
    (tmp_path / "p.noma").write_text("fn main() { return 2 ** 10; }\n")
    (tmp_path / "p").write_text("old")
    proc = cli(
        "build-exe", "p.noma", "--output", "p", "--opt-level", "1", cwd=tmp_path, umask=0o027
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o750
    assert outcome(run_exe(tmp_path / "p")) == (0, "1024.0\n", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", "p.noma"]


# -- what the executable is ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd on this system")
def test_executable_does_not_need_python(built: dict[str, Built]) -> None:
    exe = built["self_growing_xor"].case.exe
    proc = subprocess.run(["ldd", str(exe)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "python" not in proc.stdout.lower()
    assert "not found" not in proc.stdout


def test_driver_compiles_without_warnings_under_strict_flags(tmp_path: Path) -> None:
    driver = runtime_include_dir() / "noma_exe_main.c"
    proc = subprocess.run(
        [
            *find_c_compiler(), "-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic",
            "-Wshadow", "-Wconversion", "-Werror", "-c", "-o", str(tmp_path / "driver.o"),
            str(driver),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_driver_is_not_part_of_the_runtime_library() -> None:
    from noma.runtime.build import runtime_source_paths

    assert all(not p.name.startswith("noma_exe_") for p in runtime_source_paths())
