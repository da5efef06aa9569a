"""Whatever the program, the compiler either produces LLVM IR that LLVM
verifies or reports a located `NomaError`: never an internal exception.

Programs are generated from a small grammar of NOMA (names drawn from a few
variables so that they often resolve, built-ins with right and wrong arities,
control flow, optimize loops), then compiled all the way to LLVM IR.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noma.compiler import Program
from noma.frontend.diagnostics import NomaError

NAMES = ["x", "y", "w", "loss", "n"]
CALLS = ["sigmoid", "exp", "log", "tanh", "abs", "max", "pow", "f", "print", "floor"]

numbers = st.sampled_from(["0", "1", "2.5", "0.001", "3"])


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(numbers, st.sampled_from(NAMES))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(
            inner, st.sampled_from(["+", "-", "*", "/", "**", "<", "&&", "||", "%"]), inner
        )
        call = st.tuples(st.sampled_from(CALLS), st.lists(inner, min_size=1, max_size=2))
        return st.one_of(
            binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"!{e}"),
            call.map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        )

    return st.recursive(leaves, extend, max_leaves=6)


def statements(depth: int) -> st.SearchStrategy[str]:
    expr = expressions()
    simple = st.one_of(
        st.tuples(st.sampled_from(NAMES), expr).map(lambda t: f"let {t[0]} = {t[1]};"),
        st.tuples(st.sampled_from(NAMES), expr).map(lambda t: f"{t[0]} = {t[1]};"),
        expr.map(lambda e: f"print({e});"),
        expr.map(lambda e: f"return {e};"),
        st.just("learn w = 0.5;"),
    )
    if depth == 0:
        return simple
    block = st.lists(statements(depth - 1), max_size=3).map(" ".join)
    return st.one_of(
        simple,
        st.tuples(expr, block, block).map(lambda t: f"if {t[0]} {{ {t[1]} }} else {{ {t[2]} }}"),
        st.tuples(expr, block).map(lambda t: f"while {t[0]} {{ {t[1]} }}"),
        st.tuples(block, expr).map(
            lambda t: (
                f"optimize(w) with adam(0.1) until loss < 0.1 {{ {t[0]} let loss = {t[1]}; minimize loss; }}"
            )
        ),
    )


programs = st.tuples(
    st.lists(statements(2), max_size=5).map(" ".join),
    expressions(),
).map(
    lambda t: (
        f"fn f(a) {{ return a * a + 1; }}\nfn main() {{\n  learn w = 1.0;\n  let x = 2;\n  {t[0]}\n  return {t[1]};\n}}\n"
    )
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_compiles_to_valid_llvm_or_reports_a_located_error(source: str) -> None:
    program = Program(source, "gen.noma")
    try:
        text = program.llvm_ir
    except NomaError as e:
        assert e.loc is not None, f"unlocated error {e.message!r} for:\n{source}"
        return
    llvm.parse_assembly(text).verify()
