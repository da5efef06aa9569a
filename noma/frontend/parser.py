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
- `init` (in realloc), `reset_optimizer` (at the start of a statement) and
  `save_checkpoint` / `load_checkpoint` (at the start of a statement, before
  a string) are recognised by position and are not reserved words;
- nesting deeper than `MAX_NESTING` is an error.
"""

from __future__ import annotations

from collections.abc import Callable

from noma.frontend import ast
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.lexer import Token, TokenKind, tokenize
from noma.frontend.parse_expressions import CAST_TYPES, ExpressionParser
from noma.frontend.token_stream import MAX_NESTING, line_col

__all__ = ["CAST_TYPES", "MAX_NESTING", "TOP_LEVEL_MESSAGE", "Parser", "parse_program"]

TOP_LEVEL_MESSAGE = "statements must be inside a function; wrap them in `fn main() { ... }`"

_COMPOUND_OPS = ("+", "-", "*", "/", "%")

_CHECKPOINT_STATEMENTS: dict[str, type[ast.SaveCheckpoint | ast.LoadCheckpoint]] = {
    "save_checkpoint": ast.SaveCheckpoint,
    "load_checkpoint": ast.LoadCheckpoint,
}
"""Recognised at the start of a statement before a string, not reserved."""


def parse_program(
    source: str, filename: str, *, script: tuple[str, ...] | None = None
) -> ast.Program:
    """Parse a whole NOMA source file. Raises `NomaError` on any bad input.

    A `script` (a notebook cell) may also have statements outside any
    function: in order, they are the body of `main`, whose parameters
    `script` names, and which the source must then not define itself."""
    parser = Parser(tokenize(source, filename))
    try:
        functions = parser.parse_functions(script)
    except RecursionError:
        # Only reachable when the caller was already deep in the stack: the
        # nesting limit normally stops first. Still a located error.
        raise NomaError(parser.peek().loc, "expression nested too deeply") from None
    return ast.Program(filename, tuple(functions), source)


class Parser(ExpressionParser):
    """Recursive descent over statements and functions."""

    # ------------------------------------------------------------------
    # Program and functions
    # ------------------------------------------------------------------

    def parse_functions(self, script: tuple[str, ...] | None = None) -> list[ast.Function]:
        """program := (function | ';')* EOF, or for a `script`
        (function | stmt)* EOF"""
        functions: dict[str, ast.Function] = {}
        top_level: list[ast.Stmt] = []
        while self.peek().kind is not TokenKind.EOF:
            token = self.peek()
            if token.is_keyword("fn"):
                function = self.parse_function()
                first = functions.get(function.name)
                if first is not None:
                    raise NomaError(
                        function.name_loc,
                        f"duplicate function '{function.name}' "
                        f"(first defined at {line_col(first.name_loc or first.loc)})",
                    )
                functions[function.name] = function
            elif token.is_symbol(";"):
                self.advance()
            elif token.is_symbol("}"):
                raise NomaError(token.loc, "unmatched '}': no block is open here")
            elif script is not None:
                top_level.append(self.parse_statement())
            else:
                raise NomaError(token.loc, TOP_LEVEL_MESSAGE)
        if top_level:
            assert script is not None
            functions["main"] = self._script_main(top_level, script, functions.get("main"))
        return list(functions.values())

    @staticmethod
    def _script_main(
        statements: list[ast.Stmt], parameters: tuple[str, ...], defined: ast.Function | None
    ) -> ast.Function:
        """`main` made of a script's statements outside functions (after the
        functions, whatever their order in the source)."""
        first = statements[0].loc
        if defined is not None:
            raise NomaError(
                first,
                "statements outside functions are the body of `main`, but `fn main` "
                f"is also defined (at {line_col(defined.name_loc or defined.loc)})",
            )
        params = tuple(ast.Param(first, name) for name in parameters)
        return ast.Function(first, "main", params, tuple(statements), name_loc=first)

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
                where = f"the block opened at {line_col(opener.loc)}"
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
            if token.text in _CHECKPOINT_STATEMENTS and self.peek(1).kind is TokenKind.STRING:
                return self.parse_checkpoint()
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
        if self.peek().kind is not TokenKind.IDENT:
            # The table brings in the dialect: read only on this error path.
            from noma.dialects.noma.optimizers import listed, optimizer_names

            names = listed(optimizer_names(), " or ")
            raise self.expected(f"an optimizer name after 'with' ({names})")
        name = self.advance()
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

    def parse_checkpoint(self) -> ast.Stmt:
        """`save_checkpoint "path";` or `load_checkpoint "path";`"""
        keyword = self.advance()
        path = self.advance()
        self.end_statement()
        return _CHECKPOINT_STATEMENTS[keyword.text](keyword.loc, ast.String(path.loc, path.value))

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
