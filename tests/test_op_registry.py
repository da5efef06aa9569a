"""Registry tests: every op of the `noma` dialect is exercised by the
round-trip lit files, and round-trips through both of its printed forms.

The lit files check what each op prints; this test enumerates
`Noma.operations`, so an op added without a round-trip test fails here.
"""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from noma.dialects.noma import Noma
from noma.pipeline import make_context

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
