"""The live progress line of optimize loops (issue 14, point 5): shown on
stderr when it is a terminal or when asked (`noma run --progress`, an
executable's `--progress`, `Program.run(progress=True)`, the `%%noma`
magic), never otherwise, and never mixed into what the program prints.

NOMA_PROGRESS_AFTER=0 makes a loop show its line from the first iteration
(the default waits a second), so these loops can be short.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import noma
from noma.executable import build_executable

ROOT = Path(__file__).resolve().parents[2]

PRINTING_LOOP = """
fn main() {
    learn w = 5.0;
    optimize(w) with sgd(0.1) until loss < 0.000001 {
        let loss = w * w;
        print(loss);
        minimize loss;
    }
    return w;
}
"""
"""40 iterations, each printing its objective."""


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


LINE = re.compile(r"\roptimize: iteration (\d+)  objective (\S+)  \d+ it/s  \d+\.\d s(\x1b\[K)?")


@pytest.fixture
def program_file(tmp_path: Path) -> Path:
    path = tmp_path / "loop.noma"
    path.write_text(PRINTING_LOOP)
    return path


def run_raw(command: list[str], env: dict[str, str], stderr: int = subprocess.PIPE) -> Ran:
    """Run `command`; its output decoded without newline translation, which
    would turn the line's carriage returns into newlines."""
    done = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=stderr, env=env, timeout=300, check=False
    )
    return Ran(done.returncode, done.stdout.decode(), (done.stderr or b"").decode())


def noma_run(*args: str, stderr: int = subprocess.PIPE) -> Ran:
    env = {**os.environ, "NOMA_PROGRESS_AFTER": "0", "PYTHONPATH": str(ROOT)}
    return run_raw([sys.executable, "-m", "noma.tools.noma_cli", "run", *args], env, stderr)


def test_nothing_is_shown_off_a_terminal(program_file: Path) -> None:
    plain = noma_run(str(program_file))
    assert plain.returncode == 0
    assert plain.stderr == ""
    assert "optimize:" not in plain.stdout


def test_progress_when_asked(program_file: Path) -> None:
    plain = noma_run(str(program_file))
    shown = noma_run("--progress", str(program_file))
    assert shown.returncode == 0
    assert shown.stdout == plain.stdout  # what the program prints is unchanged
    lines = LINE.findall(shown.stderr)
    assert lines, shown.stderr
    # The first iteration's objective is 25; the loop ends on iteration 40,
    # whose line stays, ended by a newline.
    assert lines[0][:2] == ("1", "25")
    assert lines[-1][:2] == ("40", "6.90175e-07")
    assert shown.stderr.endswith("\n")
    assert all(not escape for *_, escape in lines)  # no terminal codes in a pipe


def test_progress_lines_never_split_the_programs_lines(program_file: Path) -> None:
    """Into one pipe: each time the program prints, the progress line is
    ended first, so every printed number is a line of its own."""
    plain = noma_run(str(program_file))
    merged = noma_run("--progress", str(program_file), stderr=subprocess.STDOUT)
    kept = [line for line in merged.stdout.split("\n") if not line.startswith("\roptimize:")]
    assert [line for line in kept if line] == plain.stdout.split()


def test_a_terminal_shows_it_unasked(program_file: Path) -> None:
    """On a terminal (a pseudo-terminal here) the line is drawn and
    redrawn in place, erased to the end of the line."""
    env = {**os.environ, "NOMA_PROGRESS_AFTER": "0", "PYTHONPATH": str(ROOT)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the terminal
        os.execve(
            sys.executable,
            [sys.executable, "-m", "noma.tools.noma_cli", "run", str(program_file)],
            env,
        )
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = b"".join(chunks).decode()
    assert "\roptimize: iteration 1  objective 25  " in text
    assert "\x1b[K" in text


def test_python_api(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMA_PROGRESS_AFTER", "0")
    program = noma.compile(PRINTING_LOOP)
    program.run()  # printing through Python's streams: not a terminal
    assert "optimize:" not in capsys.readouterr().err
    program.run(progress=True)
    captured = capsys.readouterr()
    assert LINE.findall(captured.err)[-1][:2] == ("40", "6.90175e-07")
    assert "optimize:" not in captured.out


def test_the_notebook_magic_shows_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    interactive = pytest.importorskip(
        "IPython.core.interactiveshell", reason="IPython is not installed: the magic is not tested"
    )
    monkeypatch.setenv("NOMA_PROGRESS_AFTER", "0")
    shell = interactive.InteractiveShell.instance()
    shell.run_line_magic("load_ext", "noma")
    body = PRINTING_LOOP.replace("fn main() {", "").rstrip().removesuffix("}")
    shell.run_cell_magic("noma", "", body)
    assert LINE.findall(capsys.readouterr().err)
    shell.run_cell_magic("noma", "--no-progress", body)
    assert "optimize:" not in capsys.readouterr().err


@pytest.mark.slow
def test_executables(program_file: Path, tmp_path: Path) -> None:
    exe = tmp_path / "loop"
    build_executable(noma.compile(program_file), exe)
    env = {"NOMA_PROGRESS_AFTER": "0"}
    plain = run_raw([str(exe)], env)
    shown = run_raw([str(exe), "--progress"], env)
    assert plain.returncode == shown.returncode == 0
    assert plain.stderr == ""
    assert shown.stdout == plain.stdout
    assert LINE.findall(shown.stderr)[-1][:2] == ("40", "6.90175e-07")
    assert "--progress" in run_raw([str(exe), "--help"], env).stdout


def test_a_runtime_error_inside_a_loop_does_not_silence_the_next_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOMA_PROGRESS_AFTER", "0")
    failing = noma.compile(PRINTING_LOOP.replace("print(loss);", "print(tensor [1.0][3]);"))
    with pytest.raises(noma.ProgramError):
        failing.run(progress=True)
    capsys.readouterr()
    noma.compile(PRINTING_LOOP).run(progress=True)
    assert LINE.findall(capsys.readouterr().err)[-1][:2] == ("40", "6.90175e-07")
