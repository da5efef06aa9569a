"""Every ```noma code block in docs/*.md and README.md compiles.

A ```noma block must be a complete program; pieces of programs (and programs
that deliberately fail to compile) belong in ```noma-fragment blocks, which
are not checked. Each block is compiled to LLVM IR, not run, so that the
documentation cannot drift away from the language the compiler accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import noma

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")


@dataclass(frozen=True)
class CodeBlock:
    path: Path
    line: int
    """1-based line of the opening fence."""
    source: str

    @property
    def first_line(self) -> str:
        for line in self.source.splitlines():
            if line.strip():
                return line.strip()
        return "(empty block)"

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def noma_blocks(path: Path) -> list[CodeBlock]:
    """The ```noma blocks of a Markdown file. The language is the first word
    of the info string, so ```noma-fragment (and ```nomad) do not match."""
    blocks: list[CodeBlock] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        words = opening["info"].split()
        language = words[0] if words else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[j])
            j += 1
        if language == "noma":
            blocks.append(CodeBlock(path, i + 1, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def documentation_files() -> list[Path]:
    files = sorted((ROOT / "docs").glob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        files.append(readme)
    return files


ALL_BLOCKS = [block for path in documentation_files() for block in noma_blocks(path)]


def test_the_docs_have_noma_examples() -> None:
    assert ALL_BLOCKS, "no ```noma block found in docs/*.md or README.md"


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.where() for b in ALL_BLOCKS])
def test_noma_block_compiles(block: CodeBlock) -> None:
    error = _compile_error(block.source)
    if error is not None:
        pytest.fail(
            f"{block.where()}: the ```noma block starting with {block.first_line!r} "
            f"does not compile: {error}\n"
            "(a piece of a program belongs in a ```noma-fragment block)",
            pytrace=False,
        )


def _compile_error(source: str) -> str | None:
    """None if `source` compiles to LLVM IR, else what went wrong (outside the
    `except`, so that the failure is not shown as a chained exception)."""
    try:
        noma.compile(source).llvm_ir
    except Exception as e:  # noqa: BLE001 - any failure is reported the same way
        message = getattr(e, "message", None) or str(e)
        loc = getattr(e, "loc", None)
        at = f" at line {loc.line}, column {loc.col} of the block" if loc is not None else ""
        return f"{type(e).__name__}{at}: {message}"
    return None
