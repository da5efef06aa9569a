"""Syntax highlighting of NOMA for Pygments (so for `pygmentize -l noma`,
Sphinx and MkDocs code blocks, and Jupyter's display of source).

Registered under the `pygments.lexers` entry point of pyproject.toml (name
`noma`, files `*.noma`); Pygments itself is the optional `highlight` extra
(`pip install -e '.[highlight]'`). The tokens follow LANGUAGE.md section 1
and noma.frontend.lexer: the keywords are that lexer's `KEYWORDS`, and the
built-in names are those of noma.frontend.builtins (a test keeps the two
lists equal; they are spelled out here so that highlighting imports neither
xDSL nor the dialect); an optimizer is the name after `with`.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from noma.frontend.lexer import KEYWORDS

DECLARATIONS = ("let", "learn", "alloc")
"""Keywords that declare a name: Keyword.Declaration."""

BUILTIN_FUNCTIONS = (
    "sigmoid", "relu", "tanh", "exp", "log", "sqrt", "sin", "cos", "tan", "abs",
    "floor", "ceil", "pow", "min", "max", "print", "sum", "mean", "dot", "matmul",
    "rand", "rand_uniform", "rand_normal", "rand_tensor", "rand_normal_tensor",
    "xavier_init", "he_init",
    "logsumexp", "softmax", "log_softmax", "argmax", "argmin", "one_hot",
    "transpose", "reshape", "size", "where", "clip", "concat",
)  # fmt: skip
"""noma.frontend.builtins.BUILTINS."""

STATEMENT_BUILTINS = ("reset_optimizer", "save_checkpoint", "load_checkpoint")
"""Built-in statement-like calls that are not reserved words."""

TYPE_NAMES = ("f64", "f32", "i32", "i64")
"""The types `as` accepts."""

PSEUDO_KEYWORDS = ("init",)
"""Words with a meaning in one position only (`realloc ... init zeros`)."""

_IDENT_END = r"(?![A-Za-z0-9_])"


class NomaLexer(RegexLexer):
    """Pygments lexer for NOMA programs."""

    name = "NOMA"
    aliases: ClassVar[list[str]] = ["noma"]
    filenames: ClassVar[list[str]] = ["*.noma"]
    mimetypes: ClassVar[list[str]] = ["text/x-noma"]
    url = "https://github.com/pierridotite/NOMA"

    tokens: ClassVar[dict[str, list[object]]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"//[^\n\r]*", Comment.Single),
            (r"/\*", Comment.Multiline, "block-comment"),
            (r'"', String.Double, "string"),
            (
                r"(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+",
                Number.Float,
            ),
            (r"[0-9]+", Number.Integer),
            (r"(fn)(\s+)([A-Za-z_][A-Za-z0-9_]*)", bygroups(Keyword, Whitespace, Name.Function)),
            # The optimizer is the name after `with` (the table of optimizers
            # lives in the dialect, which highlighting does not import).
            (r"(with)(\s+)([A-Za-z_][A-Za-z0-9_]*)", bygroups(Keyword, Whitespace, Name.Builtin)),
            (words(DECLARATIONS, suffix=_IDENT_END), Keyword.Declaration),
            (words(TYPE_NAMES, suffix=_IDENT_END), Keyword.Type),
            (words(sorted(KEYWORDS - set(DECLARATIONS)), suffix=_IDENT_END), Keyword),
            (words(PSEUDO_KEYWORDS, suffix=_IDENT_END), Keyword.Pseudo),
            (
                words(BUILTIN_FUNCTIONS + STATEMENT_BUILTINS, suffix=_IDENT_END),
                Name.Builtin,
            ),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r"\|\||&&|==|!=|<=|>=|\*\*|[<>+\-*/%^!=]", Operator),
            (r"[()\[\]{},;:]", Punctuation),
            (r".", Error),
        ],
        "block-comment": [
            (r"[^*]+", Comment.Multiline),
            (r"\*/", Comment.Multiline, "#pop"),
            (r"\*", Comment.Multiline),
        ],
        "string": [
            (r'\\[nt"\\]', String.Escape),
            (r"\\.", Error),
            (r'[^"\\\n\r]+', String.Double),
            (r'"', String.Double, "#pop"),
            (r"[\n\r]", Error, "#pop"),  # strings end on their line
        ],
    }
