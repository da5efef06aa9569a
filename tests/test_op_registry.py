"""Registry tests: every op of the `noma` dialect is exercised by the
round-trip lit files, and round-trips through both of its printed forms;
every op with a derivative rule goes through a finite-difference gradient
check.

The lit files check what each op prints, and tests/autodiff/ checks the
gradients; these tests enumerate `Noma.operations`, so an op added without
a round-trip test or without a gradient check fails here. (That every op
has a loops lowering is checked by tests/lowering/test_loops_registry.py,
on `Noma.operations` too.)
"""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from gradient_cases import checked_mlir_modules, checked_noma_programs
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer

from noma.compiler import Program
from noma.dialects.noma import Noma
from noma.dialects.noma.training import OptimizeOp
from noma.passes.autodiff.rules import default_rules
from noma.pipeline import make_context
from noma.symbols import ENTRY_ATTR

ROOT = Path(__file__).resolve().parent.parent
ROUND_TRIP_RUN = "// RUN: noma-opt %s | noma-opt | filecheck %s"


def round_trip_files() -> list[Path]:
    """The lit files whose RUN line prints, re-parses and checks the input."""
    return sorted(
        path
        for path in (ROOT / "lit_tests").rglob("*.mlir")
        if path.read_text().startswith(ROUND_TRIP_RUN)
    )


def parse(text: str, name: str) -> ModuleOp:
    return Parser(make_context(), text, name).parse_module()


def printed(module: ModuleOp, generic: bool) -> str:
    stream = StringIO()
    Printer(stream=stream, print_generic_format=generic).print_op(module)
    return stream.getvalue()


def test_every_noma_op_has_a_round_trip_test() -> None:
    ops_in_files: set[str] = set()
    for path in round_trip_files():
        module = parse(path.read_text(), str(path))
        ops_in_files |= {op.name for op in module.walk()}
    missing = sorted(op.name for op in Noma.operations if op.name not in ops_in_files)
    assert not missing, (
        f"ops with no round-trip lit test (a lit file whose RUN line is noma-opt %s | noma-opt): {missing}"
    )


@pytest.mark.parametrize("path", round_trip_files(), ids=lambda p: p.name)
def test_custom_and_generic_forms_parse_back_to_the_same_ir(path: Path) -> None:
    module = parse(path.read_text(), str(path))
    custom = printed(module, generic=False)
    generic = printed(module, generic=True)
    # Generic form names every op in quotes: it does not fall back on the
    # custom syntax it is meant to check against.
    assert re.search(r'"noma\.\w+"', generic)
    from_custom = parse(custom, "custom")
    from_generic = parse(generic, "generic")
    assert from_custom.is_structurally_equivalent(module)
    assert from_generic.is_structurally_equivalent(module)
    assert printed(from_generic, generic=False) == custom


# -- derivative rules ---------------------------------------------------------

NOT_GRADIENT_CHECKED: dict[str, str] = {
    # Sources of data: no operand, so never varied; the sweep never reaches
    # them. Their rule exists so that the table covers every value maker.
    "noma.load_arg": "reads a program argument, has no operand",
    "noma.load_csv": "reads a file, has no operand",
    "noma.load_safetensors": "reads a file, has no operand",
    # A draw is a constant to autodiff (no reparameterisation): its rule
    # gives its shape, mean and spread no adjoint, by design, which finite
    # differences of the seeded draw would contradict.
    "noma.random": "a random draw is not differentiated through, by design",
}
"""`noma` ops with a derivative rule and no finite-difference check, each
with the reason. Every other op with a rule must appear in a checked
function of tests/support/gradient_cases.py (ops that only adjoint code
contains, such as `noma.index_adjoint`, are checked on hand-written IR
there)."""


def _ops_under(roots: list[Operation]) -> set[str]:
    return {op.name for root in roots for op in root.walk()}


def _checked_ops_of_program(case: str, source: str) -> set[str]:
    """The ops of the code a check compares gradients of: main's optimize
    body for a whole-program case, else every function but main."""
    module = Program(source, f"{case}.noma").ir("noma")
    if case.startswith("parameter/"):
        return _ops_under([op for op in module.walk() if isinstance(op, OptimizeOp)])
    functions = [f for f in module.ops if isinstance(f, FuncOp) and ENTRY_ATTR not in f.attributes]
    return _ops_under(list(functions))


def gradient_checked_ops() -> set[str]:
    """Every op a finite-difference check of tests/autodiff/ goes through."""
    ops: set[str] = set()
    for case, source in checked_noma_programs().items():
        ops |= _checked_ops_of_program(case, source)
    for name, text in checked_mlir_modules().items():
        module = parse(text, f"{name}.mlir")
        functions = [f for f in module.ops if isinstance(f, FuncOp) and f.sym_name.data != "main"]
        ops |= _ops_under(list(functions))
    return ops


def ops_with_a_rule() -> set[str]:
    """The `noma` ops the default rule table differentiates: those
    implementing `DifferentiableOp` and any registered by class."""
    rules = default_rules()
    return {op.name for op in Noma.operations if rules.has_rule(op)}


def test_every_op_with_a_derivative_rule_has_a_gradient_check() -> None:
    missing = sorted(ops_with_a_rule() - gradient_checked_ops() - set(NOT_GRADIENT_CHECKED))
    assert not missing, (
        f"ops with a derivative rule and no finite-difference check: {missing} "
        "(add a case to a table of tests/support/gradient_cases.py)"
    )


def test_the_exemptions_are_ops_with_a_rule_and_no_check() -> None:
    with_rule = ops_with_a_rule()
    checked = gradient_checked_ops()
    assert sorted(set(NOT_GRADIENT_CHECKED) - with_rule) == []
    assert sorted(set(NOT_GRADIENT_CHECKED) & checked) == []


def test_the_checks_reach_the_ops_they_exist_for() -> None:
    """The collection finds the ops of each kind of table (a guard on the
    walk above, not on the tables)."""
    checked = gradient_checked_ops()
    assert {"noma.tanh", "noma.matmul", "noma.rows", "noma.read", "noma.index_adjoint"} <= checked
    assert {"math.exp", "arith.select"} <= checked
    assert "noma.learn" not in checked  # main's code is not gradient-checked
