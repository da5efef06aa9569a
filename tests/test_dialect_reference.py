"""`docs/dialect_reference.md` is generated from the op definitions by
`docs/gen_dialect_reference.py` and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from noma.dialects.noma import Noma

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_dialect_reference", ROOT / "docs" / "gen_dialect_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_reference_is_current(generator: ModuleType) -> None:
    expected = generator.reference()
    actual = (ROOT / "docs" / "dialect_reference.md").read_text()
    assert actual == expected, "stale: run python docs/gen_dialect_reference.py"


def test_check_mode_reports_a_stale_file(
    generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    stale = tmp_path / "dialect_reference.md"
    stale.write_text(generator.reference().replace("noma.matmul", "noma.matmull"))
    monkeypatch.setattr(generator, "REFERENCE", stale)
    assert generator.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0


def test_every_op_has_a_section(generator: ModuleType) -> None:
    text = generator.reference()
    for op in Noma.operations:
        assert f"### `{op.name}`\n" in text


def test_verifier_rules_are_read_from_the_source(generator: ModuleType) -> None:
    from noma.dialects.noma.creation import FillOp
    from noma.dialects.noma.training import OptimizeOp

    # Through a helper function of the op's module, and with the op's fields
    # named where a message formats them.
    assert any("dimensions" in rule for rule in generator.verifier_rules(FillOp))
    assert "unknown optimizer '{optimizer.data}', expected one of …" in generator.verifier_rules(
        OptimizeOp
    )


def test_constraints_read_as_types(generator: ModuleType) -> None:
    from noma.dialects.noma.tensor_ops import IndexOp

    section = "\n".join(generator.op_section(IndexOp))
    assert "| `source` | `tensor` |" in section
    assert "| `result` | `f64 or tensor` |" in section
    assert "```mlir\n%row = noma.index %m, %i" in section
