"""A derivative rule registered from outside the compiler, for an op of
another dialect: `math.cbrt`, which NOMA has no rule for.

The rule is docs/examples/cbrt_rule.py, the worked example of
docs/autodiff.md (quoted there verbatim, checked below). Hand-written
upstream IR that takes `math.cbrt` of a parameter differentiates through it
once the rule is registered, with gradients that match central finite
differences; without it, the error names the op where it is.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_functions import compile_mlir_functions
from scripts import load_script
from xdsl.dialects import math as math_dialect
from xdsl.dialects.builtin import FloatAttr, ModuleOp
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from noma.passes.autodiff.rules import DerivativeRules, default_rules

ROOT = Path(__file__).resolve().parents[2]
RULE_FILE = ROOT / "docs" / "examples" / "cbrt_rule.py"

CUBE_ROOT = """\
func.func @cube_root(%x: f64, %y: f64) -> f64 {
  %c = math.cbrt %x : f64
  %r = arith.mulf %c, %y : f64
  func.return %r : f64
}
"""
"""f(x, y) = cbrt(x) * y, hand-written upstream IR."""

MODULE = CUBE_ROOT + """
func.func @main() {
  %h = arith.constant 0.5 : f64
  %X = noma.learn "X" %h : f64 -> !noma.param<f64>
  %Y = noma.learn "Y" %h : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%X, %Y : !noma.param<f64>, !noma.param<f64>) lr(%h) beta1(%h) beta2(%h) eps(%h) max_iterations(%h) {
    %x = noma.read %X : !noma.param<f64> -> f64
    %y = noma.read %Y : !noma.param<f64> -> f64
    %loss = func.call @cube_root(%x, %y) : (f64, f64) -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
"""
"""An optimize loop calling `@cube_root`, so that autodiff generates
`@cube_root__vjp` (called directly below)."""


def cbrt_rule() -> Any:
    return load_script(RULE_FILE, prefix="noma_docs_")


class ExpandCbrt(RewritePattern):
    """NOMA's LLVM lowering has no `math.cbrt`: for the JIT, the test
    expands it into ops it has, cbrt(x) = copysign(|x|^(1/3), x)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math_dialect.CbrtOp, rewriter: PatternRewriter) -> None:
        from xdsl.dialects import arith

        x = op.operand
        third = arith.ConstantOp(FloatAttr(1.0 / 3.0, x.type))
        magnitude = math_dialect.AbsFOp(x)
        root = math_dialect.PowFOp(magnitude.result, third.result)
        signed = math_dialect.CopySignOp(root.result, x)
        rewriter.replace(op, [third, magnitude, root, signed])


def expand_cbrt(module: ModuleOp) -> None:
    PatternRewriteWalker(ExpandCbrt()).rewrite_module(module)


@pytest.fixture(scope="module")
def cube_root() -> tuple[Any, Any]:
    """`cube_root` and its VJP, differentiated with a private table: NOMA's
    rules plus the external one (the default table is left alone)."""
    rules = default_rules().copy()
    cbrt_rule().register_in(rules)
    functions = compile_mlir_functions(
        MODULE, ["cube_root", "cube_root__vjp"], rules=rules, before_lowering=expand_cbrt
    )
    return functions["cube_root"], functions["cube_root__vjp"]


def nonzero(low: float, high: float) -> st.SearchStrategy[float]:
    """cbrt has an infinite slope at 0: stay away from it."""
    return st.floats(low, high).map(lambda v: v if abs(v) >= 0.2 else math.copysign(0.2, v) + v)


def test_the_gradient_through_the_external_rule_matches_finite_differences(
    cube_root: tuple[Any, Any],
) -> None:
    f, vjp = cube_root

    @settings(max_examples=40, deadline=None)
    @given(nonzero(-3.0, 3.0), st.floats(-2.0, 2.0))
    def check(x: float, y: float) -> None:
        assert f(x, y) == pytest.approx(math.copysign(abs(x) ** (1 / 3), x) * y, rel=1e-12)
        dx, dy = vjp(x, y, 1.0)
        for i, g in enumerate((dx, dy)):
            h = 1e-6 * max(1.0, abs((x, y)[i]))
            up = f(*[v + h * (j == i) for j, v in enumerate((x, y))])
            down = f(*[v - h * (j == i) for j, v in enumerate((x, y))])
            fd = (up - down) / (2 * h)
            assert math.isclose(g, fd, rel_tol=1e-5, abs_tol=1e-7), (
                f"d/d{'xy'[i]} at {(x, y)}: autodiff {g}, finite differences {fd}"
            )

    check()


def test_a_private_table_leaves_the_default_one_alone(cube_root: tuple[Any, Any]) -> None:
    assert not default_rules().has_rule(math_dialect.CbrtOp)
    rules = DerivativeRules()
    cbrt_rule().register_in(rules)
    assert rules.has_rule(math_dialect.CbrtOp)
    with pytest.raises(ValueError, match="'math.cbrt' already has a derivative rule"):
        cbrt_rule().register_in(rules)


def _noma_opt(path: Path, setup: str = "") -> subprocess.CompletedProcess[str]:
    """`noma-opt FILE -p autodiff` in a fresh interpreter, after `setup`
    (Python run first, e.g. a plugin registering rules)."""
    code = (
        "import sys\n"
        f"{setup}\n"
        "from noma.tools.noma_opt import main\n"
        f"sys.argv = ['noma-opt', {str(path)!r}, '-p', 'autodiff']\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_without_the_rule_the_error_names_the_op_where_it_is(tmp_path: Path) -> None:
    source = tmp_path / "cube_root.mlir"
    source.write_text(MODULE)
    proc = _noma_opt(source)
    assert proc.returncode == 1
    # Line 2 of the file, column 3: the `math.cbrt` of @cube_root (the
    # sweep works on a recomputed copy; the error names the original).
    assert proc.stderr.splitlines()[0] == (
        f"{source}:2:3: error: autodiff: no derivative rule for 'math.cbrt'"
    )
    assert "Traceback" not in proc.stderr


def test_a_rule_registered_in_the_default_table_serves_noma_opt(tmp_path: Path) -> None:
    source = tmp_path / "cube_root.mlir"
    source.write_text(MODULE)
    plugin = (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('cbrt_rule', {str(RULE_FILE)!r})\n"
        "plugin = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(plugin)\n"
        "plugin.register_globally()\n"
    )
    proc = _noma_opt(source, plugin)
    assert proc.returncode == 0, proc.stderr
    vjp = proc.stdout[proc.stdout.index("func.func @cube_root__vjp") :]
    # The rule's code, dz / (3 z^2), in the generated VJP function.
    assert "math.cbrt" in vjp and "arith.constant 3.000000e+00 : f64" in vjp
    assert "arith.divf" in vjp
    assert "noma.minimize %" in proc.stdout and "grads(" in proc.stdout


def test_the_documentation_quotes_the_rule_file() -> None:
    doc = (ROOT / "docs" / "autodiff.md").read_text()
    rule = RULE_FILE.read_text()
    start = rule.index("from collections.abc import Sequence")
    end = rule.index("\n\n\n", rule.index("def cbrt_vjp("))
    assert rule[start:end] in doc
