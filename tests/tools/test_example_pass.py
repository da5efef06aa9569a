"""The worked example of docs/passes.md, `expand-small-powers`
(docs/examples/expand_small_powers.py), registered in NOMA's pass table and
run by `noma-opt` like any pass: its rewrite, its options, its located
diagnostic under `--verify-diagnostics`, and that the doc quotes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scripts import load_script
from tool_runs import run_opt
from xdsl.passes import ModulePass

from noma import pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "expand_small_powers.py"

POWERS = """\
func.func @powers(%x: f64, %t: tensor<3xf64>, %y: f64) -> f64 {
  %c3 = arith.constant 3.0 : f64
  %c5 = arith.constant 5.0 : f64
  %a = noma.pow %x, %c3 : f64, f64 -> f64
  %b = noma.pow %t, %c3 : tensor<3xf64>, f64 -> tensor<3xf64>
  %c = noma.pow %x, %c5 : f64, f64 -> f64
  %d = noma.pow %x, %y : f64, f64 -> f64
  func.return %a : f64
}
"""


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> type[ModulePass]:
    """The example pass in NOMA's pass table, as its entry in
    `noma/pipeline.py` would put it."""
    example = load_script(EXAMPLE, prefix="noma_docs_")
    everything: Callable[[], dict] = pipeline.all_passes
    monkeypatch.setattr(
        pipeline,
        "all_passes",
        lambda: {**everything(), "expand-small-powers": lambda: example.ExpandSmallPowersPass},
    )
    return example.ExpandSmallPowersPass


def test_small_whole_powers_become_multiplications(registered: type, tmp_path: Path) -> None:
    source = tmp_path / "powers.mlir"
    source.write_text(POWERS)
    status, out, err = run_opt(source, "-p", "expand-small-powers")
    assert (status, err) == (0, "")
    assert "%a = noma.mul %x, %x : f64, f64 -> f64" in out
    assert "%a_1 = noma.mul %a, %x : f64, f64 -> f64" in out
    assert "%b_1 = noma.mul %b, %t : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>" in out
    # x ** 5 with the default max-exponent=4, and a non-constant exponent: left.
    assert "%c = noma.pow %x, %c5" in out and "%d = noma.pow %x, %y" in out
    assert out.count("noma.pow") == 2


def test_the_option_sets_the_largest_exponent(registered: type, tmp_path: Path) -> None:
    source = tmp_path / "powers.mlir"
    source.write_text(POWERS)
    status, out, _ = run_opt(source, "-p", "expand-small-powers{max-exponent=5}")
    assert status == 0 and out.count("noma.pow") == 1
    status, out, _ = run_opt(source, "-p", "expand-small-powers{max-exponent=2}")
    assert status == 0 and out.count("noma.pow") == 4
    status, _, err = run_opt(source, "-p", "expand-small-powers{bogus=1}")
    assert status == 1 and "bogus" in err and len(err.splitlines()) == 1


def test_require_all_reports_each_power_left_where_it_is(registered: type, tmp_path: Path) -> None:
    annotated = tmp_path / "annotated.mlir"
    annotated.write_text(
        POWERS.replace(
            "  %c = noma.pow",
            "  // expected-error@+1 {{expand-small-powers: the exponent is not a constant "
            "whole number from 1 to 4}}\n  %c = noma.pow",
        )
    )
    options = "expand-small-powers{require-all=true}"
    assert run_opt(annotated, "--verify-diagnostics", "-p", options) == (0, "", "")
    plain = tmp_path / "plain.mlir"
    plain.write_text(POWERS)
    status, _, err = run_opt(plain, "-p", options)
    assert status == 1
    assert err.splitlines()[0] == (
        f"{plain}:6:3: error: expand-small-powers: the exponent is not a constant whole "
        "number from 1 to 4"
    )


def test_the_rewritten_program_computes_the_same(registered: type) -> None:
    """A NOMA function's powers expanded, then compiled and run: the same
    numbers as NumPy's powers."""
    from mlir_functions import compile_mlir_functions

    import noma

    source = (
        "fn f(x, t) { return sum(t ** 3) + x ** 2; }\n"
        "fn main() { return f(1.5, [1.0, -2.0, 0.5]); }\n"
    )
    module = noma.compile(source).ir("noma").clone()
    registered().apply(pipeline.make_context(), module)
    assert "noma.pow" not in str(module) and "noma.mul" in str(module)
    f = compile_mlir_functions(module, ["fn.f"])["fn.f"]
    t = np.array([1.0, -2.0, 0.5])
    assert f(1.5, t) == pytest.approx(float(np.sum(t**3) + 1.5**2), rel=1e-15)


def test_the_documentation_quotes_the_example() -> None:
    doc = (ROOT / "docs" / "passes.md").read_text()
    code = EXAMPLE.read_text()
    start = code.index("def constant_exponent(")
    assert code[start:].rstrip() in doc
