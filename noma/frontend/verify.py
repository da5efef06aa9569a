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

Lookup = Callable[[Operation, "str | StringAttr | SymbolRefAttr"], "Operation | None"]


def verify(module: ModuleOp) -> None:
    """`module.verify()`, with indexed lookups of the module's own symbols."""
    with _indexed_lookup(module):
        module.verify()


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
