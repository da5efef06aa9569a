"""The NOMA parser: tokens -> `ast.Program`.

A hand-written recursive-descent parser for statements, with an
operator-precedence loop for binary operators (LANGUAGE.md sections 2, 4-8). It is
hand-written so that every error is a `NomaError` with a precise location
and a message that says what was expected, and so that no input, however
malformed or deeply nested, ends in a Python traceback.

Location conventions (every later stage relies on them):
- a statement is located at its first token;
- `Binary` and `Unary` at their operator (a shape error points at the `+`);
- `Call` at the callee name (also `callee_loc`), `Index` at its `[`,
  `Cast` at `as`, a tensor literal at `tensor` or at its `[`;
- a missing `;` (or anything missing at the end of a line) is reported just
  after the previous token, where it should have been written.

Syntax decisions the spec leaves open:
- a trailing comma is accepted in every bracketed list;
- a stray `;` (empty statement) is ignored, also between functions;
- `save_safetensors` entry names may be identifiers or strings
  (`{ "layer.0.weight": W }`), since PyTorch names contain dots;
- `init` (in realloc) and `reset_optimizer` (at the start of a statement)
  are recognised by position and are not reserved words;
- nesting deeper than `MAX_NESTING` is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from noma.frontend import ast
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.lexer import Token, TokenKind, tokenize

T = TypeVar("T")

MAX_NESTING = 64
"""How deeply parentheses, brackets, calls, unary operators, powers and
blocks may nest. Far beyond real programs, and low enough that the recursive
descent (at most about ten Python frames per level) stays well inside
Python's default recursion limit of 1000 without touching it."""

TOP_LEVEL_MESSAGE = "statements must be inside a function; wrap them in `fn main() { ... }`"

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

_COMPOUND_OPS = ("+", "-", "*", "/", "%")


def parse_program(source: str, filename: str) -> ast.Program:
    """Parse a whole NOMA source file. Raises `NomaError` on any bad input."""
    parser = Parser(tokenize(source, filename))
    try:
        functions = parser.parse_functions()
    except RecursionError:
        # Only reachable when the caller was already deep in the stack: the
        # nesting limit normally stops first. Still a located error.
        raise NomaError(parser.peek().loc, "expression nested too deeply") from None
    return ast.Program(filename, tuple(functions), source)


class Parser:
    """Recursive descent over the token list produced by `tokenize`."""

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
        message = f"expected '{close}' to close '{opener.text}' at {_line_col(opener.loc)}"
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

    def parse_name_list(self, opener: Token, what: str) -> list[ast.Name]:
        """`(a, b, ...)` of plain names, as in `optimize(...)` and
        `reset_optimizer(...)`; `opener` is the consumed `(`."""

        def item() -> ast.Name:
            token = self.expect_ident(what)
            return ast.Name(token.loc, token.text)

        return self.parse_list(opener, ")", item)

    # ------------------------------------------------------------------
    # Program and functions
    # ------------------------------------------------------------------

    def parse_functions(self) -> list[ast.Function]:
        """program := (function | ';')* EOF"""
        functions: dict[str, ast.Function] = {}
        while self.peek().kind is not TokenKind.EOF:
            token = self.peek()
            if token.is_keyword("fn"):
                function = self.parse_function()
                first = functions.get(function.name)
                if first is not None:
                    raise NomaError(
                        function.name_loc,
                        f"duplicate function '{function.name}' "
                        f"(first defined at {_line_col(first.name_loc or first.loc)})",
                    )
                functions[function.name] = function
            elif token.is_symbol(";"):
                self.advance()
            elif token.is_symbol("}"):
                raise NomaError(token.loc, "unmatched '}': no block is open here")
            else:
                raise NomaError(token.loc, TOP_LEVEL_MESSAGE)
        return list(functions.values())

    def parse_function(self) -> ast.Function:
        """function := 'fn' NAME '(' [NAME (',' NAME)*] ')' block"""
        fn = self.advance()
        name = self.expect_ident("a function name after 'fn'")
        opener = self.expect("(", f"after the function name '{name.text}'")
        params = self.parse_list(opener, ")", lambda: self.parse_param(name.text))
        seen: dict[str, ast.Param] = {}
        for param in params:
            if param.name in seen:
                raise NomaError(
                    param.loc, f"duplicate parameter '{param.name}' in function '{name.text}'"
                )
            seen[param.name] = param
        body = self.parse_block(f"the body of function '{name.text}'")
        return ast.Function(fn.loc, name.text, tuple(params), body, name_loc=name.loc)

    def parse_param(self, function: str) -> ast.Param:
        token = self.expect_ident(f"a parameter name in function '{function}'")
        return ast.Param(token.loc, token.text)

    def parse_block(self, what: str) -> tuple[ast.Stmt, ...]:
        """block := '{' stmt* '}'. `what` names the block for a missing `{`."""
        opener = self.expect("{", f"to start {what}")
        with self.nested(opener, "blocks"):
            statements: list[ast.Stmt] = []
            while not self.match("}"):
                token = self.peek()
                where = f"the block opened at {_line_col(opener.loc)}"
                if token.kind is TokenKind.EOF:
                    raise self.expected(f"'}}' to close {where}")
                if token.is_keyword("fn"):
                    raise NomaError(
                        token.loc,
                        f"expected '}}' to close {where} before the next function "
                        "(functions cannot be nested)",
                    )
                if token.is_symbol(";"):
                    self.advance()
                    continue
                statements.append(self.parse_statement())
        return tuple(statements)

    # ------------------------------------------------------------------
    # Statements
    # ------------------------------------------------------------------

    def parse_statement(self) -> ast.Stmt:
        """Dispatch on the first token; anything unrecognised is an assignment
        (`NAME = ...`) or an expression statement."""
        token = self.peek()
        if token.kind is TokenKind.KEYWORD:
            handler = _STATEMENT_KEYWORDS.get(token.text)
            if handler is not None:
                return handler(self)
            if token.text == "else":
                raise NomaError(token.loc, "'else' without a matching 'if'")
            if token.text != "tensor":  # `tensor [..];` is an expression statement
                raise NomaError(token.loc, f"expected a statement, found {token.describe()}")
        if token.kind is TokenKind.IDENT:
            if token.text == "reset_optimizer":
                return self.parse_reset_optimizer()
            if self.peek(1).is_symbol("="):
                return self.parse_assign()
            self.reject_compound_assignment()
        return self.parse_expression_statement()

    def reject_compound_assignment(self) -> None:
        """`x += 1` is not NOMA; say so instead of "expected an expression"."""
        name, op, eq = self.peek(), self.peek(1), self.peek(2)
        if (
            op.kind is TokenKind.SYMBOL
            and op.text in _COMPOUND_OPS
            and eq.is_symbol("=")
            and eq.loc.line == op.loc.line
            and eq.loc.col == op.end.col
        ):
            raise NomaError(
                op.loc,
                f"compound assignment '{op.text}=' is not supported; "
                f"write '{name.text} = {name.text} {op.text} ...'",
            )

    def parse_binding(self) -> tuple[Token, Token, ast.Expr]:
        """`KW NAME = expr ;` shared by let, learn, load_csv and
        load_safetensors; returns the keyword, the name and the value."""
        keyword = self.advance()
        name = self.expect_ident(f"a variable name after '{keyword.text}'")
        self.expect("=", f"after '{keyword.text} {name.text}'")
        value = self.parse_expression()
        self.end_statement()
        return keyword, name, value

    def parse_let(self) -> ast.Stmt:
        keyword, name, value = self.parse_binding()
        return ast.Let(keyword.loc, name.text, value)

    def parse_learn(self) -> ast.Stmt:
        keyword, name, value = self.parse_binding()
        return ast.Learn(keyword.loc, name.text, value)

    def parse_load_csv(self) -> ast.Stmt:
        keyword, name, path = self.parse_binding()
        return ast.LoadCsv(keyword.loc, name.text, path)

    def parse_load_safetensors(self) -> ast.Stmt:
        keyword, name, path = self.parse_binding()
        return ast.LoadSafetensors(keyword.loc, name.text, path)

    def parse_assign(self) -> ast.Stmt:
        name = self.advance()
        self.advance()  # '='
        value = self.parse_expression()
        self.end_statement()
        return ast.Assign(name.loc, name.text, value)

    def parse_expression_statement(self) -> ast.Stmt:
        start = self.peek()
        value = self.parse_expression()
        if self.at("="):
            raise NomaError(
                self.peek().loc,
                "cannot assign to this expression; only a variable can be assigned (`x = ...`)",
            )
        self.end_statement()
        return ast.ExprStmt(start.loc, value)

    def parse_optimize(self) -> ast.Stmt:
        """optimize := 'optimize' '(' names ')' ['with' spec] 'until' expr block"""
        keyword = self.advance()
        opener = self.expect("(", "after 'optimize'")
        params = self.parse_name_list(opener, "a parameter name in optimize(...)")
        optimizer = self.parse_optimizer_spec() if self.match("with") else None
        after = "the optimizer" if optimizer else "optimize(...)"
        self.expect("until", f"and a stop condition after {after}")
        until = self.parse_expression()
        if self.at("with"):
            raise NomaError(
                self.peek().loc,
                "the 'with' clause must come before 'until': "
                "optimize(...) with OPT(...) until COND { ... }",
            )
        body = self.parse_block("the body of optimize")
        return ast.Optimize(keyword.loc, tuple(params), optimizer, until, body)

    def parse_optimizer_spec(self) -> ast.OptimizerSpec:
        """spec := NAME '(' args ')', e.g. `adam(0.01)` or `adam(lr=0.01)`."""
        name = self.expect_ident("an optimizer name after 'with' (sgd, adam or rmsprop)")
        opener = self.expect("(", f"after the optimizer name '{name.text}'")
        args, kwargs = self.parse_call_args(opener)
        return ast.OptimizerSpec(name.loc, name.text, args, kwargs)

    def parse_minimize(self) -> ast.Stmt:
        keyword = self.advance()
        value = self.parse_expression()
        self.end_statement()
        return ast.Minimize(keyword.loc, value)

    def parse_dims(self, keyword: Token, name: Token) -> tuple[ast.Expr, ...]:
        """`= [d1, d2, ...]` of alloc and realloc: at least one dimension."""
        self.expect("=", f"after '{keyword.text} {name.text}'")
        opener = self.expect("[", f"to start the dimensions of '{keyword.text} {name.text}'")
        with self.nested(opener):
            dims = self.parse_expression_list(opener, "]")
        if not dims:
            raise NomaError(opener.loc, f"'{keyword.text}' needs at least one dimension")
        return tuple(dims)

    def parse_alloc(self) -> ast.Stmt:
        keyword = self.advance()
        name = self.expect_ident("a buffer name after 'alloc'")
        dims = self.parse_dims(keyword, name)
        self.end_statement()
        return ast.Alloc(keyword.loc, name.text, dims)

    def parse_realloc(self) -> ast.Stmt:
        """realloc := 'realloc' NAME '=' dims ['init' policy] ';'"""
        keyword = self.advance()
        name = self.expect_ident("a buffer or parameter name after 'realloc'")
        dims = self.parse_dims(keyword, name)
        init = None
        token = self.peek()
        if token.is_ident("init"):
            init = self.parse_init_policy()
        elif token.kind is TokenKind.IDENT and self.missing_loc(token) == token.loc:
            # `realloc W = [4] inti zeros;`: a misspelt `init`, not a lost `;`.
            raise self.expected("'init' or ';' after the dimensions of realloc")
        self.end_statement()
        return ast.Realloc(keyword.loc, name.text, dims, init)

    def parse_init_policy(self) -> ast.InitPolicy:
        """`init zeros`, `init normal(m, s)`, `init uniform(lo, hi)` are the
        named policies; anything else after `init` is a tensor expression."""
        init = self.advance()
        value = self.parse_expression()
        match value:
            case ast.Name(name="zeros"):
                return ast.InitPolicy(init.loc, "zeros")
            case ast.Call(callee="normal" | "uniform" as kind, args=(_, _) as args, kwargs=()):
                return ast.InitPolicy(init.loc, kind, args)
            case _:
                return ast.InitPolicy(init.loc, "expr", (value,))

    def parse_free(self) -> ast.Stmt:
        keyword = self.advance()
        name = self.expect_ident("a buffer name after 'free'")
        self.end_statement()
        return ast.Free(keyword.loc, name.text)

    def parse_reset_optimizer(self) -> ast.Stmt:
        """`reset_optimizer();` or `reset_optimizer(p, ...);`"""
        keyword = self.advance()
        opener = self.expect("(", "after 'reset_optimizer'")
        params = self.parse_name_list(opener, "a parameter name in reset_optimizer(...)")
        self.end_statement()
        return ast.ResetOptimizer(keyword.loc, tuple(params))

    def parse_if(self) -> ast.Stmt:
        """An `if / else if / else` chain. Parsed iteratively (a long chain
        must not use one Python frame per arm), then folded from the last arm
        so that each `else if` is an `If` nested in the previous `else_body`."""
        arms: list[tuple[Token, ast.Expr, tuple[ast.Stmt, ...]]] = []
        else_body: tuple[ast.Stmt, ...] | None = None
        keyword = self.advance()
        while True:
            cond = self.parse_expression()
            arms.append((keyword, cond, self.parse_block("the body of 'if'")))
            if not self.match("else"):
                break
            if self.at("if"):
                keyword = self.advance()
                continue
            else_body = self.parse_block("the body of 'else'")
            break
        node: ast.If | None = None
        for keyword, cond, then_body in reversed(arms):
            node = ast.If(keyword.loc, cond, then_body, else_body)
            else_body = (node,)
        assert node is not None
        return node

    def parse_while(self) -> ast.Stmt:
        keyword = self.advance()
        cond = self.parse_expression()
        body = self.parse_block("the body of 'while'")
        return ast.While(keyword.loc, cond, body)

    def parse_batch(self) -> ast.Stmt:
        """batch := 'batch' NAME (',' NAME)* 'in' expr (',' expr)* 'with' expr block

        One name per source, plus optionally one more: the block index."""
        keyword = self.advance()
        names = [self.expect_ident("a block variable name after 'batch'")]
        while self.match(","):
            names.append(self.expect_ident("a block variable name in 'batch'"))
        self.expect("in", "and the tensors to split after the names of 'batch'")
        source_starts = [self.peek()]
        sources = [self.parse_expression()]
        while self.match(","):
            source_starts.append(self.peek())
            sources.append(self.parse_expression())
        _check_batch_names(names, source_starts)
        self.expect("with", "and a batch size after the tensors of 'batch'")
        size = self.parse_expression()
        body = self.parse_block("the body of 'batch'")
        index = names[len(sources)].text if len(names) > len(sources) else None
        return ast.Batch(
            keyword.loc,
            tuple(n.text for n in names[: len(sources)]),
            index,
            tuple(sources),
            size,
            body,
        )

    def parse_return(self) -> ast.Stmt:
        keyword = self.advance()
        # `return }` is a `return;` missing its `;`, not a missing value.
        ends = self.at(";") or self.at("}") or self.at_eof()
        value = None if ends else self.parse_expression()
        self.end_statement()
        return ast.Return(keyword.loc, value)

    def parse_save_csv(self) -> ast.Stmt:
        """`save_csv value, path;`"""
        keyword = self.advance()
        value = self.parse_expression()
        self.expect(",", "and a file path after the value of 'save_csv'")
        path = self.parse_expression()
        self.end_statement()
        return ast.SaveCsv(keyword.loc, value, path)

    def parse_save_safetensors(self) -> ast.Stmt:
        """`save_safetensors { name: value, ... }, path;`"""
        keyword = self.advance()
        usage = 'save_safetensors { name: value }, "path"'
        opener = self.expect("{", f"after 'save_safetensors' ({usage})")
        with self.nested(opener):
            entries = self.parse_list(opener, "}", self.parse_safetensors_entry)
        if not entries:
            raise NomaError(opener.loc, "save_safetensors needs at least one 'name: value' entry")
        seen: set[str] = set()
        for name_loc, name, _ in entries:
            if name in seen:
                raise NomaError(name_loc, f"duplicate tensor name '{name}' in save_safetensors")
            seen.add(name)
        self.expect(",", "and a file path after the tensors of 'save_safetensors'")
        path = self.parse_expression()
        self.end_statement()
        return ast.SaveSafetensors(keyword.loc, tuple((n, v) for _, n, v in entries), path)

    def parse_safetensors_entry(self) -> tuple[SourceLoc, str, ast.Expr]:
        token = self.peek()
        if token.kind not in (TokenKind.IDENT, TokenKind.STRING):
            raise self.expected("a tensor name in save_safetensors { name: value, ... }")
        self.advance()
        name = token.text if token.kind is TokenKind.IDENT else str(token.value)
        self.expect(":", f"after the tensor name {token.text}")
        return token.loc, name, self.parse_expression()

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
        opener = self.advance()
        with self.nested(opener):
            index = self.parse_expression()
        if self.at(","):
            raise NomaError(
                self.peek().loc, "index with one subscript per bracket: write m[i][j], not m[i, j]"
            )
        self.expect_closer("]", opener)
        return ast.Index(opener.loc, base, index)

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


_STATEMENT_KEYWORDS: dict[str, Callable[[Parser], ast.Stmt]] = {
    "let": Parser.parse_let,
    "learn": Parser.parse_learn,
    "optimize": Parser.parse_optimize,
    "minimize": Parser.parse_minimize,
    "alloc": Parser.parse_alloc,
    "realloc": Parser.parse_realloc,
    "free": Parser.parse_free,
    "if": Parser.parse_if,
    "while": Parser.parse_while,
    "batch": Parser.parse_batch,
    "return": Parser.parse_return,
    "load_csv": Parser.parse_load_csv,
    "save_csv": Parser.parse_save_csv,
    "load_safetensors": Parser.parse_load_safetensors,
    "save_safetensors": Parser.parse_save_safetensors,
}
"""Statements recognised by their leading keyword."""


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


def _check_batch_names(names: list[Token], sources: list[Token]) -> None:
    """A batch binds one name per source, plus optionally a block index;
    names must be distinct. `sources` are the first tokens of the sources."""
    seen: set[str] = set()
    for name in names:
        if name.text in seen:
            raise NomaError(name.loc, f"duplicate name '{name.text}' in batch")
        seen.add(name.text)
    n, m = len(names), len(sources)
    if n < m:
        raise NomaError(
            sources[n].loc,
            f"batch has {m} tensors but only {n} name{'' if n == 1 else 's'} before 'in': "
            "give one block variable per tensor (and optionally an index name)",
        )
    if n > m + 1:
        raise NomaError(
            names[m + 1].loc,
            f"batch has {n} names for {m} tensor{'' if m == 1 else 's'}: expected one block "
            "variable per tensor and at most one index name",
        )


def _line_col(loc: SourceLoc) -> str:
    return f"{loc.line}:{loc.col}"
