"""The IR generator is composed, not inherited (issue 11, point 6): its
classes have at most one base, generators have none and call only their
own methods (others through collaborators), the dispatch tables cover
every AST class, and an area works with only its own collaborators."""

from __future__ import annotations

import ast as pyast
import importlib
import inspect
import pkgutil
import textwrap
from types import ModuleType

import pytest
from xdsl.ir import Block
from xdsl.rewriter import InsertPoint

import noma.frontend.irgen as irgen_package
from noma.dialects.noma.builder import NomaBuilder
from noma.frontend import ast
from noma.frontend.diagnostics import NomaError
from noma.frontend.irgen.context import GenContext
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.function import FunctionGen
from noma.frontend.irgen.module import ModuleGen
from noma.frontend.irgen.storage_access import StorageAccess
from noma.frontend.irgen.tensors import TensorGen
from noma.frontend.parser import parse_program


def irgen_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{irgen_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(irgen_package.__path__)
    ]


def irgen_classes() -> list[type]:
    return [
        cls
        for module in irgen_modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__
    ]


def generator_classes() -> list[type]:
    """The classes that generate IR: each takes the shared context first."""
    found = []
    for cls in irgen_classes():
        if "__init__" not in vars(cls):
            continue
        params = list(inspect.signature(cls.__init__).parameters)
        if params[1:2] == ["ctx"]:
            found.append(cls)
    return found


def concrete_subclasses(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found.add(sub)
        found |= concrete_subclasses(sub)
    return found


def function_gen(source: str) -> FunctionGen:
    program = parse_program(source, "t.noma")
    main = program.function("main")
    assert main is not None
    return FunctionGen(ModuleGen(program), main, Block())


def test_the_generators_are_found() -> None:
    names = {cls.__name__ for cls in generator_classes()}
    assert {
        "ExpressionGen",
        "StatementGen",
        "ControlFlowGen",
        "OptimizeGen",
        "BatchGen",
        "MinibatchGen",
        "GrowthGen",
        "FilesGen",
        "RandomGen",
        "TensorGen",
        "StorageAccess",
        "CallGen",
        "ReturnGen",
        "Branches",
    } <= names


def test_no_class_has_more_than_one_base() -> None:
    for cls in irgen_classes():
        assert len(cls.__bases__) <= 1, f"{cls.__qualname__} has bases {cls.__bases__}"


def test_generators_inherit_nothing() -> None:
    for cls in generator_classes():
        assert cls.__bases__ == (object,), f"{cls.__qualname__} inherits {cls.__bases__}"


def test_generators_call_only_their_own_methods() -> None:
    """`self.m(...)` names a method of the class itself: another area is
    reached through a collaborator (`self.exprs.gen_expr(...)`), never
    through a method some sibling class would provide."""
    for cls in generator_classes():
        tree = pyast.parse(textwrap.dedent(inspect.getsource(cls)))
        for node in pyast.walk(tree):
            if (
                isinstance(node, pyast.Call)
                and isinstance(node.func, pyast.Attribute)
                and isinstance(node.func.value, pyast.Name)
                and node.func.value.id == "self"
            ):
                assert node.func.attr in vars(cls), (
                    f"{cls.__qualname__} calls self.{node.func.attr}, which it does not define"
                )


def test_statement_table_covers_every_statement_class() -> None:
    gen = function_gen("fn main() { }")
    statements = concrete_subclasses(ast.Stmt)
    assert statements, "ast.Stmt has subclasses"
    assert set(gen.statements.table) == statements


def test_expression_table_covers_every_expression_class() -> None:
    gen = function_gen("fn main() { }")
    assert set(gen.exprs.table) == concrete_subclasses(ast.Expr)


def test_statements_are_dispatched_through_the_table() -> None:
    """Removing a handler from the table makes that statement unknown: the
    table, not a hard-coded chain, decides."""
    gen = function_gen("fn main() { let x = 1; x = 2; }")
    del gen.statements.table[ast.Assign]
    with pytest.raises(NomaError, match=r"unexpected statement Assign") as raised:
        gen.generate()
    assert (raised.value.loc.line, raised.value.loc.col) == (1, 24)


def expression(source: str) -> ast.Expr:
    main = parse_program(f"fn main() {{ let v = {source}; }}", "t.noma").function("main")
    assert main is not None and isinstance(main.body[0], ast.Let)
    return main.body[0].value


def test_the_expression_area_works_without_the_others() -> None:
    """Tensor expressions need only the context, storage access and the
    expression hub: no statement, control-flow or call generator."""
    program = parse_program("fn main() { }", "t.noma")
    main = program.function("main")
    assert main is not None
    block = Block()
    ctx = GenContext(
        ModuleGen(program), main, NomaBuilder(InsertPoint.at_end(block), main.loc.to_attr()), None
    )
    exprs = ExpressionGen(ctx, StorageAccess(ctx))
    exprs.register(TensorGen(ctx, exprs).expression_handlers())

    value = exprs.gen_expr(expression("[[1, 2], [3, 4]][1] * 3"))
    assert str(value.type) == "tensor<2xf64>"
    assert [op.name for op in block.ops] == [
        "arith.constant",
        "arith.constant",
        "noma.index",
        "arith.constant",
        "noma.mul",
    ]
    # Calls belong to another area, which this generator was not given.
    with pytest.raises(NomaError, match="unexpected expression Call"):
        exprs.gen_expr(expression("sum([1, 2])"))
