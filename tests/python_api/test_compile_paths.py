"""`noma.compile(source_or_path)`: a file is a file whatever its extension
(issue 14, point 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

import noma
from noma.frontend.diagnostics import NomaError

SOURCE = "fn main() { return 6 * 7; }\n"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["prog.txt", "prog", "prog.noma", "a.b.c"])
def test_an_existing_file_is_read_whatever_its_extension(in_tmp: Path, name: str) -> None:
    (in_tmp / name).write_text(SOURCE)
    for given in (name, Path(name), str(in_tmp / name)):
        program = noma.compile(given)
        assert program.source == SOURCE and program.filename == str(given)
        assert program.run() == 42.0


def test_errors_name_the_file(in_tmp: Path) -> None:
    (in_tmp / "bad.txt").write_text("fn main() { return x; }\n")
    with pytest.raises(NomaError, match=r"^bad\.txt:1:"):
        noma.compile("bad.txt").ir()


def test_source_text_is_source_text(in_tmp: Path) -> None:
    assert noma.compile(SOURCE).filename == "<source>"
    assert noma.compile(SOURCE.strip()).filename == "<source>"


def test_a_missing_noma_file_is_an_error_not_a_program(in_tmp: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.noma"):
        noma.compile("missing.noma")


def test_a_directory_is_not_a_program_file(in_tmp: Path) -> None:
    (in_tmp / "fn main() { return 1; }").mkdir()  # a name that is also source
    assert noma.compile("fn main() { return 1; }").filename == "<source>"
