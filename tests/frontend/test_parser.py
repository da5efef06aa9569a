"""Tests of the NOMA parser (LANGUAGE.md sections 2, 4-8): the tree built
for every construct, operator precedence and associativity, node locations,
every syntax error with its exact message and line:col, and robustness
(random input and deep nesting give a `NomaError`, never a traceback)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noma.frontend import ast
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.lexer import SYMBOLS
from noma.frontend.parser import MAX_NESTING, TOP_LEVEL_MESSAGE, parse_program

FILE = "t.noma"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def parse(source: str) -> ast.Program:
    return parse_program(source, FILE)


def body(statements: str) -> tuple[ast.Stmt, ...]:
    """The statements of `fn main() { <statements> }` (line 1 is `fn main() {`)."""
    return parse(f"fn main() {{\n{statements}\n}}").functions[0].body


def stmt(statement: str) -> ast.Stmt:
    (result,) = body(statement)
    return result


def expr(source: str) -> ast.Expr:
    """The expression `source`, parsed as the value of a `let` (line 2, col 9)."""
    result = stmt(f"let v = {source};")
    assert isinstance(result, ast.Let)
    return result.value


def show(e: ast.Expr) -> str:
    """An S-expression for a tree, so shapes are easy to compare."""
    match e:
        case ast.Number(value=v):
            return f"{v:g}"
        case ast.String(value=v):
            return repr(v)
        case ast.Name(name=n):
            return n
        case ast.Unary(op=op, operand=o):
            return f"({op} {show(o)})"
        case ast.Binary(op=op, lhs=lhs, rhs=rhs):
            return f"({op} {show(lhs)} {show(rhs)})"
        case ast.Call(callee=callee, args=args, kwargs=kwargs):
            parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs]
            return f"{callee}({', '.join(parts)})"
        case ast.Index(base=b, index=i):
            return f"{show(b)}[{show(i)}]"
        case ast.Cast(operand=o, type_name=t):
            return f"({show(o)} as {t})"
        case ast.TensorLiteral(elements=elements):
            return "[" + ", ".join(show(x) for x in elements) + "]"
    raise AssertionError(f"unknown node {e!r}")


def at(line: int, col: int) -> SourceLoc:
    return SourceLoc(FILE, line, col)


def error(source: str) -> NomaError:
    with pytest.raises(NomaError) as info:
        parse(source)
    return info.value


def assert_error(source: str, line: int, col: int, message: str) -> None:
    e = error(source)
    assert e.message == message
    assert e.loc == at(line, col), f"error at {e.loc}, expected {line}:{col}: {e.message}"


# ---------------------------------------------------------------------------
# Program structure
# ---------------------------------------------------------------------------


def test_program_carries_filename_and_source() -> None:
    source = "fn main() { }"
    program = parse_program(source, "prog.noma")
    assert program.filename == "prog.noma"
    assert program.source == source
    assert [f.name for f in program.functions] == ["main"]


def test_empty_program_has_no_functions() -> None:
    assert parse("").functions == ()
    assert parse("  // only a comment\n").functions == ()


def test_functions_with_params_and_locations() -> None:
    program = parse("fn add(a, b) {\n  return a + b;\n}\n\nfn main() { return add(1, 2); }")
    add, main = program.functions
    assert add.name == "add"
    assert add.loc == at(1, 1)
    assert add.name_loc == at(1, 4)
    assert add.params == (ast.Param(at(1, 8), "a"), ast.Param(at(1, 11), "b"))
    assert add.body == (
        ast.Return(
            at(2, 3), ast.Binary(at(2, 12), "+", ast.Name(at(2, 10), "a"), ast.Name(at(2, 14), "b"))
        ),
    )
    assert main.loc == at(5, 1)
    assert main.params == ()
    assert program.function("add") is add
    assert program.function("nope") is None


def test_trailing_comma_in_parameters() -> None:
    (f,) = parse("fn f(a, b,) { }").functions
    assert [p.name for p in f.params] == ["a", "b"]


def test_stray_semicolons_are_ignored() -> None:
    program = parse("fn f() { ; let x = 1;; };\n;fn main() { }")
    assert [f.name for f in program.functions] == ["f", "main"]
    assert len(program.functions[0].body) == 1


@pytest.mark.parametrize(
    "source, line, col",
    [
        ("let x = 1;", 1, 1),
        ("print(1);", 1, 1),
        ("fn main() { }\nx = 2;", 2, 1),
        ("fn main() { }\n  42", 2, 3),
        ('"hello"', 1, 1),
        ("learn W = 1;", 1, 1),
    ],
)
def test_code_outside_a_function_suggests_main(source: str, line: int, col: int) -> None:
    assert_error(source, line, col, TOP_LEVEL_MESSAGE)
    assert "fn main() { ... }" in TOP_LEVEL_MESSAGE


def test_unmatched_closing_brace_at_top_level() -> None:
    assert_error("fn main() { }\n}", 2, 1, "unmatched '}': no block is open here")


def test_duplicate_function_is_reported_at_the_second_name() -> None:
    assert_error(
        "fn f() { }\nfn main() { }\nfn  f(x) { }",
        3,
        5,
        "duplicate function 'f' (first defined at 1:4)",
    )


def test_duplicate_parameter_is_reported_at_the_second() -> None:
    assert_error("fn f(a, b, a) { }", 1, 12, "duplicate parameter 'a' in function 'f'")


@pytest.mark.parametrize(
    "source, line, col, message",
    [
        ("fn (a) { }", 1, 4, "expected a function name after 'fn', found '('"),
        ("fn let() { }", 1, 4, "expected a function name after 'fn', found keyword 'let'"),
        ("fn main { }", 1, 9, "expected '(' after the function name 'main', found '{'"),
        ("fn f(1) { }", 1, 6, "expected a parameter name in function 'f', found number 1"),
        ("fn f(a b) { }", 1, 8, "expected ')' to close '(' at 1:5"),
        (
            "fn main()\nlet x = 1;",
            1,
            10,
            "expected '{' to start the body of function 'main', found keyword 'let'",
        ),
        (
            "fn main() let",
            1,
            11,
            "expected '{' to start the body of function 'main', found keyword 'let'",
        ),
        ("fn", 1, 3, "unexpected end of file: expected a function name after 'fn'"),
        ("fn main(", 1, 9, "unexpected end of file: expected ')' to close '(' at 1:8"),
        (
            "fn main()",
            1,
            10,
            "unexpected end of file: expected '{' to start the body of function 'main'",
        ),
        (
            "fn main() {\n  let x = 1;\n",
            2,
            13,
            "unexpected end of file: expected '}' to close the block opened at 1:11",
        ),
        (
            "fn f() {\n  let x = 1;\nfn main() { }",
            3,
            1,
            "expected '}' to close the block opened at 1:8 before the next function "
            "(functions cannot be nested)",
        ),
    ],
)
def test_function_syntax_errors(source: str, line: int, col: int, message: str) -> None:
    assert_error(source, line, col, message)


# ---------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------


def test_let() -> None:
    assert stmt("  let x = 1;") == ast.Let(at(2, 3), "x", ast.Number(at(2, 11), 1.0))


def test_let_may_repeat_a_name() -> None:
    assert [s.name for s in body("let lr = 1; let lr = 2;")] == ["lr", "lr"]  # type: ignore[attr-defined]


def test_assign() -> None:
    assert stmt("x = y;") == ast.Assign(at(2, 1), "x", ast.Name(at(2, 5), "y"))


def test_contextual_words_are_ordinary_names_elsewhere() -> None:
    s = stmt("init = zeros + normal;")
    assert isinstance(s, ast.Assign) and s.name == "init"


def test_learn() -> None:
    s = stmt("learn W = tensor [[0.1], [0.2]];")
    assert isinstance(s, ast.Learn)
    assert s.loc == at(2, 1)
    assert s.name == "W"
    assert show(s.value) == "[[0.1], [0.2]]"


def test_learn_from_any_expression() -> None:
    s = stmt("learn W = rand_normal_tensor(0, 0.1, 2, 3);")
    assert isinstance(s, ast.Learn) and show(s.value) == "rand_normal_tensor(0, 0.1, 2, 3)"


def test_optimize_with_optimizer_until_and_body() -> None:
    s = stmt(
        "optimize(W1, W2) with adam(0.05) until loss < 0.002 {\n"
        "    let loss = mean(W1 * W2);\n"
        "    minimize loss;\n"
        "}"
    )
    assert isinstance(s, ast.Optimize)
    assert s.loc == at(2, 1)
    assert s.params == (ast.Name(at(2, 10), "W1"), ast.Name(at(2, 14), "W2"))
    assert s.optimizer == ast.OptimizerSpec(at(2, 23), "adam", (ast.Number(at(2, 28), 0.05),), ())
    assert show(s.until) == "(< loss 0.002)"
    assert isinstance(s.body[0], ast.Let)
    assert s.body[1] == ast.Minimize(at(4, 5), ast.Name(at(4, 14), "loss"))


def test_optimize_without_with_clause() -> None:
    s = stmt("optimize(W) until i > 10 { minimize W; }")
    assert isinstance(s, ast.Optimize)
    assert s.optimizer is None
    assert [p.name for p in s.params] == ["W"]


def test_optimize_with_empty_parameter_list() -> None:
    s = stmt("optimize() until 1 { minimize x; }")
    assert isinstance(s, ast.Optimize) and s.params == ()


def test_optimizer_keyword_arguments() -> None:
    s = stmt("optimize(W) with adam(lr=0.01, beta1=0.9) until 1 { }")
    assert isinstance(s, ast.Optimize) and s.optimizer is not None
    assert s.optimizer.name == "adam"
    assert s.optimizer.args == ()
    assert [(k, show(v)) for k, v in s.optimizer.kwargs] == [("lr", "0.01"), ("beta1", "0.9")]


def test_optimizer_positional_then_keyword_arguments() -> None:
    s = stmt("optimize(W) with rmsprop(0.01, eps=1e-6) until 1 { }")
    assert isinstance(s, ast.Optimize) and s.optimizer is not None
    assert [show(a) for a in s.optimizer.args] == ["0.01"]
    assert [k for k, _ in s.optimizer.kwargs] == ["eps"]


def test_optimizer_with_no_arguments() -> None:
    s = stmt("optimize(W) with sgd() until 1 { }")
    assert isinstance(s, ast.Optimize) and s.optimizer is not None
    assert (s.optimizer.args, s.optimizer.kwargs) == ((), ())


def test_minimize() -> None:
    s = stmt("minimize (a - b) ** 2;")
    assert isinstance(s, ast.Minimize) and show(s.value) == "(** (- a b) 2)"


def test_alloc() -> None:
    s = stmt("alloc buf = [n, 2 * m];")
    assert isinstance(s, ast.Alloc)
    assert s.loc == at(2, 1)
    assert s.name == "buf"
    assert [show(d) for d in s.dims] == ["n", "(* 2 m)"]


def test_realloc_without_init() -> None:
    s = stmt("realloc W = [10, 1];")
    assert s == ast.Realloc(
        at(2, 1), "W", (ast.Number(at(2, 14), 10.0), ast.Number(at(2, 18), 1.0)), None
    )


def test_realloc_init_zeros() -> None:
    s = stmt("realloc W = [4] init zeros;")
    assert isinstance(s, ast.Realloc)
    assert s.init == ast.InitPolicy(at(2, 17), "zeros")


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_realloc_init_distribution(kind: str) -> None:
    s = stmt(f"realloc W = [4, 4] init {kind}(0, 0.5);")
    assert isinstance(s, ast.Realloc) and s.init is not None
    assert s.init.kind == kind
    assert s.init.loc == at(2, 20)
    assert [show(a) for a in s.init.args] == ["0", "0.5"]


@pytest.mark.parametrize(
    "policy, shown",
    [
        ("rand_normal_tensor(0, 1, 4)", "rand_normal_tensor(0, 1, 4)"),
        ("[1, 2, 3, 4]", "[1, 2, 3, 4]"),
        ("normal(0, 1, 2)", "normal(0, 1, 2)"),  # not exactly two arguments
        ("normal(0)", "normal(0)"),
        ("uniform(lo=0, hi=1)", "uniform(lo=0, hi=1)"),  # keyword arguments
        ("normal(0, 1) * 2", "(* normal(0, 1) 2)"),
        ("zeros * 2", "(* zeros 2)"),
        ("W2", "W2"),
    ],
)
def test_realloc_init_expression(policy: str, shown: str) -> None:
    s = stmt(f"realloc W = [4] init {policy};")
    assert isinstance(s, ast.Realloc) and s.init is not None
    assert s.init.kind == "expr"
    assert [show(a) for a in s.init.args] == [shown]


def test_free() -> None:
    assert stmt("free buf;") == ast.Free(at(2, 1), "buf")


def test_reset_optimizer_all_and_some() -> None:
    assert stmt("reset_optimizer();") == ast.ResetOptimizer(at(2, 1), ())
    assert stmt("reset_optimizer(p, q);") == ast.ResetOptimizer(
        at(2, 1), (ast.Name(at(2, 17), "p"), ast.Name(at(2, 20), "q"))
    )


def test_if_without_else() -> None:
    s = stmt("if x > 0 { y = 1; }")
    assert isinstance(s, ast.If)
    assert s.loc == at(2, 1)
    assert show(s.cond) == "(> x 0)"
    assert len(s.then_body) == 1
    assert s.else_body is None


def test_if_else() -> None:
    s = stmt("if x { } else { y = 2; z = 3; }")
    assert isinstance(s, ast.If)
    assert s.then_body == ()
    assert s.else_body is not None and len(s.else_body) == 2


def test_else_if_chain_nests_in_else_body() -> None:
    s = stmt("if a { x = 1; } else if b { x = 2; } else if c { x = 3; } else { x = 4; }")
    assert isinstance(s, ast.If) and show(s.cond) == "a"
    assert s.else_body is not None and len(s.else_body) == 1
    second = s.else_body[0]
    assert isinstance(second, ast.If) and show(second.cond) == "b"
    assert second.loc == at(2, 22)
    assert second.else_body is not None
    third = second.else_body[0]
    assert isinstance(third, ast.If) and show(third.cond) == "c"
    assert third.else_body is not None
    (last,) = third.else_body
    assert isinstance(last, ast.Assign) and show(last.value) == "4"


def test_else_if_without_final_else() -> None:
    s = stmt("if a { } else if b { }")
    assert isinstance(s, ast.If) and s.else_body is not None
    (inner,) = s.else_body
    assert isinstance(inner, ast.If) and inner.else_body is None


def test_while() -> None:
    s = stmt("while i < 10 {\n  i = i + 1;\n}")
    assert isinstance(s, ast.While)
    assert show(s.cond) == "(< i 10)"
    assert s.body == (ast.Assign(at(3, 3), "i", s.body[0].value),)  # type: ignore[attr-defined]


def test_nested_blocks() -> None:
    s = stmt("while a { if b { optimize(W) until c { batch x in X with 2 { minimize x; } } } }")
    assert isinstance(s, ast.While)
    (inner_if,) = s.body
    assert isinstance(inner_if, ast.If)
    (opt,) = inner_if.then_body
    assert isinstance(opt, ast.Optimize)
    (batch,) = opt.body
    assert isinstance(batch, ast.Batch)


def test_batch_single_source() -> None:
    s = stmt("batch xb in X with 32 { minimize mean(xb); }")
    assert isinstance(s, ast.Batch)
    assert s.loc == at(2, 1)
    assert (s.names, s.index) == (("xb",), None)
    assert [show(x) for x in s.sources] == ["X"]
    assert show(s.batch_size) == "32"
    assert len(s.body) == 1


def test_batch_single_source_with_index() -> None:
    s = stmt("batch xb, i in X with n / 2 { }")
    assert isinstance(s, ast.Batch)
    assert (s.names, s.index) == (("xb",), "i")
    assert show(s.batch_size) == "(/ n 2)"


def test_batch_lockstep_sources() -> None:
    s = stmt("batch xb, yb in X, Y with 4 { }")
    assert isinstance(s, ast.Batch)
    assert (s.names, s.index) == (("xb", "yb"), None)
    assert [show(x) for x in s.sources] == ["X", "Y"]


def test_batch_lockstep_sources_with_index() -> None:
    s = stmt("batch xb, yb, k in X, f(Y) with 4 { }")
    assert isinstance(s, ast.Batch)
    assert (s.names, s.index) == (("xb", "yb"), "k")
    assert [show(x) for x in s.sources] == ["X", "f(Y)"]


def test_return_with_and_without_value() -> None:
    assert stmt("return x;") == ast.Return(at(2, 1), ast.Name(at(2, 8), "x"))
    assert stmt("return;") == ast.Return(at(2, 1), None)


def test_load_csv() -> None:
    assert stmt('load_csv X = "data/x.csv";') == ast.LoadCsv(
        at(2, 1), "X", ast.String(at(2, 14), "data/x.csv")
    )


def test_save_csv() -> None:
    s = stmt('save_csv W * 2, "out.csv";')
    assert isinstance(s, ast.SaveCsv)
    assert show(s.value) == "(* W 2)"
    assert show(s.path) == "'out.csv'"


def test_load_safetensors() -> None:
    assert stmt('load_safetensors W1 = "w.safetensors";') == ast.LoadSafetensors(
        at(2, 1), "W1", ast.String(at(2, 23), "w.safetensors")
    )


def test_save_safetensors() -> None:
    s = stmt('save_safetensors { W1: W1, b: b + 1, }, "out.safetensors";')
    assert isinstance(s, ast.SaveSafetensors)
    assert [(k, show(v)) for k, v in s.entries] == [("W1", "W1"), ("b", "(+ b 1)")]
    assert show(s.path) == "'out.safetensors'"


def test_save_safetensors_string_names() -> None:
    s = stmt('save_safetensors { "layer.0.weight": W }, "m.st";')
    assert isinstance(s, ast.SaveSafetensors)
    assert s.entries[0][0] == "layer.0.weight"


def test_paths_may_be_any_expression() -> None:
    s = stmt("load_csv X = path;")
    assert isinstance(s, ast.LoadCsv) and show(s.path) == "path"


def test_expression_statements() -> None:
    s = stmt('  print("hello");')
    assert isinstance(s, ast.ExprStmt)
    assert s.loc == at(2, 3)
    assert show(s.value) == "print('hello')"


def test_expression_statement_is_located_at_its_first_token() -> None:
    s = stmt("a + b;")
    assert isinstance(s, ast.ExprStmt)
    assert s.loc == at(2, 1)
    assert s.value.loc == at(2, 3)


def test_tensor_literal_statement() -> None:
    s = stmt("tensor [1];")
    assert isinstance(s, ast.ExprStmt) and show(s.value) == "[1]"


def test_statements_spanning_lines() -> None:
    s = stmt("let\n  x\n  =\n  1\n  ;")
    assert s == ast.Let(at(2, 1), "x", ast.Number(at(5, 3), 1.0))


def test_comments_between_statements() -> None:
    stmts = body("let a = 1; // one\n/* two\n */ let b = 2;")
    assert [s.name for s in stmts] == ["a", "b"]  # type: ignore[attr-defined]


def test_seed_readme_program_parses() -> None:
    source = """
fn main() {
    learn W = tensor [[0.1], [0.2]];  // start small

    optimize(W) with adam(0.01) until loss < 0.01 {
        let pred = matmul(X, W);
        let loss = mean((pred - Y) * (pred - Y));

        if loss > 0.5 {
            realloc W = [10, 1];      // grow capacity, keep training
        }

        minimize loss;
    }

    return W;
}
"""
    (main,) = parse(source).functions
    assert [type(s).__name__ for s in main.body] == ["Learn", "Optimize", "Return"]


# ---------------------------------------------------------------------------
# Expressions: primaries and postfix
# ---------------------------------------------------------------------------


def test_number_string_name() -> None:
    assert expr("1.5") == ast.Number(at(2, 9), 1.5)
    assert expr('"s"') == ast.String(at(2, 9), "s")
    assert expr("abc") == ast.Name(at(2, 9), "abc")


def test_parentheses_do_not_create_nodes() -> None:
    assert expr("((x))") == ast.Name(at(2, 11), "x")


def test_call_locations_and_args() -> None:
    e = expr("f(a, 2)")
    assert isinstance(e, ast.Call)
    assert e.loc == at(2, 9) and e.callee_loc == at(2, 9)
    assert show(e) == "f(a, 2)"


def test_call_with_no_args_and_trailing_comma() -> None:
    assert show(expr("rand()")) == "rand()"
    assert show(expr("max(a, b,)")) == "max(a, b)"


def test_call_keyword_arguments() -> None:
    e = expr("f(1, x=2, y=a == b)")
    assert isinstance(e, ast.Call)
    assert show(e) == "f(1, x=2, y=(== a b))"


def test_nested_calls() -> None:
    assert show(expr("sigmoid(matmul(sigmoid(matmul(X, W1)), W2))")) == (
        "sigmoid(matmul(sigmoid(matmul(X, W1)), W2))"
    )


def test_index_chain_and_location() -> None:
    e = expr("m[i][j + 1]")
    assert show(e) == "m[i][(+ j 1)]"
    assert isinstance(e, ast.Index)
    assert e.loc == at(2, 13)
    assert isinstance(e.base, ast.Index) and e.base.loc == at(2, 10)


def test_index_on_call_and_literal() -> None:
    assert show(expr("f(x)[0]")) == "f(x)[0]"
    assert show(expr("[1, 2][0]")) == "[1, 2][0]"


@pytest.mark.parametrize("type_name", ["f64", "f32", "i32", "i64"])
def test_cast(type_name: str) -> None:
    e = expr(f"x as {type_name}")
    assert e == ast.Cast(at(2, 11), ast.Name(at(2, 9), "x"), type_name)


def test_cast_chain_and_postfix_mix() -> None:
    assert show(expr("m[0] as i32 as f64")) == "((m[0] as i32) as f64)"


def test_tensor_literal_forms() -> None:
    e = expr("tensor [1, 2]")
    assert isinstance(e, ast.TensorLiteral) and e.loc == at(2, 9)
    bare = expr("[[1, 2], [3, 4]]")
    assert isinstance(bare, ast.TensorLiteral) and bare.loc == at(2, 9)
    assert show(bare) == "[[1, 2], [3, 4]]"
    assert bare.elements[1].loc == at(2, 18)


def test_tensor_literal_elements_are_expressions() -> None:
    assert show(expr("[-1, a + 1, f(x)]")) == "[(- 1), (+ a 1), f(x)]"


def test_tensor_literal_trailing_comma() -> None:
    assert show(expr("[1, 2,]")) == "[1, 2]"


def test_ragged_tensor_literal_is_not_a_parse_error() -> None:
    assert show(expr("[[1, 2], [3]]")) == "[[1, 2], [3]]"


# ---------------------------------------------------------------------------
# Expressions: precedence and associativity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, tree",
    [
        # left associativity
        ("a - b - c", "(- (- a b) c)"),
        ("a / b / c", "(/ (/ a b) c)"),
        ("a || b || c", "(|| (|| a b) c)"),
        ("a && b && c", "(&& (&& a b) c)"),
        ("a - b + c", "(+ (- a b) c)"),
        ("a * b % c / d", "(/ (% (* a b) c) d)"),
        # precedence levels, loosest first
        ("a || b && c", "(|| a (&& b c))"),
        ("a && b || c", "(|| (&& a b) c)"),
        ("a && b == c", "(&& a (== b c))"),
        ("a == b + c", "(== a (+ b c))"),
        ("a + b < c - d", "(< (+ a b) (- c d))"),
        ("a + b * c", "(+ a (* b c))"),
        ("a * b + c", "(+ (* a b) c)"),
        ("a || b < c && d != e", "(|| a (&& (< b c) (!= d e)))"),
        ("a <= b || c >= d", "(|| (<= a b) (>= c d))"),
        # unary
        ("-a * b", "(* (- a) b)"),
        ("!a && b", "(&& (! a) b)"),
        ("- -a", "(- (- a))"),
        ("!!a", "(! (! a))"),
        ("a - -b", "(- a (- b))"),
        ("a * -b", "(* a (- b))"),
        # power: right associative, tighter than unary minus
        ("2 ** 3 ** 2", "(** 2 (** 3 2))"),
        ("2 ^ 3 ^ 2", "(** 2 (** 3 2))"),
        ("2 ** 3 ^ 2", "(** 2 (** 3 2))"),
        ("-x ** 2", "(- (** x 2))"),
        ("-x ^ 2", "(- (** x 2))"),
        ("!x ** 2", "(! (** x 2))"),
        ("2 ** -1", "(** 2 (- 1))"),
        ("2 ** -x ** 2", "(** 2 (- (** x 2)))"),
        ("a * b ** c", "(* a (** b c))"),
        ("a ** b * c", "(* (** a b) c)"),
        ("(-x) ** 2", "(** (- x) 2)"),
        ("(2 ** 3) ** 2", "(** (** 2 3) 2)"),
        # postfix binds tighter than everything
        ("-m[0]", "(- m[0])"),
        ("m[0] ** 2", "(** m[0] 2)"),
        ("2 ** m[0]", "(** 2 m[0])"),
        ("-x as i32", "(- (x as i32))"),
        ("a + b as f32", "(+ a (b as f32))"),
        ("x ** y as f32", "(** x (y as f32))"),
        ("-f(x) ** 2", "(- (** f(x) 2))"),
        ("(a + b) * c", "(* (+ a b) c)"),
        ("(a < b) < c", "(< (< a b) c)"),
        ("a < (b < c)", "(< a (< b c))"),
        ("(a == b) == c", "(== (== a b) c)"),
    ],
)
def test_precedence_and_associativity(source: str, tree: str) -> None:
    assert show(expr(source)) == tree


def test_caret_is_normalised_to_power() -> None:
    e = expr("a ^ b")
    assert isinstance(e, ast.Binary) and e.op == "**"


def test_binary_and_unary_are_located_at_their_operator() -> None:
    e = expr("a + b * c")
    assert isinstance(e, ast.Binary) and e.loc == at(2, 11)
    assert isinstance(e.rhs, ast.Binary) and e.rhs.loc == at(2, 15)
    u = expr("-a")
    assert isinstance(u, ast.Unary) and u.loc == at(2, 9)
    p = expr("x ** 2")
    assert isinstance(p, ast.Binary) and p.loc == at(2, 11)


def test_negative_literal_is_a_unary_minus() -> None:
    assert expr("-1") == ast.Unary(at(2, 9), "-", ast.Number(at(2, 10), 1.0))


# ---------------------------------------------------------------------------
# Syntax errors: message and exact location
# ---------------------------------------------------------------------------

# Sources are written after "fn main() {\n", so their first line is line 2.
STATEMENT_ERRORS = [
    # missing semicolons point just after the previous token
    ("let x = 1\nlet y = 2;", 2, 10, "expected ';' after statement"),
    ("let x = a b;", 2, 10, "expected ';' after statement"),
    ("x = 1", 2, 6, "expected ';' after statement"),
    ("print(x)\n", 2, 9, "expected ';' after statement"),
    ("minimize loss", 2, 14, "expected ';' after statement"),
    ("return", 2, 7, "expected ';' after statement"),
    ("return x", 2, 9, "expected ';' after statement"),
    ("free b", 2, 7, "expected ';' after statement"),
    ("alloc b = [2]", 2, 14, "expected ';' after statement"),
    ("realloc b = [2] init zeros", 2, 27, "expected ';' after statement"),
    ("reset_optimizer()", 2, 18, "expected ';' after statement"),
    ('save_csv x, "p"', 2, 16, "expected ';' after statement"),
    # let / learn / assignment
    ("let = 1;", 2, 5, "expected a variable name after 'let', found '='"),
    ("let fn = 1;", 2, 5, "expected a variable name after 'let', found keyword 'fn'"),
    ("let x;", 2, 6, "expected '=' after 'let x', found ';'"),
    ("let x == 1;", 2, 7, "expected '=' after 'let x', found '=='"),
    ("learn 3 = 1;", 2, 7, "expected a variable name after 'learn', found number 3"),
    ("let x = ;", 2, 9, "expected an expression, found ';'"),
    ("let x =\n;", 3, 1, "expected an expression, found ';'"),
    ("x = ;", 2, 5, "expected an expression, found ';'"),
    (
        "m[0] = 1;",
        2,
        6,
        "cannot assign to this expression; only a variable can be assigned (`x = ...`)",
    ),
    ("x += 1;", 2, 3, "compound assignment '+=' is not supported; write 'x = x + ...'"),
    ("x *= 2;", 2, 3, "compound assignment '*=' is not supported; write 'x = x * ...'"),
    # statements that cannot start here
    ("else { }", 2, 1, "'else' without a matching 'if'"),
    ("until x;", 2, 1, "expected a statement, found keyword 'until'"),
    ("in;", 2, 1, "expected a statement, found keyword 'in'"),
    (")", 2, 1, "expected an expression, found ')'"),
    # optimize
    ("optimize W until 1 { }", 2, 10, "expected '(' after 'optimize', found identifier 'W'"),
    (
        "optimize(1) until 1 { }",
        2,
        10,
        "expected a parameter name in optimize(...), found number 1",
    ),
    ("optimize(W until 1 { }", 2, 12, "expected ')' to close '(' at 2:9"),
    (
        "optimize(W) { }",
        2,
        13,
        "expected 'until' and a stop condition after optimize(...), found '{'",
    ),
    (
        "optimize(W) with adam(0.1) { }",
        2,
        28,
        "expected 'until' and a stop condition after the optimizer, found '{'",
    ),
    (
        "optimize(W) with 0.1 until 1 { }",
        2,
        18,
        "expected an optimizer name after 'with' (sgd, adam or rmsprop), found number 0.1",
    ),
    (
        "optimize(W) with adam until 1 { }",
        2,
        23,
        "expected '(' after the optimizer name 'adam', found keyword 'until'",
    ),
    (
        "optimize(W) until x < 1 with adam(0.1) { }",
        2,
        25,
        "the 'with' clause must come before 'until': optimize(...) with OPT(...) until COND { ... }",
    ),
    (
        "optimize(W) until x minimize x;",
        2,
        21,
        "expected '{' to start the body of optimize, found keyword 'minimize'",
    ),
    ("optimize(W) with adam(lr=1, lr=2) until 1 { }", 2, 29, "duplicate keyword argument 'lr'"),
    (
        "optimize(W) with adam(lr=1, 0.9) until 1 { }",
        2,
        29,
        "positional argument after keyword argument",
    ),
    # alloc / realloc / free
    ("alloc = [2];", 2, 7, "expected a buffer name after 'alloc', found '='"),
    ("alloc b [2];", 2, 9, "expected '=' after 'alloc b', found '['"),
    ("alloc b = 2;", 2, 11, "expected '[' to start the dimensions of 'alloc b', found number 2"),
    ("alloc b = [];", 2, 11, "'alloc' needs at least one dimension"),
    ("realloc W = [];", 2, 13, "'realloc' needs at least one dimension"),
    ("realloc W = [2, 3;", 2, 18, "expected ']' to close '[' at 2:13"),
    (
        "realloc W = [4] inti zeros;",
        2,
        17,
        "expected 'init' or ';' after the dimensions of realloc, found identifier 'inti'",
    ),
    ("realloc W = [4] init;", 2, 21, "expected an expression, found ';'"),
    ("free;", 2, 5, "expected a buffer name after 'free', found ';'"),
    ("free b + 1;", 2, 7, "expected ';' after statement"),
    # reset_optimizer
    ("reset_optimizer;", 2, 16, "expected '(' after 'reset_optimizer', found ';'"),
    (
        "reset_optimizer(1);",
        2,
        17,
        "expected a parameter name in reset_optimizer(...), found number 1",
    ),
    # if / while
    ("if { }", 2, 4, "expected an expression, found '{'"),
    ("if x y = 1;", 2, 6, "expected '{' to start the body of 'if', found identifier 'y'"),
    (
        "if x { } else y = 1;",
        2,
        15,
        "expected '{' to start the body of 'else', found identifier 'y'",
    ),
    ("while x\n  y = 1;", 2, 8, "expected '{' to start the body of 'while', found identifier 'y'"),
    # batch
    (
        "batch in X with 2 { }",
        2,
        7,
        "expected a block variable name after 'batch', found keyword 'in'",
    ),
    (
        "batch x X with 2 { }",
        2,
        9,
        "expected 'in' and the tensors to split after the names of 'batch', found identifier 'X'",
    ),
    (
        "batch x, in X with 2 { }",
        2,
        10,
        "expected a block variable name in 'batch', found keyword 'in'",
    ),
    (
        "batch x in X { }",
        2,
        14,
        "expected 'with' and a batch size after the tensors of 'batch', found '{'",
    ),
    ("batch x in X with { }", 2, 19, "expected an expression, found '{'"),
    (
        "batch x in X, Y with 2 { }",
        2,
        15,
        "batch has 2 tensors but only 1 name before 'in': give one block variable per tensor "
        "(and optionally an index name)",
    ),
    (
        "batch x, i, j in X with 2 { }",
        2,
        13,
        "batch has 3 names for 1 tensor: expected one block variable per tensor and at most one index name",
    ),
    (
        "batch a, b, c, d, e in X, Y with 2 { }",
        2,
        16,
        "batch has 5 names for 2 tensors: expected one block variable per tensor and at most one index name",
    ),
    (
        "batch a in X, Y + 1, Z with 2 { }",
        2,
        15,
        "batch has 3 tensors but only 1 name before 'in': give one block variable per tensor "
        "(and optionally an index name)",
    ),
    ("batch x, x in X, Y with 2 { }", 2, 10, "duplicate name 'x' in batch"),
    # io
    ('load_csv = "x";', 2, 10, "expected a variable name after 'load_csv', found '='"),
    ('load_csv X "x";', 2, 12, "expected '=' after 'load_csv X', found string \"x\""),
    (
        'save_csv x "p";',
        2,
        12,
        "expected ',' and a file path after the value of 'save_csv', found string \"p\"",
    ),
    ("load_safetensors W;", 2, 19, "expected '=' after 'load_safetensors W', found ';'"),
    (
        'save_safetensors W, "p";',
        2,
        18,
        "expected '{' after 'save_safetensors' (save_safetensors { name: value }, \"path\"), "
        "found identifier 'W'",
    ),
    (
        'save_safetensors { }, "p";',
        2,
        18,
        "save_safetensors needs at least one 'name: value' entry",
    ),
    ('save_safetensors { W }, "p";', 2, 22, "expected ':' after the tensor name W, found '}'"),
    (
        'save_safetensors { 1: W }, "p";',
        2,
        20,
        "expected a tensor name in save_safetensors { name: value, ... }, found number 1",
    ),
    (
        'save_safetensors { W: W, W: b }, "p";',
        2,
        26,
        "duplicate tensor name 'W' in save_safetensors",
    ),
    (
        'save_safetensors { W: W } "p";',
        2,
        27,
        "expected ',' and a file path after the tensors of 'save_safetensors', found string \"p\"",
    ),
    ("save_safetensors { W: W;", 2, 24, "expected '}' to close '{' at 2:18"),
    ('save_safetensors { W: W, "p";', 2, 29, "expected ':' after the tensor name \"p\", found ';'"),
]


@pytest.mark.parametrize("source, line, col, message", STATEMENT_ERRORS)
def test_statement_errors(source: str, line: int, col: int, message: str) -> None:
    assert_error(f"fn main() {{\n{source}\n}}", line, col, message)


EXPRESSION_ERRORS = [
    # `let v = ` occupies columns 1-8 of line 2
    ("(1 + 2", 2, 15, "expected ')' to close '(' at 2:9"),
    ("(1 + 2\n", 2, 15, "expected ')' to close '(' at 2:9"),
    ("f(1, 2", 2, 15, "expected ')' to close '(' at 2:10"),
    ("f(1 2)", 2, 13, "expected ')' to close '(' at 2:10"),
    ("[1, 2", 2, 14, "expected ']' to close '[' at 2:9"),
    ("[1 2]", 2, 12, "expected ']' to close '[' at 2:9"),
    ("m[1", 2, 12, "expected ']' to close '[' at 2:10"),
    ("m[1, 2", 2, 15, "expected ']' to close '[' at 2:10"),
    ("m[1:2:3]", 2, 14, "expected ']' to close '[' at 2:10"),
    ("m[]", 2, 11, "expected an expression, found ']'"),
    ("[]", 2, 9, "empty tensor literal"),
    ("tensor []", 2, 16, "empty tensor literal"),
    ("[[1], []]", 2, 15, "empty tensor literal"),
    ("tensor 1", 2, 16, "expected '[' after 'tensor', found number 1"),
    ("1 +", 2, 12, "expected an expression, found ';'"),
    ("* 2", 2, 9, "expected an expression, found '*'"),
    (
        "a < b < c",
        2,
        15,
        "comparisons cannot be chained ('<' then '<'); use parentheses or '&&', e.g. '(a < b) && (b < c)'",
    ),
    (
        "a == b != c",
        2,
        16,
        "comparisons cannot be chained ('==' then '!='); use parentheses or '&&', e.g. '(a < b) && (b < c)'",
    ),
    (
        "a < b + 1 >= c",
        2,
        19,
        "comparisons cannot be chained ('<' then '>='); use parentheses or '&&', e.g. '(a < b) && (b < c)'",
    ),
    (
        "a || b < c > d",
        2,
        20,
        "comparisons cannot be chained ('<' then '>'); use parentheses or '&&', e.g. '(a < b) && (b < c)'",
    ),
    ("x as f16", 2, 14, "unknown type 'f16' after 'as' (expected f64, f32, i32 or i64)"),
    ("x as float", 2, 14, "unknown type 'float' after 'as' (expected f64, f32, i32 or i64)"),
    ("x as 3", 2, 14, "expected a type name after 'as' (f64, f32, i32 or i64), found number 3"),
    ("x as", 2, 13, "expected a type name after 'as' (f64, f32, i32 or i64), found ';'"),
    ("(f)(x)", 2, 12, "only a function name can be called (write `f(x)`, not `(expr)(x)`)"),
    ("f(x)(y)", 2, 13, "only a function name can be called (write `f(x)`, not `(expr)(x)`)"),
    ("let", 2, 9, "expected an expression, found keyword 'let'"),
    ("f(a=1, 2)", 2, 16, "positional argument after keyword argument"),
    ("f(a=1, a=2)", 2, 16, "duplicate keyword argument 'a'"),
    ("f(,)", 2, 11, "expected an expression, found ','"),
]


@pytest.mark.parametrize("source, line, col, message", EXPRESSION_ERRORS)
def test_expression_errors(source: str, line: int, col: int, message: str) -> None:
    assert_error(f"fn main() {{\nlet v = {source};\n}}", line, col, message)


def test_unexpected_end_of_file_inside_an_expression() -> None:
    assert_error(
        "fn main() {\n  let x = (1 +", 2, 15, "unexpected end of file: expected an expression"
    )
    assert_error(
        "fn main() {\n  let x = (1 + 2",
        2,
        17,
        "unexpected end of file: expected ')' to close '(' at 2:11",
    )


def test_missing_closer_reported_at_end_of_line_when_next_token_is_on_a_new_line() -> None:
    assert_error(
        "fn main() {\n  print(x\n  let y = 1;\n}", 2, 10, "expected ')' to close '(' at 2:8"
    )


def test_missing_brace_at_end_of_file_after_nested_blocks() -> None:
    assert_error(
        "fn main() {\n  while x {\n    if y {\n      z = 1;\n    }\n",
        5,
        6,
        "unexpected end of file: expected '}' to close the block opened at 2:11",
    )


def test_lexer_errors_surface_through_parse_program() -> None:
    assert_error(
        'fn main() {\n  let s = "abc\n}',
        2,
        11,
        "unterminated string literal (missing closing '\"')",
    )


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def test_render_points_at_the_missing_semicolon() -> None:
    source = "fn main() {\n    let x = 1\n    let y = 2;\n}\n"
    e = error(source)
    assert e.render(source) == (
        "t.noma:2:14: error: expected ';' after statement\n        let x = 1\n                 ^"
    )


def test_render_of_a_binary_error_points_at_the_operator() -> None:
    source = "fn main() {\n\tlet c = a < b < c;\n}"
    e = error(source)
    assert e.render(source) == (
        "t.noma:2:16: error: comparisons cannot be chained ('<' then '<'); use parentheses "
        "or '&&', e.g. '(a < b) && (b < c)'\n"
        "    \tlet c = a < b < c;\n"
        "    \t              ^"
    )


def test_render_of_top_level_code() -> None:
    source = "let x = 1;\n"
    assert error(source).render(source) == (
        f"t.noma:1:1: error: {TOP_LEVEL_MESSAGE}\n    let x = 1;\n    ^"
    )


def test_render_at_end_of_file_shows_the_last_line() -> None:
    source = "fn main() {\n  let x = 1;\n\n"
    assert error(source).render(source) == (
        "t.noma:2:13: error: unexpected end of file: expected '}' to close the block opened at 1:11\n"
        "      let x = 1;\n"
        "                ^"
    )


def test_render_reads_the_file_when_no_source_is_given(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "prog.noma"  # type: ignore[operator]
    source = "fn main() {\n  x = 1 +;\n}\n"
    path.write_text(source)
    with pytest.raises(NomaError) as info:
        parse_program(source, str(path))
    assert info.value.render() == (
        f"{path}:2:10: error: expected an expression, found ';'\n      x = 1 +;\n             ^"
    )


# ---------------------------------------------------------------------------
# Robustness: no input gives a Python traceback
# ---------------------------------------------------------------------------


def deep(n: int, open_: str, inner: str, close: str) -> str:
    return "fn main() {\n  let x = " + open_ * n + inner + close * n + ";\n}"


@pytest.mark.parametrize(
    "source",
    [
        deep(5000, "(", "1", ")"),
        deep(5000, "[", "1", "]"),
        deep(5000, "f(", "1", ")"),
        deep(5000, "-", "1", ""),
        deep(5000, "!", "1", ""),
        deep(5000, "2 ** ", "1", ""),
        deep(5000, "m[", "1", "]"),
        deep(5000, "1 || 1 && 1 == 1 + 1 * 2 ** -(", "1", ")"),
        deep(5000, "(", "", ""),
        "fn main() {\n" + "if x {\n" * 5000 + "}" * 5000 + "\n}",
        "fn main() {\n" + "while x { " * 5000,
    ],
    ids=[
        "parens",
        "brackets",
        "calls",
        "minus",
        "not",
        "power",
        "index",
        "mixed",
        "unclosed",
        "blocks",
        "unclosed-blocks",
    ],
)
def test_deep_nesting_is_a_located_error(source: str) -> None:
    e = error(source)
    assert "nested too deeply" in e.message
    assert e.loc is not None and e.loc.line >= 1


def test_5000_nested_parentheses_message() -> None:
    e = error(deep(5000, "(", "1", ")"))
    assert e.message == f"expression nested too deeply (more than {MAX_NESTING} levels)"
    # The function body is the first level, so the last `(` allowed is number
    # MAX_NESTING - 1.
    assert e.loc == at(2, 11 + MAX_NESTING - 1)


def test_deep_blocks_message() -> None:
    e = error("fn main() {\n" + "if x {\n" * 500 + "}" * 500 + "\n}")
    assert e.message == f"blocks nested too deeply (more than {MAX_NESTING} levels)"


def test_nesting_up_to_the_limit_is_accepted() -> None:
    n = MAX_NESTING - 1  # one level is the function body
    parse("fn main() {\n" + "if x {\n" * n + "let y = 1;" + "}" * n + "\n}")
    parse(deep(n, "(", "1", ")"))
    parse(deep(n, "[", "1", "]"))
    parse(deep(n, "f(", "1", ")"))


def test_worst_case_nesting_at_the_limit_leaves_stack_headroom() -> None:
    """Each construct at exactly MAX_NESTING levels parses with a reduced
    recursion limit, so the nesting limit (not Python's) is what stops input."""
    import sys

    limit = sys.getrecursionlimit()
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    sys.setrecursionlimit(depth + 650)
    try:
        n = MAX_NESTING - 1  # the function body is one level
        for unit, close, levels in [
            ("(", ")", 1),
            ("f(", ")", 1),
            ("[", "]", 1),
            ("m[", "]", 1),
            ("-(", ")", 2),
            ("1 || 1 && 1 == 1 + 1 * 2 ** -(", ")", 3),  # `**`, `-` and `(` each count
        ]:
            parse(deep(n // levels, unit, "1", close))
        parse("fn main() {\n" + "if x {\n" * n + "let y = 1;" + "}" * n + "\n}")
    finally:
        sys.setrecursionlimit(limit)


def test_recursion_error_fallback_is_still_a_noma_error() -> None:
    """A caller that is already deep in the stack may run out of Python
    frames before the nesting limit; that is still a located NomaError."""
    import sys

    limit = sys.getrecursionlimit()
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    source = deep(MAX_NESTING - 1, "(", "1", ")")
    sys.setrecursionlimit(depth + 120)
    try:
        with pytest.raises(NomaError) as info:
            parse(source)
    finally:
        sys.setrecursionlimit(limit)
    assert info.value.message == "expression nested too deeply"
    assert info.value.loc is not None and info.value.loc.line == 2


def test_long_flat_sequences_do_not_recurse() -> None:
    n = 20000
    e = expr(" + ".join(["1"] * n))
    count = 0
    while isinstance(e, ast.Binary):
        count, e = count + 1, e.lhs
    assert count == n - 1
    assert len(body("x = 1;\n" * n)) == n
    assert len(expr("[" + ", ".join(["1"] * n) + "]").elements) == n  # type: ignore[attr-defined]


def test_long_else_if_chain_does_not_recurse_in_the_parser() -> None:
    n = 3000
    source = "if x { }" + " else if x { }" * n + " else { y = 1; }"
    node = stmt(source)
    count = 0
    while (
        isinstance(node, ast.If)
        and node.else_body is not None
        and isinstance(node.else_body[0], ast.If)
    ):
        count, node = count + 1, node.else_body[0]
    assert count == n


def assert_parses_or_noma_error(source: str) -> None:
    """The robustness contract: a Program or a located NomaError whose
    location lies inside the source, and whose rendering works."""
    try:
        program = parse(source)
    except NomaError as e:
        assert e.loc is not None and e.loc.filename == FILE
        lines = source.splitlines() or [""]
        assert 1 <= e.loc.line <= len(lines), (e.loc, e.message)
        assert 1 <= e.loc.col <= len(lines[e.loc.line - 1]) + 1, (e.loc, e.message)
        assert e.message and e.message == e.message.strip()
        assert e.render(source).startswith(f"{e.loc}: error: ")
    else:
        assert isinstance(program, ast.Program)


NOMA_CHARS = string.ascii_letters[:8] + string.digits + ' \n\t(){}[],;:.+-*/%^!=<>|&"\\_#@eE'

WORDS = sorted(
    set(SYMBOLS)
    | set(
        "fn let learn optimize until minimize with return if else while tensor alloc realloc free batch in as "
        "load_csv save_csv load_safetensors save_safetensors init zeros normal uniform reset_optimizer "
        "main x y W adam f64 f16".split()
    )
    | {"1", "2.5", ".5", "1e-3", '"s"', '"a\\n"', "//c\n", "/*c*/", "\n"}
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=NOMA_CHARS, max_size=80))
def test_random_text_never_crashes(source: str) -> None:
    assert_parses_or_noma_error(source)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_random_unicode_never_crashes(source: str) -> None:
    assert_parses_or_noma_error(source)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_token_soup_never_crashes(words: list[str]) -> None:
    assert_parses_or_noma_error(" ".join(words))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_token_soup_inside_main_never_crashes(words: list[str]) -> None:
    assert_parses_or_noma_error("fn main() {\n" + " ".join(words) + "\n}")


def test_truncations_of_a_valid_program_never_crash() -> None:
    source = (
        "fn f(a, b) { return a ** -b; }\n"
        "fn main() {\n"
        "  learn W = tensor [[0.1], [0.2]];\n"
        "  alloc buf = [2, 3];\n"
        "  optimize(W) with adam(lr=0.01, beta1=0.9) until loss < 0.01 {\n"
        "    batch xb, yb, i in X, Y with 2 {\n"
        "      let loss = mean((matmul(xb, W) - yb) ** 2);\n"
        "      minimize loss;\n"
        "    }\n"
        "    if loss > 0.5 { realloc W = [10, 1] init normal(0, 0.1); } else if x { free buf; } else { }\n"
        "  }\n"
        "  reset_optimizer(W);\n"
        '  save_safetensors { W: W }, "w.st";\n'
        '  load_csv X = "x.csv"; save_csv X as f32, "y.csv";\n'
        '  load_safetensors V = "w.st";\n'
        "  while i < 3 { i = i + 1; }\n"
        '  print("done\\n");\n'
        "  return W[0][0];\n"
        "}\n"
    )
    assert isinstance(parse(source), ast.Program)
    for cut in range(len(source)):
        assert_parses_or_noma_error(source[:cut])


# ---------------------------------------------------------------------------
# Scripts (notebook cells): statements outside functions are main's body
# ---------------------------------------------------------------------------


def test_script_statements_make_main_after_the_functions() -> None:
    source = "let y = f(2);\nfn f(x) { return x; }\nprint(y);"
    program = parse_program(source, "<cell>", script=("X", "Y"))
    assert [f.name for f in program.functions] == ["f", "main"]
    main = program.functions[1]
    assert [p.name for p in main.params] == ["X", "Y"]
    assert [type(s).__name__ for s in main.body] == ["Let", "ExprStmt"]
    assert main.loc == SourceLoc("<cell>", 1, 1)


def test_script_without_statements_keeps_its_main() -> None:
    program = parse_program("fn main(X) { return X; }", "<cell>", script=())
    assert [p.name for p in program.functions[0].params] == ["X"]


def test_script_statements_and_fn_main_conflict() -> None:
    with pytest.raises(NomaError) as info:
        parse_program("fn main() { return 1; }\n\n  print(2);", "<cell>", script=())
    assert info.value.loc == SourceLoc("<cell>", 3, 3)
    assert info.value.message == (
        "statements outside functions are the body of `main`, but `fn main` is also defined (at 1:4)"
    )


def test_statements_outside_functions_are_an_error_outside_scripts() -> None:
    with pytest.raises(NomaError) as info:
        parse_program("print(2);", "t.noma")
    assert info.value.message == TOP_LEVEL_MESSAGE
