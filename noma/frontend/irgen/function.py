"""One function instance: where the generators are made and wired.

Each generator handles one area of the language and holds, as constructor
arguments, the collaborators it uses; none inherits from another. The two
hubs are the expression and statement generators: the areas register their
handlers in their dispatch tables (AST class -> handler), and evaluate
nested expressions and bodies through them. Everything shares one
`GenContext` (builder, scope, diagnostics, module-level state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects import func
from xdsl.ir import Attribute, Block
from xdsl.rewriter import InsertPoint

from noma.dialects.noma.builder import NomaBuilder
from noma.frontend import ast
from noma.frontend.irgen.batch import BatchGen
from noma.frontend.irgen.branches import Branches
from noma.frontend.irgen.calls import CallGen
from noma.frontend.irgen.context import RESULT, GenContext
from noma.frontend.irgen.control_flow import ControlFlowGen
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.checkpoints import CheckpointGen
from noma.frontend.irgen.files import FilesGen
from noma.frontend.irgen.growth import GrowthGen
from noma.frontend.irgen.minibatch import MinibatchGen
from noma.frontend.irgen.optimize import OptimizeGen
from noma.frontend.irgen.random_builtins import RandomGen
from noma.frontend.irgen.returns import ReturnGen, definitely_returns
from noma.frontend.irgen.scope import ValueBinding
from noma.frontend.irgen.statements import StatementGen
from noma.frontend.irgen.storage_access import StorageAccess
from noma.frontend.irgen.tensors import TensorGen

if TYPE_CHECKING:
    from noma.frontend.irgen.module import ModuleGen


class FunctionGen:
    """Generates the body of one function instance."""

    def __init__(
        self,
        module: ModuleGen,
        fn: ast.Function,
        block: Block,
        result_type: Attribute | None = None,
    ) -> None:
        ctx = GenContext(
            module, fn, NomaBuilder(InsertPoint.at_end(block), fn.loc.to_attr()), result_type
        )
        self.ctx = ctx
        storage = StorageAccess(ctx)
        exprs = ExpressionGen(ctx, storage)
        tensors = TensorGen(ctx, exprs)
        random = RandomGen(ctx, exprs, tensors)
        calls = CallGen(ctx, exprs, tensors, random)
        exprs.register(tensors.expression_handlers())
        exprs.register(calls.expression_handlers())

        branches = Branches(ctx)
        returns = ReturnGen(ctx, exprs)
        statements = StatementGen(ctx, exprs, calls, storage, branches, returns)
        control = ControlFlowGen(ctx, exprs, statements, storage, branches, returns)
        growth = GrowthGen(ctx, exprs, tensors, storage)
        files = FilesGen(ctx, exprs, storage)
        checkpoints = CheckpointGen(ctx, files, storage)
        batch = BatchGen(ctx, exprs, statements, control, returns)
        minibatch = MinibatchGen(ctx, exprs, statements, control, branches, batch, growth)
        optimize = OptimizeGen(ctx, exprs, statements, control, growth, minibatch)
        for area in (returns, control, growth, files, checkpoints, batch, optimize):
            statements.register(area.statement_handlers())
        self.exprs, self.statements, self.returns = exprs, statements, returns

        if fn.name == "main":
            # main's parameters are files named when the program runs.
            for param in fn.params:
                files.gen_main_parameter(param, module.arg_ranks)
        for param, arg in zip(fn.params, block.args):
            ctx.scope.define(param.name, ValueBinding(arg))

    def generate(self) -> Attribute | None:
        """Emit the body and the final `func.return`; gives the result type."""
        ctx = self.ctx
        fn = ctx.fn
        body = fn.body
        self.returns.setup_return_flag(body)
        self.statements.gen_block(body)
        end_loc = body[-1].loc if body else fn.loc
        if ctx.returns_value and not definitely_returns(body):
            raise ctx.error(
                fn.name_loc or fn.loc,
                f"function '{fn.name}' does not return a value on every path",
            )
        with ctx.at(end_loc):
            if not ctx.returns_value:
                ctx.emit(func.ReturnOp())
                return None
            if ctx.uses_return_flag:
                result = ctx.scope.lookup(RESULT)
                assert isinstance(result, ValueBinding)
                value = result.value
            else:
                assert ctx.final_return is not None and ctx.final_return[0] is not None
                value = ctx.final_return[0]
            ctx.emit(func.ReturnOp(value))
            return value.type
