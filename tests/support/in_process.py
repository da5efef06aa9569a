"""The `noma` command run in this process, and programs compiled once per
test session.

Starting a `noma` process costs about a second of imports and start-up
before any compiling; most tests only need what the command prints and its
exit status. `noma_in_process` runs the real command-line entry point
(`noma.tools.noma_cli.main`, argument parsing, error reporting and all)
with fds 1 and 2 sent to files, so that what the C runtime writes and what
Python writes are both caught, in order, as a subprocess would see them.
Tests of process-level behaviour (signals, resource limits, closed
descriptors, environment, executables) still start real processes.

`compiled_example` memoizes `noma.compile` of a file for the whole session:
every test that checks something about one example shares its compile (each
stage of a `Program` is computed once).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import noma

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root: `noma run examples/...` runs there."""


@dataclass
class Captured:
    """What was written to fds 1 and 2 while capturing (filled in at the end)."""

    stdout: str = ""
    stderr: str = ""
    _files: list[object] = field(default_factory=list, repr=False)


@contextmanager
def captured_output() -> Iterator[Captured]:
    """fds 1 and 2 (and Python's sys.stdout/sys.stderr, which pytest may
    have replaced) sent to temporary files for the duration."""
    captured = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved_fds = os.dup(1), os.dup(2)
        saved_streams = sys.stdout, sys.stderr
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0, closefd=False), write_through=True)  # noqa: SIM115
        sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0, closefd=False), write_through=True)  # noqa: SIM115
        try:
            yield captured
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass  # a test of a failing stdout; the bytes are lost as in a process
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            for file, name in ((out, "stdout"), (err, "stderr")):
                file.seek(0)
                text = file.read().decode("utf-8", errors="backslashreplace")
                setattr(captured, name, text)


def noma_in_process(
    *args: str, cwd: Path | str | None = None, share_compile: bool = False
) -> subprocess.CompletedProcess[str]:
    """`noma ARGS` run in this process, in `cwd`: its exit status and what
    it printed, as `subprocess.run(["noma", *args], capture_output=True,
    text=True)` would give them. `share_compile`: the program is the one
    `compiled` gives (for a file that does not change during the session
    and no `--arg`), shared with every other test of the same file."""
    from noma.tools import noma_cli

    saved_argv, saved_cwd = sys.argv, os.getcwd()
    saved_limit = sys.getrecursionlimit()
    saved_compile = noma_cli.compile
    status: int = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        if share_compile:
            noma_cli.compile = _compile_shared  # type: ignore[assignment]
        sys.argv = ["noma", *args]
        with captured_output() as output:
            try:
                noma_cli.main()
            except SystemExit as exit_:
                code = exit_.code
                if code is None:
                    status = 0
                elif isinstance(code, int):
                    status = code
                else:  # sys.exit("message") prints it and exits 1
                    print(code, file=sys.stderr)
                    status = 1
    finally:
        noma_cli.compile = saved_compile  # type: ignore[assignment]
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        sys.setrecursionlimit(saved_limit)
    return subprocess.CompletedProcess(["noma", *args], status, output.stdout, output.stderr)


def _compile_shared(
    source: str | os.PathLike[str], arg_files: Mapping[str, str] | None = None
) -> noma.Program:
    if arg_files:
        return noma.compile(source, arg_files=arg_files)
    return compiled(source, os.getcwd())


@cache
def _compiled(source: str, cwd: str) -> noma.Program:
    saved = os.getcwd()
    os.chdir(cwd)
    try:
        program = noma.compile(Path(source))
        program.ir("noma")  # the frontend reads the file and probes data files here
    finally:
        os.chdir(saved)
    return program


def compiled(source: str | os.PathLike[str], cwd: str | os.PathLike[str] = ROOT) -> noma.Program:
    """`noma.compile(source)` with `cwd` as the working directory (so its
    diagnostics name `source` as given), once per session: its stages and
    machine code are computed on first use and kept, and shared by every
    test that asks for the same file. Run it with `cwd` as the working
    directory too (files it reads are relative to it)."""
    return _compiled(str(source), str(cwd))


def example(name: str) -> noma.Program:
    """examples/<name>.noma as `noma run examples/<name>.noma` compiles it in
    the repository's root, once per session."""
    return compiled(f"examples/{name}.noma", ROOT)
