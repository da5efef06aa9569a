"""The dialect knows nothing of its lowerings: no module under noma/dialects
imports noma.lowering, at any level (module top, `if TYPE_CHECKING:`,
function bodies, relative imports, `importlib.import_module("...")`)."""

from __future__ import annotations

import ast
from pathlib import Path

import noma

NOMA_ROOT = Path(noma.__file__).resolve().parent
DIALECTS = NOMA_ROOT / "dialects"
FORBIDDEN = "noma.lowering"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(NOMA_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in `source`,
    the code of module `module`: `import a.b`, `from a import b` (as `a.b`
    too, since `b` may be a module), relative imports resolved, and calls of
    `importlib.import_module`/`__import__` with a constant name."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            callee = node.func
            called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value)))
    return found


def _is_forbidden(name: str) -> bool:
    return name == FORBIDDEN or name.startswith(FORBIDDEN + ".")


def test_the_scanner_finds_imports_in_every_place() -> None:
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from noma.lowering.noma_to_loops.loops import LoopLowering
def hook():
    from noma.lowering.noma_to_loops import files
    import noma.lowering.translate
from ...lowering import to_llvm
from ... import lowering
import importlib
importlib.import_module("noma.lowering.scf_to_cf")
"""
    found = imported_modules(source, "noma.dialects.noma.ops")
    assert sorted(line for line, name in found if _is_forbidden(name)) == [4, 4, 6, 6, 7, 8, 8, 9, 11]
    assert not [n for _, n in imported_modules("from . import shapes", "noma.dialects.noma.ops") if _is_forbidden(n)]


def test_no_dialect_module_imports_the_lowering() -> None:
    files = sorted(DIALECTS.rglob("*.py"))
    assert len(files) > 10
    offending = [
        f"{path.relative_to(NOMA_ROOT.parent)}:{line}: {name}"
        for path in files
        for line, name in imported_modules(
            path.read_text(), _module_name(path), path.name == "__init__.py"
        )
        if _is_forbidden(name)
    ]
    assert offending == []


def test_no_dialect_op_carries_a_loops_hook() -> None:
    """The loops lowering is found through the registry only."""
    from noma.dialects.noma import Noma

    hooked = [op.name for op in Noma.operations if hasattr(op, "lower_to_loops")]
    assert hooked == []
