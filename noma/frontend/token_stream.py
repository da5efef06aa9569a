"""A cursor over the token list, with the error helpers every part of the
parser shares: what was expected where, unclosed brackets, missing `;`, and
the nesting limit that keeps deep input from exhausting Python's stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from noma.frontend import ast
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.lexer import Token, TokenKind

T = TypeVar("T")

MAX_NESTING = 64
"""How deeply parentheses, brackets, calls, unary operators, powers and
blocks may nest. Far beyond real programs, and low enough that the recursive
descent (at most about ten Python frames per level) stays well inside
Python's default recursion limit of 1000 without touching it."""


class TokenStream:
    """The position in the token list produced by `tokenize`."""

    def __init__(self, tokens: list[Token]) -> None:
        assert tokens and tokens[-1].kind is TokenKind.EOF
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # ------------------------------------------------------------------
    # Token stream
    # ------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def previous(self) -> Token | None:
        return self.tokens[self.pos - 1] if self.pos > 0 else None

    def advance(self) -> Token:
        token = self.peek()
        if token.kind is not TokenKind.EOF:
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        """Whether the next token is the symbol or keyword `text`."""
        token = self.peek()
        return token.kind in (TokenKind.SYMBOL, TokenKind.KEYWORD) and token.text == text

    def at_eof(self) -> bool:
        return self.peek().kind is TokenKind.EOF

    def match(self, text: str) -> Token | None:
        return self.advance() if self.at(text) else None

    # ------------------------------------------------------------------
    # Errors
    # ------------------------------------------------------------------

    def missing_loc(self, token: Token) -> SourceLoc:
        """Where to report that something is missing before `token`: at the
        token when it is on the same line as the previous one, else just after
        the previous token (the missing thing belongs at the end of that
        line, and at end of file there is nothing better to point at)."""
        prev = self.previous()
        if prev is None:
            return token.loc
        if token.kind is TokenKind.EOF or token.loc.line > prev.end.line:
            return prev.end
        return token.loc

    def expected(self, what: str, token: Token | None = None) -> NomaError:
        """`expected <what>, found <token>` (or `unexpected end of file:
        expected <what>`)."""
        token = token or self.peek()
        if token.kind is TokenKind.EOF:
            return NomaError(self.missing_loc(token), f"unexpected end of file: expected {what}")
        return NomaError(self.missing_loc(token), f"expected {what}, found {token.describe()}")

    def expect(self, text: str, context: str) -> Token:
        """Consume the symbol/keyword `text` or fail with `expected '<text>'
        <context>, found ...`."""
        if self.at(text):
            return self.advance()
        raise self.expected(f"'{text}' {context}")

    def expect_ident(self, what: str) -> Token:
        """Consume an identifier or fail with `expected <what>, found ...`."""
        if self.peek().kind is TokenKind.IDENT:
            return self.advance()
        raise self.expected(what)

    def expect_closer(self, close: str, opener: Token) -> Token:
        """Consume the bracket closing `opener`, or say which one is open."""
        if self.at(close):
            return self.advance()
        token = self.peek()
        message = f"expected '{close}' to close '{opener.text}' at {line_col(opener.loc)}"
        if token.kind is TokenKind.EOF:
            message = "unexpected end of file: " + message
        raise NomaError(self.missing_loc(token), message)

    def end_statement(self) -> None:
        """Every non-block statement ends with `;`, reported missing right
        after the statement's last token."""
        if self.match(";"):
            return
        prev = self.previous()
        assert prev is not None  # a statement consumed at least one token
        raise NomaError(prev.end, "expected ';' after statement")

    @contextmanager
    def nested(self, token: Token, what: str = "expression") -> Iterator[None]:
        """Count one level of nesting opened at `token`; past `MAX_NESTING`
        fail with a located error instead of exhausting Python's stack."""
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise NomaError(
                    token.loc, f"{what} nested too deeply (more than {MAX_NESTING} levels)"
                )
            yield
        finally:
            self.depth -= 1

    # ------------------------------------------------------------------
    # Lists
    # ------------------------------------------------------------------

    def parse_list(self, opener: Token, close: str, parse_item: Callable[[], T]) -> list[T]:
        """Comma-separated items up to the `close` matching `opener` (already
        consumed); a trailing comma is allowed."""
        items: list[T] = []
        while not self.at(close) and not self.at_eof():
            items.append(parse_item())
            if not self.match(","):
                break
        self.expect_closer(close, opener)
        return items

    def parse_name_list(self, opener: Token, what: str) -> list[ast.Name]:
        """`(a, b, ...)` of plain names, as in `optimize(...)` and
        `reset_optimizer(...)`; `opener` is the consumed `(`."""

        def item() -> ast.Name:
            token = self.expect_ident(what)
            return ast.Name(token.loc, token.text)

        return self.parse_list(opener, ")", item)


def line_col(loc: SourceLoc) -> str:
    return f"{loc.line}:{loc.col}"
