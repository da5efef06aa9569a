"""Module verification in time linear in the number of calls.

xDSL's `func.call` verifier finds its callee with `SymbolTable.lookup_symbol`,
which scans the symbol table's ops one by one: a module of n functions
calling each other (generated programs are long: a chain of 2,000
functions) takes O(n^2) to verify, tens of seconds per stage. `verify`
runs the same verifier with that lookup answered from an index of the
top-level symbols, built once per verification (the module does not change
while it is verified) and removed afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from xdsl.dialects.builtin import ModuleOp, StringAttr, SymbolRefAttr
from xdsl.ir import Operation
from xdsl.traits import SymbolOpInterface, SymbolTable
from xdsl.utils.exceptions import DiagnosticException

from noma.frontend.diagnostics import NomaError, op_loc

Lookup = Callable[[Operation, "str | StringAttr | SymbolRefAttr"], "Operation | None"]


def verify(op: Operation) -> None:
    """`op.verify()`, with indexed lookups of the symbols of the module that
    holds it (or that it is)."""
    module = op if isinstance(op, ModuleOp) else _table_of(op)
    if not isinstance(module, ModuleOp):
        op.verify()
        return
    with _indexed_lookup(module):
        op.verify()


class PassVerificationError(NomaError):
    """A pass left IR that does not verify: a bug in the compiler, reported
    at the op that fails (`prog.noma:3:5: internal compiler error: the IR
    after pass 'cse' does not verify: ...`)."""

    def __init__(self, op: Operation | None, pass_name: str, reason: str):
        loc = op_loc(op) if op is not None else None
        where = f" ('{op.name}')" if op is not None else ""
        super().__init__(
            loc,
            f"the IR after pass '{pass_name}' does not verify{where}: {reason} "
            "(this is a bug in NOMA)",
            severity="internal compiler error",
        )
        self.pass_name = pass_name


def verify_after_pass(module: ModuleOp, pass_name: str) -> None:
    """`verify(module)`; a failure is a `PassVerificationError` naming the
    pass and located at the innermost op that does not verify."""
    try:
        verify(module)
    except (DiagnosticException, ValueError) as e:
        lines = str(e).strip().splitlines()
        reason = lines[0] if lines else type(e).__name__
        raise PassVerificationError(failing_op(module), pass_name, reason) from e


def failing_op(module: ModuleOp) -> Operation | None:
    """The innermost op whose verification (with what it holds) fails:
    from the module down, the first child that fails, until none does.
    Only called once verification has failed."""

    def fails(op: Operation) -> bool:
        try:
            verify(op)
        except (DiagnosticException, ValueError):
            return True
        return False

    culprit: Operation | None = module if fails(module) else None
    while culprit is not None:
        child = next(
            (
                op
                for region in culprit.regions
                for block in region.blocks
                for op in block.ops
                if fails(op)
            ),
            None,
        )
        if child is None:
            break
        culprit = child
    return culprit


@contextmanager
def _indexed_lookup(module: ModuleOp) -> Iterator[None]:
    index: dict[str, Operation] = {}
    for op in module.ops:
        interface = op.get_trait(SymbolOpInterface)
        name = interface.get_sym_attr_name(op) if interface is not None else None
        if name is not None:
            index.setdefault(name.data, op)
    original: Lookup = SymbolTable.lookup_symbol

    def lookup(op: Operation, name: str | StringAttr | SymbolRefAttr) -> Operation | None:
        # Only plain names looked up from inside this module take the index;
        # anything else (nested references, other tables) the original.
        if isinstance(name, str | StringAttr) and _table_of(op) is module:
            key = name if isinstance(name, str) else name.data
            return index.get(key)
        if isinstance(name, SymbolRefAttr) and not name.nested_references.data:
            if _table_of(op) is module:
                return index.get(name.root_reference.data)
        return original(op, name)

    SymbolTable.lookup_symbol = staticmethod(lookup)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SymbolTable.lookup_symbol = staticmethod(original)  # type: ignore[method-assign,assignment]


def _table_of(op: Operation) -> Operation | None:
    """The closest ancestor of `op` (or `op`) that is a symbol table."""
    anchor: Operation | None = op
    while anchor is not None and not anchor.has_trait(SymbolTable):
        anchor = anchor.parent_op()
    return anchor
