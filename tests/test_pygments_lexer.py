"""The Pygments lexer for NOMA (issue 14, point 6): every example lexes
without an error token and back to its own text, and each kind of token is
recognised. Pygments is an optional dependency (the `highlight` extra)."""

from __future__ import annotations

import tomllib
from importlib import import_module
from pathlib import Path

import pytest

pygments = pytest.importorskip(
    "pygments", reason="Pygments is not installed (pip install -e '.[highlight]')"
)
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Token,
)

from noma.pygments_lexer import NomaLexer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))


def tokens(source: str) -> list[tuple[object, str]]:
    """The tokens of `source`, without white space."""
    return [(t, v) for t, v in NomaLexer().get_tokens(source) if v.strip()]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_lexes_without_errors_and_back_to_its_text(example: Path) -> None:
    source = example.read_text()
    lexed = list(NomaLexer(stripnl=False, ensurenl=False).get_tokens(source))
    assert "".join(v for _, v in lexed) == source
    errors = [v for t, v in lexed if t in Error]
    assert errors == []
    kinds = {t for t, _ in lexed}
    assert any(t in Keyword for t in kinds) and any(t in Number for t in kinds)


def test_each_kind_of_token_is_recognised() -> None:
    source = (
        "// a comment\n"
        "/* a block\n comment */\n"
        "fn main() {\n"
        "    learn W = tensor [[1, 2.5], [.5, 1e-8]];\n"
        "    optimize(W) with adam(0.01) until loss < 2E+3 { minimize sum(W) ** 2; }\n"
        '    print("a \\"quoted\\" line\\n");\n'
        "    realloc W = [3, 2] init zeros;\n"
        "    reset_optimizer();\n"
        '    save_checkpoint "c.safetensors";\n'
        '    load_checkpoint "c.safetensors";\n'
        "    return W as f64;\n"
        "}\n"
    )
    lexed = tokens(source)
    assert lexed[:2] == [
        (Comment.Single, "// a comment"),
        (Comment.Multiline, "/*"),
    ]
    kinds = {v: t for t, v in reversed(lexed)}  # the first kind each text gets
    assert kinds["fn"] is Keyword and kinds["main"] is Name.Function
    assert kinds["learn"] is Keyword.Declaration
    for word in ("optimize", "with", "until", "minimize", "realloc", "return", "as", "tensor"):
        assert kinds[word] is Keyword, word
    assert kinds["init"] is Keyword.Pseudo and kinds["f64"] is Keyword.Type
    for word in ("adam", "sum", "print", "reset_optimizer", "save_checkpoint", "load_checkpoint"):
        assert kinds[word] is Name.Builtin, word
    assert kinds["W"] is Name and kinds["loss"] is Name and kinds["zeros"] is Name
    assert kinds["1"] is Number.Integer
    for number in ("2.5", ".5", "1e-8", "0.01", "2E+3"):
        assert kinds[number] is Number.Float, number
    assert kinds["**"] is Operator and kinds["<"] is Operator and kinds[";"] is Punctuation
    assert [v for t, v in lexed if t in String.Escape] == ['\\"', '\\"', "\\n"]
    assert not any(t in Error for t, _ in lexed)


def test_what_is_not_noma_is_an_error_token() -> None:
    assert (Error, "$") in tokens("let x = $;")
    assert (Error, "\\q") in tokens('print("bad \\q escape");')
    unterminated = NomaLexer().get_tokens('print("unterminated\nx);')
    assert (Error, "\n") in list(unterminated)  # a string ends on its line


def test_a_name_that_starts_like_a_keyword_is_a_name() -> None:
    assert tokens("letter learning fnx summary") == [
        (Name, "letter"),
        (Name, "learning"),
        (Name, "fnx"),
        (Name, "summary"),
    ]


def test_the_word_lists_are_the_frontend_s() -> None:
    from noma.frontend.builtins import BUILTINS
    from noma.pygments_lexer import BUILTIN_FUNCTIONS

    assert sorted(BUILTIN_FUNCTIONS) == sorted(BUILTINS)


def test_the_name_after_with_is_the_optimizer_whatever_the_table_holds() -> None:
    # Highlighting has no list of optimizers: one added to the table is
    # highlighted like the built-in ones, and the same word elsewhere is a name.
    from noma.dialects.noma.optimizers import optimizer_names

    for name in (*optimizer_names(), "sgd_half"):
        lexed = tokens(f"optimize(W) with {name}(0.1) until {name} < 1 {{ }}")
        assert (Keyword, "with") in lexed and (Name.Builtin, name) in lexed, name
        assert (Name, name) in lexed, name


def test_the_lexer_is_registered_under_the_pygments_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    target = project["entry-points"]["pygments.lexers"]["noma"]
    module, _, name = target.partition(":")
    assert getattr(import_module(module), name) is NomaLexer
    assert "pygments" in " ".join(project["optional-dependencies"]["highlight"])
    assert NomaLexer.aliases == ["noma"] and NomaLexer.filenames == ["*.noma"]


def test_pygments_highlights_with_the_lexer() -> None:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    html = highlight("fn main() { return 1; }", NomaLexer(), HtmlFormatter())
    assert '<span class="k">fn</span>' in html and '<span class="nf">main</span>' in html
    assert Token.Error not in {t for t, _ in NomaLexer().get_tokens("fn main() {}")}
