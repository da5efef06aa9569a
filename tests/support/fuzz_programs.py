"""Inputs for the fuzz test: NOMA programs generated from a grammar that
covers the whole language, and mutations of existing programs.

The grammar extends the one of tests/test_robustness.py with tensors,
indexing, buffers (`alloc`, `realloc`, `free`), random tensors, user
functions whose returns differ in type or shape, `batch` loops, bounded
`while` loops, optimize loops and file I/O. Numbers, sizes and indices are
drawn from ordinary values and from the hostile ones (huge, negative, zero,
NaN, infinite, 2^62, 2^64). Loops are bounded by construction, so a
generated program always terminates: when one runs past the time limit,
something is wrong.

Mutations work on tokens and lines of a program's text, then on its bytes:
delete, duplicate or swap tokens or lines, replace numbers by hostile
values, rename identifiers (to other names of the program, built-ins or
keywords), insert random bytes (invalid UTF-8 included), truncate.
"""

from __future__ import annotations

import random
import re

from hypothesis import strategies as st

HOSTILE_NUMBERS = [
    "0", "-1", "-0", "0.5", "2.9", "1e-320", "1e19", "1e18", "1e30", "1e308", "1e999",
    "100000000000", "4611686018427387904", "9223372036854775807", "18446744073709551616",
    "(0 / 0)", "(1 / 0)", "(-1 / 0)", "sum(tensor [100000000000.0])",
]  # fmt: skip
"""Values that once broke (or could break) sizes, indices and constant folding."""

ORDINARY_NUMBERS = ["1", "2", "3", "0.25", "1.5", "10"]

SCALARS = ["x", "y", "n", "w"]
"""Scalar variables every generated `main` defines."""

UNARY = ["sigmoid", "relu", "tanh", "exp", "log", "sqrt", "abs", "floor", "ceil", "sin"]
BINARY = ["+", "-", "*", "/", "%", "**", "<", ">=", "==", "&&", "||"]

HELPERS = """\
fn f(a) { return a * a + 1; }
fn g(a, b) { if a > b { return a - b; } return g2(b) * a; }
fn g2(a) { let s = 0; let k = 0; while k < 3 { s = s + a; k = k + 1; } return s; }
fn t(a) { if a > 0 { return [a, 1]; } return [1, 2, 3]; }
fn u(a) { if a > 0 { return tensor [1.0]; } return 1.0; }
fn m(A, v) { return matmul(A, v) + sum(A); }
fn nothing(a) { print(a); return; }
"""
"""User functions the generated programs call: nested calls, a loop, returns
of different shapes (joined to a dynamic shape) and of different ranks."""


RUN_TIME_VALUES = [f"sum(tensor [{v}])" for v in HOSTILE_NUMBERS if not v.startswith("sum")]
"""Hostile values the compiler cannot see: they reach the program as it runs."""


def numbers(hostile: bool = True) -> st.SearchStrategy[str]:
    if not hostile:
        return st.sampled_from(ORDINARY_NUMBERS)
    return st.one_of(st.sampled_from(ORDINARY_NUMBERS), st.sampled_from(HOSTILE_NUMBERS))


def scalar_expressions(hostile: bool = True) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        numbers(hostile), st.sampled_from(SCALARS), st.sampled_from(RUN_TIME_VALUES)
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(BINARY), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"-{e}"),
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["max", "min", "pow", "g"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            st.tuples(st.sampled_from(CALL_TEMPLATES), inner).map(lambda t: t[0].format(t[1])),
            st.tuples(st.sampled_from(TENSOR_TERMS), inner).map(lambda t: f"sum({t[0]} * {t[1]})"),
            inner.map(lambda e: f"v[{e}]"),
            st.tuples(inner, inner).map(lambda t: f"A[{t[0]}][{t[1]}]"),
        )

    return st.recursive(leaves, extend, max_leaves=5)


CALL_TEMPLATES = [
    "f({})", "f(f({}))", "g2({})", "sum(t({}))", "sum(u({}))", "sum(rand_tensor({}))", "print({})",
    "sum(A * {})", "dot(v, v * {})", "mean(matmul(A, W) * {})",
]  # fmt: skip
"""One-argument calls: user functions (nested), built-ins on tensors."""

TENSOR_TERMS = ["A", "v", "B", "W", "matmul(A, W)", "m(W, W)", "t(x)", "rand_tensor(2, 3)"]
"""Tensor-valued expressions of the variables every generated `main` has."""


def statements(depth: int, hostile: bool = True) -> st.SearchStrategy[str]:
    expr = scalar_expressions(hostile)
    size = st.one_of(
        numbers(hostile) if hostile else st.sampled_from(["1", "2", "3"]),
        st.sampled_from(SCALARS),
        st.sampled_from(RUN_TIME_VALUES),
    )
    simple = st.one_of(
        st.tuples(st.sampled_from(SCALARS[:3]), expr).map(lambda t: f"{t[0]} = {t[1]};"),
        st.tuples(st.sampled_from(SCALARS[:3]), expr).map(lambda t: f"let {t[0]} = {t[1]};"),
        expr.map(lambda e: f"print({e});"),
        st.sampled_from(TENSOR_TERMS).map(lambda e: f"print({e});"),
        expr.map(lambda e: f"nothing({e});"),
        st.tuples(size, size).map(lambda t: f"alloc B = [{t[0]}, {t[1]}];"),
        st.tuples(size, size).map(lambda t: f"realloc W = [{t[0]}, {t[1]}] init zeros;"),
        size.map(lambda s: f"realloc B = [{s}, 2];"),
        st.tuples(size, size).map(lambda t: f"let R = rand_tensor({t[0]}, {t[1]}); print(sum(R));"),
        st.sampled_from(["B = B * 2;", "B = rand_tensor(2, 2);", "print(B[1]);"]),
        st.just("free B;"),
        st.sampled_from(["A", "W", "v"]).map(lambda e: f'save_csv {e}, "out.csv";'),
        st.just('load_csv L = "in.csv"; print(L);'),
        st.just('save_safetensors { W: W, x: x }, "m.safetensors";'),
        st.just('load_safetensors W = "m.safetensors";'),
    )
    if depth == 0:
        return simple
    block = st.lists(statements(depth - 1, hostile), max_size=3).map(" ".join)
    counter = f"k{depth}"
    compound = [
        simple,
        st.tuples(expr, block, block).map(lambda t: f"if {t[0]} {{ {t[1]} }} else {{ {t[2]} }}"),
        st.tuples(expr, block, expr).map(lambda t: f"if {t[0]} {{ {t[1]} return {t[2]}; }}"),
        st.tuples(st.integers(0, 3), block).map(
            lambda t: (
                f"let {counter} = 0; "
                f"while {counter} < {t[0]} {{ {t[1]} {counter} = {counter} + 1; }}"
            )
        ),
        st.tuples(size, block).map(lambda t: f"batch xb, bi in A with {t[0]} {{ {t[1]} }}"),
    ]
    if depth == 2:  # optimize loops do not nest
        compound.append(
            st.tuples(
                st.sampled_from(["sgd", "adam", "rmsprop"]), st.integers(0, 3), block, expr
            ).map(
                lambda t: (
                    f"optimize(w, W) with {t[0]}(0.1, max_iterations={t[1]}) until loss < 0.01 "
                    f"{{ {t[2]} let loss = (w - 2) ** 2 + sum(W * W) + 0 * {t[3]}; minimize loss; }}"
                )
            )
        )
    return st.one_of(*compound)


def generated(hostile: bool = True) -> st.SearchStrategy[str]:
    """Whole programs: the helpers, then a `main` that defines the variables
    the grammar uses and runs generated statements. With `hostile`, any
    number may be hostile (most such programs stop at a compile-time
    error); without, only sizes and indices, often as values the compiler
    cannot see, so that more programs run into them."""
    body = st.lists(statements(2, hostile), max_size=5).map("\n  ".join)
    return st.tuples(body, scalar_expressions(hostile)).map(
        lambda t: (
            f"{HELPERS}fn main() {{\n"
            "  learn w = 1.0; learn W = [[0.5, 1.0], [2.0, 3.0]];\n"
            "  let x = 2; let y = 0.5; let n = 3;\n"
            "  let A = [[1, 2], [3, 4], [5, 6]]; let v = [1, 2];\n"
            "  alloc B = [2, 2];\n"
            f"  {t[0]}\n"
            f"  return {t[1]};\n"
            "}\n"
        )
    )


generated_programs = generated(hostile=True)


# --------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------

TOKEN = re.compile(
    r"""\s+|//[^\n]*|"(?:[^"\\\n]|\\.)*"?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_]\w*"""
    r"""|\*\*|&&|\|\||[<>=!]=|.""",
    re.S,
)
NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")

NAMES = [
    "main", "fn", "let", "learn", "return", "if", "else", "while", "optimize", "minimize", "until",
    "with", "batch", "in", "alloc", "realloc", "free", "init", "tensor", "load_csv", "save_csv",
    "load_safetensors", "save_safetensors", "sigmoid", "sum", "matmul", "rand_tensor", "print",
    "max_iterations", "reset_optimizer", "sgd", "adam", "x", "W1", "fresh_name",
]  # fmt: skip
"""Replacement identifiers: keywords, built-ins, names common in examples."""

PUNCTUATION = ["(", ")", "{", "}", "[", "]", ";", ",", "=", "-", "**", "/", "\"", "[[", "}}"]

HOSTILE_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\x1b[31m", b"\r", b"\xef\xbb\xbf"]


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text)


MUTATIONS = ["delete", "duplicate", "swap", "number", "number", "rename", "insert", "line"]


def mutated(source: str, kinds: tuple[str, ...] = tuple(MUTATIONS)) -> st.SearchStrategy[bytes]:
    """`source` after one to three mutations, as the bytes of a file.
    Hypothesis draws the seed of the mutations, so they are reproducible;
    the positions come from a generator seeded with it, so that even the
    first example hypothesis tries mutates somewhere in the program (not
    always its first token). `kinds` restricts the token mutations (only
    "number" keeps a program well-formed; then no byte is mutated either)."""
    return st.integers(0, 2**32 - 1).map(lambda seed: mutate(source, random.Random(seed), kinds))


def mutate(source: str, rng: random.Random, kinds: tuple[str, ...] = tuple(MUTATIONS)) -> bytes:
    tokens = tokenize(source)
    for _ in range(rng.randint(1, 3)):
        tokens = _token_mutation(tokens, rng, kinds)
    data = "".join(tokens).encode("utf-8")
    if set(kinds) != {"number"} and rng.randrange(5) == 0:  # bytes, one time in five
        at = rng.randint(0, len(data))
        if rng.random() < 0.5:
            if rng.random() < 0.5:
                insert = rng.choice(HOSTILE_BYTES)
            else:
                insert = rng.randbytes(rng.randint(1, 4))
            data = data[:at] + insert + data[at:]
        else:
            data = data[:at]
    return data


def _token_mutation(tokens: list[str], rng: random.Random, kinds: tuple[str, ...]) -> list[str]:
    if not tokens:
        return [rng.choice(PUNCTUATION + NAMES)]
    tokens = list(tokens)
    kind = rng.choice(kinds)
    at = rng.randrange(len(tokens))
    if kind == "delete":
        del tokens[at]
    elif kind == "duplicate":
        tokens.insert(at, tokens[at])
    elif kind == "swap":
        other = rng.randrange(len(tokens))
        tokens[at], tokens[other] = tokens[other], tokens[at]
    elif kind == "number":
        places = [i for i, tok in enumerate(tokens) if NUMBER.fullmatch(tok)]
        if places:
            tokens[rng.choice(places)] = rng.choice(HOSTILE_NUMBERS)
    elif kind == "rename":
        places = [i for i, tok in enumerate(tokens) if IDENTIFIER.fullmatch(tok)]
        if places:
            place = rng.choice(places)
            tokens[place] = rng.choice(sorted({tokens[i] for i in places}) + NAMES)
    elif kind == "insert":
        tokens.insert(at, rng.choice(PUNCTUATION + NAMES + HOSTILE_NUMBERS))
    else:
        lines = "".join(tokens).split("\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        action = rng.choice(["delete", "duplicate", "swap"])
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        tokens = tokenize("\n".join(lines))
    return tokens


long_programs = st.tuples(
    st.sampled_from(["sum", "calls", "statements"]), st.integers(2000, 5000)
).map(lambda t: _long_program(*t))
"""Programs that are long, not deep, as generated programs are: a flat sum
of thousands of terms, a chain of a thousand or more calls or statements."""


def _long_program(shape: str, n: int) -> str:
    if shape == "sum":
        return "fn main() {\n  let x = 1.5;\n  return " + " + ".join(["x"] * n) + ";\n}\n"
    if shape == "calls":
        body = "\n".join(f"  let x{i + 1} = f(x{i});" for i in range(n // 2))
        helper = "fn f(a) { return a * 0.5 + 1; }\n"
        return f"{helper}fn main() {{\n  let x0 = 1;\n{body}\n  return x{n // 2};\n}}\n"
    body = "\n".join("  x = x * 0.5 + 1;" for _ in range(n // 4))  # 2 ms each
    return f"fn main() {{\n  let x = 1;\n{body}\n  return x;\n}}\n"
