"""From a checked program to a module of `func.func`s in the `noma` dialect.

User functions are specialised per argument types (the language has no type
annotations): each distinct signature a function is called with becomes one
`func.func`. Generation starts at `main`, so only reachable functions are
emitted; recursion was rejected beforehand, so specialisation terminates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, UnitAttr, f64
from xdsl.ir import Attribute, Block, Region
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.frontend import ast
from noma.frontend.checks import check_program
from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.irgen.base import RESULT, GenState
from noma.frontend.irgen.control_flow import ResultTypeRetry, definitely_returns
from noma.frontend.irgen.random_builtins import RandomBuiltinsMixin
from noma.frontend.irgen.scope import Scope, ValueBinding
from noma.frontend.irgen.statements import StatementsMixin

ENTRY_ATTR = "noma.entry"
"""Marks `main`: the lowering emits a packed entry point for it."""

SYMBOL_PREFIX = "fn."
"""User function `f` is the symbol `@fn.f`: a name no C or libm symbol can
have, so a NOMA function called `malloc`, `tanh` or `main` never captures the
calls that the runtime and LLVM's intrinsics make."""


@dataclass(frozen=True)
class FunctionInstance:
    symbol: str
    result_type: Attribute | None


class FunctionGen(StatementsMixin, RandomBuiltinsMixin):
    """Generates the body of one function instance."""

    def __init__(
        self, module: ModuleGen, fn: ast.Function, block: Block, result_type: Attribute = f64
    ):
        self.fn = fn
        self.state = GenState(
            module=module,
            builder=NomaBuilder(InsertPoint.at_end(block), fn.loc.to_attr()),
            scope=Scope(),
            result_type=result_type,
        )
        if fn.name == "main":
            # main's parameters are files named when the program runs.
            for param in fn.params:
                self.gen_main_parameter(param, module.arg_ranks)
        for param, arg in zip(fn.params, block.args):
            self.scope.define(param.name, ValueBinding(arg))

    def generate(self) -> Attribute | None:
        """Emit the body and the final `func.return`; gives the result type."""
        body = self.fn.body
        self.setup_return_flag(body)
        self.gen_block(body)
        st = self.state
        end_loc = body[-1].loc if body else self.fn.loc
        if st.returns_value and not definitely_returns(body):
            raise NomaError(
                self.fn.name_loc or self.fn.loc,
                f"function '{self.fn.name}' does not return a value on every path",
            )
        with self.at(end_loc):
            if not st.returns_value:
                self.emit(func.ReturnOp())
                return None
            if st.uses_return_flag:
                result = self.scope.lookup(RESULT)
                assert isinstance(result, ValueBinding)
                value = result.value
            else:
                assert st.final_return is not None and st.final_return[0] is not None
                value = st.final_return[0]
            self.emit(func.ReturnOp(value))
            return value.type


class ModuleGen:
    def __init__(self, program: ast.Program, arg_ranks: Mapping[str, int] | None = None):
        self.program = program
        self.arg_ranks: Mapping[str, int] = arg_ranks or {}
        """The ranks of main's parameters whose files are known when compiling."""
        self.functions = {f.name: f for f in program.functions}
        self.module = ModuleOp([])
        self.instances: dict[tuple[str, tuple[Attribute, ...]], FunctionInstance] = {}

    def instance(
        self, name: str, arg_types: list[Attribute], call_loc: SourceLoc | None
    ) -> FunctionInstance:
        key = (name, tuple(arg_types))
        if key in self.instances:
            return self.instances[key]
        fn = self.functions[name]
        taken = {i.symbol for i in self.instances.values()}
        symbol = SYMBOL_PREFIX + name
        if symbol in taken:
            # Another specialisation of the same function (other argument types).
            n = sum(1 for other, _ in self.instances if other == name)
            symbol = f"{symbol}.{n}"
        result_hint: Attribute = f64
        while True:
            block = Block(arg_types=arg_types)
            try:
                result_type = FunctionGen(self, fn, block, result_hint).generate()
                break
            except ResultTypeRetry as retry:
                result_hint = retry.result_type
        func_op = func.FuncOp(symbol, (arg_types, []), Region(block))
        func_op.location = fn.loc.to_attr()
        func_op.function_type = FunctionType.from_lists(
            arg_types, [] if result_type is None else [result_type]
        )
        if name == "main":
            func_op.attributes[ENTRY_ATTR] = UnitAttr()
        self.module.body.block.add_op(func_op)
        instance = FunctionInstance(symbol, result_type)
        self.instances[key] = instance
        return instance


def generate_ir(program: ast.Program, arg_ranks: Mapping[str, int] | None = None) -> ModuleOp:
    """The module of `program`; `arg_ranks` gives the ranks of main's
    parameters whose files are known (2 for the others)."""
    check_program(program)
    main = program.function("main")
    assert main is not None
    gen = ModuleGen(program, arg_ranks)
    gen.instance("main", [], None)
    gen.module.verify()
    return gen.module
