"""Name binding during IR generation.

Variables are SSA values: `x = e` rebinds `x` to a new value, and control flow
merges the values assigned inside it (`scf.if` results, loop-carried values).
A `Scope` records assignments to names it does not define in `writes` instead
of changing the outer scope, so that after generating a branch the exact set
of outer variables it changed is known, and the other branch still sees the
values from before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xdsl.ir import Attribute, SSAValue

from noma.frontend.diagnostics import SourceLoc


@dataclass
class ValueBinding:
    """An immutable value bound by `let`, a function parameter or a loop."""

    value: SSAValue


@dataclass
class ParamBinding:
    """A learnable parameter: reading the name reads the parameter.

    `known` is the value type known at this point of the program when it is
    more precise than the handle's: a parameter that is reallocated has a
    handle of dynamic shape, but between two reallocs its shape is often
    static, and reads are refined to it."""

    handle: SSAValue
    loc: SourceLoc
    known: Attribute | None = None


@dataclass
class BufferBinding:
    """An `alloc` buffer; `freed_at` is set once `free` certainly released
    it, `maybe_freed` when only some paths did (uses are then checked at run
    time). `known` as for parameters."""

    handle: SSAValue
    loc: SourceLoc
    freed_at: SourceLoc | None = None
    maybe_freed: bool = False
    known: Attribute | None = None


StorageBinding = ParamBinding | BufferBinding
Binding = ValueBinding | ParamBinding | BufferBinding


def known_type(binding: StorageBinding) -> Attribute:
    """The value type of the storage as far as it is known here."""
    if binding.known is not None:
        return binding.known
    return binding.handle.type.value_type  # type: ignore[attr-defined]


def _name_value(binding: Binding, name: str) -> None:
    """Printed IR names values after the variables they are bound to."""
    value = binding.value if isinstance(binding, ValueBinding) else binding.handle
    if value.name_hint is None:
        value.name_hint = name.lstrip("$")


class Scope:
    def __init__(self, parent: Scope | None = None):
        self.parent = parent
        self.defs: dict[str, Binding] = {}
        self.writes: dict[str, Binding] = {}
        """Bindings of names defined further out, changed inside this scope."""

    def lookup(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.defs:
                return scope.defs[name]
            if name in scope.writes:
                return scope.writes[name]
            scope = scope.parent
        return None

    def written(self, name: str) -> Binding | None:
        """The binding of an outer name as this scope leaves it: what the
        scope assigned to it, else what it had outside (a `let` of the same
        name inside the scope does not count)."""
        if name in self.writes:
            return self.writes[name]
        return self.parent.lookup(name) if self.parent is not None else None

    def define(self, name: str, binding: Binding) -> None:
        _name_value(binding, name)
        # A write to an outer variable of the same name made earlier in this
        # scope stays in `writes`: shadowing does not undo it.
        self.defs[name] = binding

    def rebind(self, name: str, binding: Binding) -> None:
        """Give an existing name a new binding (an assignment, a realloc)."""
        _name_value(binding, name)
        if name in self.defs:
            self.defs[name] = binding
        else:
            assert self.lookup(name) is not None
            self.writes[name] = binding

    def visible_names(self) -> dict[str, Binding]:
        """Every visible name and its binding, innermost first."""
        chain: list[Scope] = []
        scope: Scope | None = self
        while scope is not None:
            chain.append(scope)
            scope = scope.parent
        names: dict[str, Binding] = {}
        for s in reversed(chain):
            names.update(s.writes)
            names.update(s.defs)
        return names

    def merge_writes_into_parent(self) -> None:
        """End of a scope whose writes are unconditional: pass them outwards."""
        assert self.parent is not None
        for name, binding in self.writes.items():
            self.parent.rebind(name, binding)


def binding_value(binding: Binding) -> SSAValue:
    """The SSA value a binding stands for: the value, or the storage handle."""
    return binding.value if isinstance(binding, ValueBinding) else binding.handle


def with_value(binding: Binding, value: SSAValue) -> Binding:
    """The same binding for another SSA value (a merge or loop result)."""
    if isinstance(binding, ValueBinding):
        return ValueBinding(value)
    return replace(binding, handle=value)
