"""`noma.compile(..., script=names)`: statements outside functions are the
body of a `main` taking those parameters (what a `%%noma` cell compiles)."""

from __future__ import annotations

import pytest

import noma
from noma.frontend.diagnostics import NomaError


def test_script_main_takes_the_named_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    program = noma.compile(
        "fn f(a) { return a + 1.0; }\nprint(X);\nreturn f(X) * Y;", script=("X", "Y")
    )
    assert program.run(args={"X": 2.0, "Y": 10.0}) == 30.0
    assert capsys.readouterr().out == "2.0\n"


def test_the_same_text_is_an_error_outside_a_script() -> None:
    with pytest.raises(NomaError, match="statements must be inside a function"):
        noma.compile("print(1.0);").ir()


def test_script_and_program_are_cached_apart(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same text as a script with other parameters is another program."""
    monkeypatch.setenv("NOMA_CACHE_DIR", str(tmp_path))
    source = "fn main() { return 1.0; }"
    keys = {
        noma.compile(source)._cache_key,
        noma.compile(source, script=())._cache_key,
        noma.compile(source, script=("X",))._cache_key,
    }
    assert len(keys) == 3
