"""What a program prints under the Python API goes through Python's
`sys.stdout` and `sys.stderr` (issue 14, point 2): captured by
`contextlib.redirect_stdout`, pytest's `capsys` and notebook cells, in
order, including the last line before a run-time error. Where
`sys.stdout` writes to file descriptor 1 itself (a script, `noma run`),
C keeps writing there directly (tests/examples runs `noma run` with fds
captured; test_a_stream_on_the_descriptor_is_left_to_c below)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import noma
from noma.compiler import Program
from noma.runtime.python_streams import python_streams_needed, writes_to_descriptor

PRINTS_THEN_FAILS = """
fn main() {
    let v = [1.0, 2.0];
    print("first");
    print(v);
    let i = 5;
    print("last line before the error");
    print(v[i]);
    return 0;
}
"""

WARNS = """
fn main() {
    learn w = 5.0;
    let max_iterations = 2;
    optimize(w) with sgd(0.1) until w < -100 {
        print(w);
        minimize (w - 2) ** 2;
    }
    print("after");
    return w;
}
"""


@pytest.fixture(scope="module")
def fails() -> Program:
    return noma.compile(PRINTS_THEN_FAILS)


@pytest.fixture(scope="module")
def warns() -> Program:
    return noma.compile(WARNS)


ERROR = "<source>:8:12: runtime error: index 5 is out of bounds for a dimension of size 2"


def test_capsys_sees_the_output_and_the_error(
    fails: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(noma.ProgramError) as info:
        fails.run()
    out, err = capsys.readouterr()
    assert out == "first\n[1.0, 2.0]\nlast line before the error\n"
    assert err == ERROR + "\n"
    assert str(info.value) == ERROR  # the message, for a notebook's traceback


def test_one_stream_for_both_keeps_their_order(warns: Program) -> None:
    both = io.StringIO()
    with redirect_stdout(both), redirect_stderr(both):
        result = warns.run()
    assert result == 3.9200000000000004
    assert both.getvalue() == (
        "5.0\n4.4\n"
        "<source>:5:5: warning: optimize loop stopped after max_iterations = 2 steps "
        "before its `until` condition held\n"
        "after\n"
    )


def test_redirect_stdout_alone_leaves_the_warning_on_stderr(
    warns: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        warns.run()
    assert out.getvalue() == "5.0\n4.4\nafter\n"
    captured = capsys.readouterr()
    assert captured.out == "" and "warning: optimize loop stopped" in captured.err


def test_python_prints_and_the_program_s_interleave_in_order() -> None:
    program = noma.compile('fn main() { print("from noma"); return 1; }')
    out = io.StringIO()
    with redirect_stdout(out):
        print("before")
        program.run()
        print("after")
        program.run()
    assert out.getvalue() == "before\nfrom noma\nafter\nfrom noma\n"


def test_utf8_is_decoded_whole(capsys: pytest.CaptureFixture[str]) -> None:
    program = noma.compile('fn main() { print("héllo wörld ✓ 𝔑"); return 0; }')
    program.run()
    assert capsys.readouterr().out == "héllo wörld ✓ 𝔑\n"


def test_a_long_output_arrives_whole_and_in_order() -> None:
    program = noma.compile(
        "fn main() { let i = 0; while i < 3000 { print(i); i = i + 1; } return i; }"
    )
    out = io.StringIO()
    with redirect_stdout(out):
        program.run()
    assert out.getvalue() == "".join(f"{float(i)}\n" for i in range(3000))


class Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_a_stream_that_cannot_be_written_raises_its_error_after_the_run() -> None:
    program = noma.compile('fn main() { print("x"); return 2; }')
    with redirect_stdout(Broken()), pytest.raises(OSError, match="No space left"):
        program.run()
    with redirect_stdout(io.StringIO()) as out:  # the runtime prints normally again
        assert program.run() == 2.0
    assert out.getvalue() == "x\n"


def test_which_streams_need_python() -> None:
    assert not writes_to_descriptor(io.StringIO(), 1)
    with open(os.devnull, "w") as devnull:
        assert not writes_to_descriptor(devnull, 1)  # another descriptor
    real = io.TextIOWrapper(open(1, "wb", closefd=False))  # noqa: SIM115
    assert writes_to_descriptor(real, 1)
    with redirect_stdout(io.StringIO()):
        assert python_streams_needed()


def test_a_stream_on_the_descriptor_is_left_to_c(tmp_path: Path) -> None:
    """In a plain script the runtime writes to fd 1 itself, after what
    Python printed before the run."""
    code = (
        "import noma\n"
        "p = noma.compile('fn main(X) { print(\"from noma\"); return sum(X); }')\n"
        "print('from python')\n"
        "import numpy as np\n"
        "print(p.run(args={'X': np.ones((2, 2))}))\n"
    )
    env = {**os.environ, "NOMA_VERIFY_EACH": "0"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(noma.__file__).parents[1]), env.get("PYTHONPATH", "")]
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
        timeout=300, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "from python\nfrom noma\n4.0\n", "")


def test_arrays_and_output_together_in_a_cell_like_capture() -> None:
    program = noma.compile("fn main(X) { print(X); return X; }")
    out = io.StringIO()
    with redirect_stdout(out):
        result = program.run(args={"X": np.eye(2)})
    assert out.getvalue() == "[[1.0, 0.0], [0.0, 1.0]]\n"
    assert result.tolist() == [[1.0, 0.0], [0.0, 1.0]]
