"""Fuzzing: every example mutated, and generated programs, compiled and run
as a user would; whatever the input, NOMA ends with a located error or a
result (the oracle is tests/support/outcome.py). A fixed budget: a fixed
number of programs, drawn deterministically (`derandomize=True`), so a
failure reproduces in CI; together well under a minute.

- Most programs are compiled in this process, the way `noma check` does it
  (from a file, down to LLVM IR), with a time limit each.
- A sample runs through the command line, `noma run` (and `noma check`,
  and `noma build-exe` then the executable), in a temporary working
  directory with a time limit and small memory, CPU and file-size limits,
  so run-time faults show as what a user would see.

Each test collects every problem before failing, so one run lists all of
them, with the program that showed each (written out in full in the
failure message, and kept as files in $NOMA_FUZZ_FAILURES when it is
set). The counts of programs tried are printed (`pytest -s` shows them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import os
import re
from collections import Counter

from fuzz_programs import generated, generated_programs, long_programs, mutated
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from outcome import NOMA, CliRun, cli_problems, compile_problems, run_limited

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))
DATA = ROOT / "examples" / "data"

MUTANTS_PER_EXAMPLE = 3
GENERATED_COMPILES = 50
LONG_COMPILES = 2
RUN_GENERATED = 3
RUN_MUTANTS = 3
CHECK_INVALID_UTF8 = 2
EXE_GENERATED = 2
"""The budget: 3 mutants of each of the 23 examples, 50 generated programs
and 2 long ones (thousands of terms, calls or statements) compiled
in-process; through the command line, 3 generated
programs and 3 examples with hostile numbers run by `noma run`, 2 examples
with invalid UTF-8 checked by `noma check`, 2 generated programs built by
`noma build-exe` and run as executables. About 45 s on a busy 2-core
machine when nothing hangs (a hang costs its time limit, and fails)."""

FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],  # problems are collected, not raised: nothing to shrink
    suppress_health_check=list(HealthCheck),
)


class Findings:
    """The programs tried and the problems found, per program."""

    def __init__(self) -> None:
        self.tried = 0
        self.long_runs = 0
        self.endings: Counter[str] = Counter()
        self.problems: list[tuple[str, bytes, list[str]]] = []

    def record(self, what: str, program: bytes, problems: list[str]) -> None:
        self.tried += 1
        if problems:
            self.problems.append((what, program, problems))
            keep = os.environ.get("NOMA_FUZZ_FAILURES")
            if keep:  # a directory to keep each failing program in, byte for byte
                Path(keep).mkdir(parents=True, exist_ok=True)
                name = f"{len(os.listdir(keep)):03d}-{re.sub(r'[^a-z0-9]+', '_', what)}.noma"
                (Path(keep) / name).write_bytes(program)

    def check(self, title: str) -> None:
        summary = f"\nfuzz: {title}: {self.tried} programs tried, {len(self.problems)} with problems"
        if self.long_runs:
            summary += f", {self.long_runs} stopped at the time limit (not judged)"
        if self.endings:
            summary += "; " + ", ".join(f"{n} {what}" for what, n in sorted(self.endings.items()))
        print(summary)
        if self.problems:
            report = "\n\n".join(
                f"--- {what}: {'; '.join(problems)}\n{program.decode('utf-8', 'backslashreplace')}"
                for what, program, problems in self.problems
            )
            pytest.fail(f"{len(self.problems)} of {self.tried} programs: {title}\n{report}")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory like a user's, also for the compiles in this
    process (whose compile-time probes read files): the examples' data and
    a CSV file for the generated programs to read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "data").symlink_to(DATA)
    (tmp_path / "in.csv").write_text("1,2\n3,4\n")
    return tmp_path


def _compile_each(
    workdir: Path, findings: Findings, timeout: float
) -> Callable[[str, bytes], None]:
    """Compiles each program in-process; `timeout` is far above the slowest
    compile (the self-growing example takes 3 s, 5 s on a busy machine), so
    only a hang reaches it."""

    def compile_one(what: str, program: bytes) -> None:
        path = workdir / "p.noma"
        path.write_bytes(program)
        findings.record(what, program, compile_problems(path, timeout))

    return compile_one


def test_mutated_examples_compile_or_fail_located(workdir: Path) -> None:
    findings = Findings()
    compile_one = _compile_each(workdir, findings, timeout=30.0)
    sources = {path.name: path.read_text() for path in EXAMPLES}

    @settings(FUZZ_SETTINGS, max_examples=MUTANTS_PER_EXAMPLE)
    @given(st.data())
    def each_example_once(data: st.DataObject) -> None:
        for name, source in sources.items():
            compile_one(f"mutant of {name}", data.draw(mutated(source), label=name))

    each_example_once()
    assert findings.tried == MUTANTS_PER_EXAMPLE * len(EXAMPLES)
    findings.check("mutated examples, compiled")


def test_generated_programs_compile_or_fail_located(workdir: Path) -> None:
    findings = Findings()
    compile_one = _compile_each(workdir, findings, timeout=10.0)
    compile_long = _compile_each(workdir, findings, timeout=30.0)

    @settings(FUZZ_SETTINGS, max_examples=GENERATED_COMPILES)
    @given(st.one_of(generated_programs, generated_programs.flatmap(mutated)))
    def each(program: str | bytes) -> None:
        data = program.encode() if isinstance(program, str) else program
        compile_one("generated program", data)

    @settings(FUZZ_SETTINGS, max_examples=LONG_COMPILES)
    @given(long_programs)
    def each_long(program: str) -> None:
        compile_long("long program", program.encode())

    each()
    each_long()
    assert findings.tried == GENERATED_COMPILES + LONG_COMPILES
    findings.check("generated programs, compiled")


def test_programs_run_through_the_cli(workdir: Path) -> None:
    """`noma run` on generated programs (which always end) and on mutated
    examples (which may loop for ever: those stopped at the time limit are
    counted, not judged), `noma check` on mutants with hostile bytes, and
    executables of generated programs."""
    findings = Findings()
    sources = {path.name: path.read_text() for path in EXAMPLES}
    quick = {name: s for name, s in sources.items() if not name.startswith("self_growing")}

    def run(what: str, program: bytes, command: str, may_run_long: bool) -> None:
        (workdir / "p.noma").write_bytes(program)
        # A mutant may train for ever (examples run in 2 s): a shorter limit.
        timeout = 10.0 if may_run_long else 20.0
        outcome = run_limited([*NOMA, command, "p.noma"], workdir, timeout=timeout)
        if outcome.returncode is None and may_run_long:
            findings.long_runs += 1
        findings.endings[_ending(outcome)] += 1
        findings.record(what, program, cli_problems(outcome, may_run_long=may_run_long))

    def mutant_of(name: str) -> st.SearchStrategy[tuple[str, bytes]]:
        # Hostile numbers only: the program stays well-formed, so that it
        # runs into them rather than stopping at a syntax error.
        return mutated(quick[name], kinds=("number",)).map(lambda b: (name, b))

    def invalid_utf8(name: str) -> st.SearchStrategy[tuple[str, bytes]]:
        source = quick[name].encode()
        return st.tuples(st.integers(0, len(source)), st.sampled_from([b"\xff\xfe", b"\xc3"])).map(
            lambda t: (name, source[: t[0]] + t[1] + source[t[0] :])
        )

    @settings(FUZZ_SETTINGS, max_examples=RUN_GENERATED)
    @given(generated(hostile=False))
    def run_generated(program: str) -> None:
        run("noma run, generated program", program.encode(), "run", may_run_long=False)

    @settings(FUZZ_SETTINGS, max_examples=RUN_MUTANTS)
    @given(st.sampled_from(sorted(quick)).flatmap(mutant_of))
    def run_mutant(program: tuple[str, bytes]) -> None:
        name, data = program
        run(f"noma run, mutant of {name}", data, "run", may_run_long=True)

    @settings(FUZZ_SETTINGS, max_examples=CHECK_INVALID_UTF8)
    @given(st.sampled_from(sorted(quick)).flatmap(invalid_utf8))
    def check_invalid_utf8(program: tuple[str, bytes]) -> None:
        name, data = program
        run(f"noma check, {name} with invalid UTF-8", data, "check", may_run_long=False)

    @settings(FUZZ_SETTINGS, max_examples=EXE_GENERATED)
    @given(generated(hostile=False))
    def build_and_run_executable(program: str) -> None:
        data = program.encode()
        (workdir / "p.noma").write_bytes(data)
        built = run_limited([*NOMA, "build-exe", "p.noma", "-o", "p"], workdir, timeout=60.0)
        problems = cli_problems(built)
        if built.returncode == 0:
            ran = run_limited([str(workdir / "p")], workdir, timeout=20.0)
            findings.endings[f"executable {_ending(ran)}"] += 1
            problems += cli_problems(ran)
        else:
            findings.endings[f"build-exe {_ending(built)}"] += 1
        findings.record("noma build-exe, then the executable, generated program", data, problems)

    run_generated()
    run_mutant()
    check_invalid_utf8()
    build_and_run_executable()
    assert findings.tried == RUN_GENERATED + RUN_MUTANTS + CHECK_INVALID_UTF8 + EXE_GENERATED
    findings.check("programs run through the command line")


def _ending(outcome: CliRun) -> str:
    """How a command ended, for the printed summary."""
    if outcome.returncode is None:
        return "stopped at the time limit"
    if outcome.returncode == 0:
        return "ran to the end"
    if "runtime error" in outcome.stderr:
        return "run-time errors"
    if ": error: " in outcome.stderr:
        return "compile errors"
    return f"exit status {outcome.returncode}"


@pytest.mark.parametrize(
    ("returncode", "stderr", "verdict"),
    [
        (0, "", []),
        (1, "p.noma:3:9: error: unknown variable 'y'\n    let x = y;\n            ^\n", []),
        (0, "p.noma:5:5: warning: optimize loop stopped after max_iterations = 2 steps\n", []),
        (1, "p.noma:4:24: runtime error: index 2 is out of bounds\n", []),
        (1, "runtime error: internal: tape underflow\n", []),
        (-11, "", ["killed by signal SIGSEGV"]),
        (139, "", ["exit status 139 (a signal, 128+11)"]),
        (2, "p.noma:1:1: error: x\n", ["exit status 2, not 0 or 1"]),
        (None, "", ["hang: stopped at the time limit"]),
        (1, "", ["exit status 1 without an error message"]),
        (1, "error: the program has no `fn main() { ... }`\n", ["unlocated message"]),
        (1, "noma: error: the input is nested too deeply\n", ["unlocated message"]),
        (
            1,
            "noma: internal compiler error: ValueError: x\n(this is a bug)\n",
            ["internal compiler error", "unlocated message"],
        ),
        (
            1,
            'Traceback (most recent call last):\n  File "x"\nKeyError: 1\n',
            ["Python traceback", "unlocated message"],
        ),
        (1, "p.noma:1:1: error: x\n    src\n    ^\nnoma: error: y\n", ["unlocated message"]),
    ],
)
def test_the_oracle(returncode: int | None, stderr: str, verdict: list[str]) -> None:
    """The checker accepts located diagnostics, and flags each kind of
    failure it exists for (each verdict is a prefix of the problems)."""
    problems = cli_problems(CliRun(["noma", "run", "p.noma"], returncode, "", stderr))
    assert len(problems) == len(verdict), problems
    for problem, expected in zip(problems, verdict, strict=True):
        assert problem.startswith(expected), problems
    assert cli_problems(CliRun(["noma"], None, "", ""), may_run_long=True) == []
