"""The NOMA lexer: source text -> a list of located tokens.

Hand-written rather than generated so that every malformed input gets a
specific, located message (LANGUAGE.md section 9) instead of a generic
"syntax error". The rules are those of LANGUAGE.md section 1:

- `//` line comments and `/* block */` comments (block comments do not nest);
- numbers `42 3.14 .5 1. 1e-8 2.5E+3`, all f64;
- double-quoted strings with the escapes `\\n \\t \\" \\\\`, on one line;
- ASCII identifiers `[A-Za-z_][A-Za-z0-9_]*` and the reserved keywords;
- the operators and punctuation listed in `SYMBOLS`.

Lines and columns are 1-based and columns count code points (a tab is one
column). Lines are split exactly as `str.splitlines` splits them, because
that is what `NomaError.render` uses to print the offending line: a location
and its caret therefore always agree.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from enum import Enum

from noma.frontend.diagnostics import NomaError, SourceLoc


class TokenKind(Enum):
    """The lexical category of a token; the value is how messages name it."""

    NUMBER = "number"
    STRING = "string"
    IDENT = "identifier"
    KEYWORD = "keyword"
    SYMBOL = "symbol"
    EOF = "end of file"


KEYWORDS: frozenset[str] = frozenset(
    """fn let learn optimize until minimize with return if else while tensor
    alloc realloc free batch in as load_csv save_csv load_safetensors
    save_safetensors""".split()
)
"""Reserved words. `init` (inside realloc) and `reset_optimizer` are NOT
reserved: the parser recognises them by position, so they stay usable as
ordinary names elsewhere."""

# Operators and punctuation. A two-character symbol wins over its first
# character: `**` is not `*` `*`, `<=` is not `<` `=`.
SYMBOLS: tuple[str, ...] = (
    "||", "&&", "==", "!=", "<=", ">=", "**",
    "<", ">", "+", "-", "*", "/", "%", "^", "!", "=",
    "(", ")", "[", "]", "{", "}", ",", ";", ":",
)  # fmt: skip

_TWO_CHAR_SYMBOLS = frozenset(s for s in SYMBOLS if len(s) == 2)
_ONE_CHAR_SYMBOLS = frozenset(s for s in SYMBOLS if len(s) == 1)

_ESCAPES: dict[str, str] = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}

# Whitespace allowed between tokens.
_WHITESPACE = frozenset(" \t\n\r\f\v")
# Every character `str.splitlines` breaks a line at; a `//` comment or a
# string ends at any of them.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_BLANK = _WHITESPACE | _LINE_BREAKS

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# [0-9], not \d: \d also matches non-ASCII digits that float() would accept.
_NUMBER_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# What a malformed number such as `2x`, `1e+` or `1.2.3` runs on to, so the
# message can quote it whole.
_NUMBER_TAIL_RE = re.compile(r"[A-Za-z0-9_.]*(?:(?<=[eE])[+-][A-Za-z0-9_.]*)?")
# Hints for characters that are one half of a two-character operator.
_CHAR_HINTS: dict[str, str] = {"|": "||", "&": "&&"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token. `text` is the exact source text (a string keeps its quotes
    and escapes); `value` is the decoded string or the number's f64 value.
    Slotted, with its end computed on demand: a file has many tokens."""

    kind: TokenKind
    text: str
    loc: SourceLoc
    value: float | str | None = None

    @property
    def end(self) -> SourceLoc:
        """The position just past the last character, where an error about
        something missing *after* the token (such as a `;`) points. Tokens
        never span lines (the EOF token is empty)."""
        return SourceLoc(self.loc.filename, self.loc.line, self.loc.col + len(self.text))

    def is_symbol(self, text: str) -> bool:
        return self.kind is TokenKind.SYMBOL and self.text == text

    def is_keyword(self, text: str) -> bool:
        return self.kind is TokenKind.KEYWORD and self.text == text

    def is_ident(self, text: str) -> bool:
        return self.kind is TokenKind.IDENT and self.text == text

    def describe(self) -> str:
        """How an error message names this token: `';'`, `keyword 'let'`,
        `identifier 'x'`, `number 42`, `end of file`."""
        match self.kind:
            case TokenKind.EOF:
                return "end of file"
            case TokenKind.SYMBOL:
                return f"'{self.text}'"
            case TokenKind.STRING:
                text = self.text if len(self.text) <= 24 else self.text[:20] + '..."'
                return f"string {text}"
            case TokenKind.NUMBER:
                return f"number {self.text}"
            case _:
                return f"{self.kind.value} '{self.text}'"


def tokenize(source: str, filename: str) -> list[Token]:
    """All tokens of `source`, ending with one EOF token.
    Raises `NomaError` at the first lexical error."""
    return _Lexer(source, filename).tokens()


def describe_char(c: str) -> str:
    """A character as an error message shows it: quoted when printable,
    as `U+XXXX` when it would be invisible or garble the terminal."""
    if c.isprintable() and not c.isspace():
        return f"'{c}'"
    return f"U+{ord(c):04X}"


class _Lexer:
    """A single left-to-right scan over the source text."""

    def __init__(self, source: str, filename: str) -> None:
        self.src = source
        self.filename = filename
        self.pos = 0
        self.line_starts = _line_starts(source)

    # -- positions -----------------------------------------------------------

    def loc(self, offset: int) -> SourceLoc:
        """The 1-based line and column of a character offset."""
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return SourceLoc(self.filename, index + 1, offset - self.line_starts[index] + 1)

    def error(self, offset: int, message: str) -> NomaError:
        return NomaError(self.loc(offset), message)

    def eof_loc(self) -> SourceLoc:
        """End of file is reported just past the last non-blank character, so
        the caret lands on a real line (a trailing newline would otherwise put
        it on an empty line that `render` cannot show)."""
        content_end = len(self.src)
        while content_end > 0 and self.src[content_end - 1] in _BLANK:
            content_end -= 1
        return self.loc(content_end)

    # -- the scan ------------------------------------------------------------

    def tokens(self) -> list[Token]:
        result: list[Token] = []
        while True:
            self.skip_trivia()
            if self.pos >= len(self.src):
                break
            result.append(self.next_token())
        result.append(Token(TokenKind.EOF, "", self.eof_loc()))
        return result

    def skip_trivia(self) -> None:
        """Skip whitespace and comments."""
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c in _WHITESPACE:
                self.pos += 1
            elif src.startswith("//", self.pos):
                self.pos += 2
                while self.pos < len(src) and src[self.pos] not in _LINE_BREAKS:
                    self.pos += 1
            elif src.startswith("/*", self.pos):
                close = src.find("*/", self.pos + 2)
                if close < 0:
                    raise self.error(self.pos, "unterminated block comment (missing '*/')")
                self.pos = close + 2
            else:
                return

    def next_token(self) -> Token:
        src, start = self.src, self.pos
        c = src[start]
        if _is_digit(c) or (c == "." and _is_digit(src[start + 1 : start + 2])):
            return self.number()
        if c == '"':
            return self.string()
        ident = _IDENT_RE.match(src, start)
        if ident:
            text = ident.group()
            kind = TokenKind.KEYWORD if text in KEYWORDS else TokenKind.IDENT
            return self.make(kind, start, len(text))
        if src[start : start + 2] in _TWO_CHAR_SYMBOLS:
            return self.make(TokenKind.SYMBOL, start, 2)
        if c in _ONE_CHAR_SYMBOLS:
            return self.make(TokenKind.SYMBOL, start, 1)
        message = f"unexpected character {describe_char(c)}"
        if c in _CHAR_HINTS:
            message += f" (did you mean '{_CHAR_HINTS[c]}'?)"
        raise self.error(start, message)

    def make(
        self, kind: TokenKind, start: int, length: int, value: float | str | None = None
    ) -> Token:
        """A token for `src[start:start+length]`; advances past it."""
        self.pos = start + length
        return Token(kind, self.src[start : start + length], self.loc(start), value)

    def number(self) -> Token:
        start = self.pos
        match = _NUMBER_RE.match(self.src, start)
        assert match is not None  # next_token only calls us on a digit or `.digit`
        stop = match.end()
        tail = _NUMBER_TAIL_RE.match(self.src, stop)
        if tail is not None and tail.end() > stop:
            bad = self.src[start : tail.end()]
            raise self.error(start, f"invalid number literal '{bad}'")
        text = match.group()
        value = float(text)
        if math.isinf(value):
            raise self.error(start, f"number literal '{text}' is too large for an f64")
        return self.make(TokenKind.NUMBER, start, stop - start, value)

    def string(self) -> Token:
        """A double-quoted string on one line; escapes are decoded into
        `value`. An unknown escape points at its backslash, a missing closing
        quote at the opening one."""
        src, start = self.src, self.pos
        i = start + 1
        chars: list[str] = []
        while True:
            if i >= len(src) or src[i] in _LINE_BREAKS:
                raise self.error(start, "unterminated string literal (missing closing '\"')")
            c = src[i]
            if c == '"':
                break
            if c == "\\":
                escape = src[i + 1 : i + 2]
                if escape == "" or escape in _LINE_BREAKS:
                    raise self.error(start, "unterminated string literal (missing closing '\"')")
                if escape not in _ESCAPES:
                    shown = escape if escape.isprintable() else describe_char(escape)
                    raise self.error(
                        i,
                        f"unknown escape sequence '\\{shown}' in string "
                        '(expected \\n, \\t, \\" or \\\\)',
                    )
                chars.append(_ESCAPES[escape])
                i += 2
            else:
                chars.append(c)
                i += 1
        return self.make(TokenKind.STRING, start, i + 1 - start, "".join(chars))


def _is_digit(c: str) -> bool:
    """An ASCII digit (`str.isdigit` also accepts e.g. Arabic-Indic digits)."""
    return len(c) == 1 and "0" <= c <= "9"


def _line_starts(source: str) -> list[int]:
    """Offsets at which each line starts, using `str.splitlines`' notion of a
    line break (`\\r\\n` is one break) so locations match `render`."""
    starts = [0]
    offset = 0
    for line in source.splitlines(keepends=True):
        offset += len(line)
        if offset < len(source):
            starts.append(offset)
    return starts
