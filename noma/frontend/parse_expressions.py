"""Expressions: operator precedence (LANGUAGE.md section 7), unary and
power operators, postfix indexing and casts, calls and tensor literals."""

from __future__ import annotations

from noma.frontend import ast
from noma.frontend.diagnostics import NomaError
from noma.frontend.lexer import Token, TokenKind
from noma.frontend.token_stream import TokenStream

CAST_TYPES = ("f64", "f32", "i32", "i64")

_PRECEDENCE: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3,
    "+": 4, "-": 4,
    "*": 5, "/": 5, "%": 5,
}  # fmt: skip
"""Binary operators looser than unary, loosest first. Unary `- !` bind
tighter than these; `** ^` tighter still (handled in `parse_power`)."""

_COMPARISON = 3


class ExpressionParser(TokenStream):
    def parse_expression_list(self, opener: Token, close: str) -> list[ast.Expr]:
        """`parse_list` of expressions, without the per-item callback frame:
        tensor literals nest through here, so its stack cost matters."""
        items: list[ast.Expr] = []
        while not self.at(close) and not self.at_eof():
            items.append(self.parse_expression())
            if not self.match(","):
                break
        self.expect_closer(close, opener)
        return items

    # ------------------------------------------------------------------
    # Expressions
    # ------------------------------------------------------------------

    def parse_expression(self) -> ast.Expr:
        """expression := unary (BINOP unary)*, with `_PRECEDENCE`.

        Operator-precedence parsing with an explicit operator stack rather
        than one recursive call per precedence level: it keeps the Python
        stack shallow per nesting level. All these operators are left
        associative except comparisons, which do not associate at all
        (`a < b < c` is an error rather than a silent `(a < b) < c`). The
        stack holds strictly increasing precedences, so a comparison on top
        when another arrives means the two are chained."""
        operands = [self.parse_unary()]
        operators: list[Token] = []
        while (prec := _binary_precedence(self.peek())) is not None:
            op = self.advance()
            while operators and (top := _PRECEDENCE[operators[-1].text]) >= prec:
                if top == prec == _COMPARISON:
                    raise NomaError(
                        op.loc,
                        f"comparisons cannot be chained ('{operators[-1].text}' then "
                        f"'{op.text}'); use parentheses or '&&', e.g. '(a < b) && (b < c)'",
                    )
                _reduce(operands, operators)
            operators.append(op)
            operands.append(self.parse_unary())
        while operators:
            _reduce(operands, operators)
        return operands[0]

    def parse_unary(self) -> ast.Expr:
        """unary := ('-' | '!') unary | power"""
        op = self.peek()
        if op.is_symbol("-") or op.is_symbol("!"):
            self.advance()
            with self.nested(op):
                operand = self.parse_unary()
            return ast.Unary(op.loc, op.text, operand)
        return self.parse_power()

    def parse_power(self) -> ast.Expr:
        """power := postfix [('**' | '^') unary]: right associative through
        the recursion, tighter than unary minus on its left (`-x ** 2` is
        `-(x ** 2)`) yet accepting one on its right (`2 ** -1`)."""
        base = self.parse_postfix()
        op = self.peek()
        if not (op.is_symbol("**") or op.is_symbol("^")):
            return base
        self.advance()
        with self.nested(op):
            exponent = self.parse_unary()
        return ast.Binary(op.loc, "**", base, exponent)

    def parse_postfix(self) -> ast.Expr:
        """postfix := primary ('[' expr ']' | 'as' TYPE)*"""
        expr = self.parse_primary()
        while True:
            if self.at("["):
                expr = self.parse_index(expr)
            elif self.at("as"):
                expr = self.parse_cast(expr)
            elif self.at("("):
                raise NomaError(
                    self.peek().loc,
                    "only a function name can be called (write `f(x)`, not `(expr)(x)`)",
                )
            else:
                return expr

    def parse_index(self, base: ast.Expr) -> ast.Expr:
        """'[' subscript (',' subscript)* ']' where subscript := expr |
        [expr] ':' [expr]. One plain index is an `Index`; slices or several
        subscripts make a `Sliced`."""
        opener = self.advance()
        subscripts: list[ast.Expr] = []
        with self.nested(opener):
            while True:
                subscripts.append(self.parse_subscript())
                if not self.match(","):
                    break
        self.expect_closer("]", opener)
        if len(subscripts) == 1 and not isinstance(subscripts[0], ast.Slice):
            return ast.Index(opener.loc, base, subscripts[0])
        return ast.Sliced(opener.loc, base, tuple(subscripts))

    def parse_subscript(self) -> ast.Expr:
        start = self.peek()
        lower = None if self.at(":") else self.parse_expression()
        if not self.at(":"):
            assert lower is not None
            return lower
        colon = self.advance()
        upper = None if self.at(",") or self.at("]") else self.parse_expression()
        return ast.Slice(start.loc if lower is not None else colon.loc, lower, upper)

    def parse_cast(self, operand: ast.Expr) -> ast.Expr:
        keyword = self.advance()
        token = self.peek()
        if token.kind is not TokenKind.IDENT:
            raise self.expected("a type name after 'as' (f64, f32, i32 or i64)")
        if token.text not in CAST_TYPES:
            raise NomaError(
                token.loc,
                f"unknown type '{token.text}' after 'as' (expected f64, f32, i32 or i64)",
            )
        self.advance()
        return ast.Cast(keyword.loc, operand, token.text)

    def parse_primary(self) -> ast.Expr:
        """primary := NUMBER | STRING | NAME | call | '(' expr ')' | tensor literal"""
        token = self.peek()
        match token.kind:
            case TokenKind.NUMBER:
                self.advance()
                assert isinstance(token.value, float)
                return ast.Number(token.loc, token.value)
            case TokenKind.STRING:
                self.advance()
                assert isinstance(token.value, str)
                return ast.String(token.loc, token.value)
            case TokenKind.IDENT:
                self.advance()
                if self.at("("):
                    return self.parse_call(token)
                return ast.Name(token.loc, token.text)
        if token.is_symbol("("):
            self.advance()
            with self.nested(token):
                inner = self.parse_expression()
            self.expect_closer(")", token)
            return inner
        if token.is_keyword("tensor"):
            self.advance()
            opener = self.expect("[", "after 'tensor'")
            return self.parse_tensor_literal(token, opener)
        if token.is_symbol("["):
            return self.parse_tensor_literal(token, self.advance())
        raise self.expected_expression(token)

    def expected_expression(self, token: Token) -> NomaError:
        if token.kind is TokenKind.EOF:
            return self.expected("an expression", token)
        # Point at the offending token itself, even on a new line: the
        # expression is missing right there.
        return NomaError(token.loc, f"expected an expression, found {token.describe()}")

    def parse_call(self, callee: Token) -> ast.Expr:
        opener = self.advance()
        with self.nested(opener):
            args, kwargs = self.parse_call_args(opener)
        return ast.Call(callee.loc, callee.text, args, kwargs, callee_loc=callee.loc)

    def parse_call_args(
        self, opener: Token
    ) -> tuple[tuple[ast.Expr, ...], tuple[tuple[str, ast.Expr], ...]]:
        """Positional arguments, then keyword arguments `name=expr`, up to the
        `)` matching `opener` (already consumed). Like `parse_list`, written
        out so nested calls cost few Python frames."""
        args: list[ast.Expr] = []
        kwargs: list[tuple[str, ast.Expr]] = []
        while not self.at(")") and not self.at_eof():
            token = self.peek()
            if token.kind is TokenKind.IDENT and self.peek(1).is_symbol("="):
                if any(name == token.text for name, _ in kwargs):
                    raise NomaError(token.loc, f"duplicate keyword argument '{token.text}'")
                self.advance()
                self.advance()
                kwargs.append((token.text, self.parse_expression()))
            elif kwargs:
                raise NomaError(token.loc, "positional argument after keyword argument")
            else:
                args.append(self.parse_expression())
            if not self.match(","):
                break
        self.expect_closer(")", opener)
        return tuple(args), tuple(kwargs)

    def parse_tensor_literal(self, start: Token, opener: Token) -> ast.Expr:
        """`tensor [..]` or `[..]`: elements are expressions (usually numbers
        and nested literals). Raggedness is checked later, not here."""
        with self.nested(opener):
            elements = self.parse_expression_list(opener, "]")
        if not elements:
            raise NomaError(opener.loc, "empty tensor literal")
        return ast.TensorLiteral(start.loc, tuple(elements))


def _reduce(operands: list[ast.Expr], operators: list[Token]) -> None:
    """Replace the top two operands by the top operator applied to them."""
    op = operators.pop()
    rhs = operands.pop()
    lhs = operands.pop()
    operands.append(ast.Binary(op.loc, op.text, lhs, rhs))


def _binary_precedence(token: Token) -> int | None:
    if token.kind is not TokenKind.SYMBOL:
        return None
    return _PRECEDENCE.get(token.text)
