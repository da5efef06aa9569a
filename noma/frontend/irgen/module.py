"""From a checked program to a module of `func.func`s in the `noma` dialect.

User functions are specialised per argument types (the language has no type
annotations): each distinct signature a function is called with becomes one
`func.func`. Generation starts at `main`, so only reachable functions are
emitted; recursion was rejected beforehand, so specialisation terminates.

A call to an instance not generated yet generates it on the spot, up to
`INLINE_DEPTH` functions deep; deeper, the caller's attempt is abandoned
(`NeedInstance`) and the callee generated from a work stack, then the
caller again. So a chain of thousands of functions calling each other costs
little Python stack and about twice the work of generating each function
once, while a function calling thousands of others is generated once.

A function's result type is found by a fixpoint: the first `return` that
runs under the returned flag fixes it, later ones must join with it
(`ResultTypeRetry` starts the function again with the joined type); the
join only ever makes shapes more dynamic, so the retries end, and a return
whose type cannot join (a scalar and a tensor, two ranks) is an error that
names both types.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, UnitAttr
from xdsl.ir import Attribute, Block, Region

from noma.frontend import ast
from noma.frontend.checks import check_program
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.irgen.function import FunctionGen
from noma.frontend.irgen.returns import ResultTypeRetry
from noma.frontend.verify import verify
from noma.symbols import ENTRY_ATTR, SYMBOL_PREFIX


@dataclass(frozen=True)
class FunctionInstance:
    symbol: str
    result_type: Attribute | None


INLINE_DEPTH = 16
"""How many nested instances are generated on the spot, by recursion (about
a dozen Python frames each), before the work stack takes over."""


class NeedInstance(Exception):
    """The instance `key` must be generated before the caller can be."""

    def __init__(self, key: InstanceKey, call_loc: SourceLoc | None):
        super().__init__(key[0])
        self.key = key
        self.call_loc = call_loc


InstanceKey = tuple[str, tuple[Attribute, ...]]


class ModuleGen:
    def __init__(self, program: ast.Program, arg_ranks: Mapping[str, int] | None = None):
        self.program = program
        self.arg_ranks: Mapping[str, int] = arg_ranks or {}
        """The ranks of main's parameters whose files are known when compiling."""
        self.functions = {f.name: f for f in program.functions}
        self.module = ModuleOp([])
        self.instances: dict[InstanceKey, FunctionInstance] = {}
        self.active: list[InstanceKey] = []
        """The instances being generated, each called by the one before."""
        self.symbols: set[str] = set()
        """The symbols of the generated instances."""

    def instance(
        self, name: str, arg_types: list[Attribute], call_loc: SourceLoc | None
    ) -> FunctionInstance:
        """The instance a call refers to, generated now if need be; too deep
        in nested generation, the caller's attempt is abandoned instead
        (`NeedInstance`, see `generate_all`)."""
        key = (name, tuple(arg_types))
        if key in self.instances:
            return self.instances[key]
        if key in self.active:
            # The frontend rejected recursion; this keeps generation finite anyway.
            raise NomaError(call_loc, f"recursive call to '{name}' is not supported")
        if len(self.active) >= INLINE_DEPTH:
            raise NeedInstance(key, call_loc)
        return self._generate(*key)

    def generate_all(self, name: str, arg_types: list[Attribute]) -> FunctionInstance:
        """Generate instance (`name`, `arg_types`) and every instance it
        needs, callees first, from an explicit work stack."""
        root: InstanceKey = (name, tuple(arg_types))
        pending: list[InstanceKey] = [root]
        while pending:
            key = pending[-1]
            if key in self.instances:
                pending.pop()
                continue
            try:
                self._generate(*key)
            except NeedInstance as need:
                # The frontend rejected recursion, so a callee is never
                # already pending; the check keeps this loop finite anyway.
                if need.key in pending:
                    raise NomaError(
                        need.call_loc, f"recursive call to '{need.key[0]}' is not supported"
                    ) from None
                pending.append(need.key)
                continue
            pending.pop()
        return self.instances[root]

    def _generate(self, name: str, arg_types: tuple[Attribute, ...]) -> FunctionInstance:
        key = (name, arg_types)
        self.active.append(key)
        try:
            return self._generate_instance(key)
        finally:
            self.active.pop()

    def _generate_instance(self, key: InstanceKey) -> FunctionInstance:
        name, arg_types = key
        fn = self.functions[name]
        symbol = SYMBOL_PREFIX + name
        if symbol in self.symbols:
            # Another specialisation of the same function (other argument types).
            n = sum(1 for other, _ in self.instances if other == name)
            symbol = f"{symbol}.{n}"
        result_hint: Attribute | None = None
        tried: set[Attribute] = set()
        while True:
            block = Block(arg_types=arg_types)
            try:
                result_type = FunctionGen(self, fn, block, result_hint).generate()
                break
            except ResultTypeRetry as retry:
                # Each retry must make progress, else it would loop forever.
                if retry.result_type in tried:
                    raise NomaError(
                        retry.loc,
                        f"internal: the result type of '{name}' does not settle "
                        f"({retry.result_type})",
                    ) from None
                tried.add(retry.result_type)
                result_hint = retry.result_type
        func_op = func.FuncOp(symbol, (list(arg_types), []), Region(block))
        func_op.location = fn.loc.to_attr()
        func_op.function_type = FunctionType.from_lists(
            list(arg_types), [] if result_type is None else [result_type]
        )
        if name == "main":
            func_op.attributes[ENTRY_ATTR] = UnitAttr()
        self.module.body.block.add_op(func_op)
        instance = FunctionInstance(symbol, result_type)
        self.instances[key] = instance
        self.symbols.add(symbol)
        return instance


def generate_ir(program: ast.Program, arg_ranks: Mapping[str, int] | None = None) -> ModuleOp:
    """The module of `program`; `arg_ranks` gives the ranks of main's
    parameters whose files are known (2 for the others)."""
    for warning in check_program(program):
        print(warning.render(program.source), file=sys.stderr)
    main = program.function("main")
    assert main is not None
    gen = ModuleGen(program, arg_ranks)
    gen.generate_all("main", [])
    verify(gen.module)
    return gen.module
