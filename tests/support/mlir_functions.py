"""Call functions of hand-written MLIR (any of NOMA's dialects) through the
whole pipeline, for gradient checks of upstream-dialect IR.

The module is differentiated with a given `DerivativeRules` table (the
default one unless told), then lowered by the rest of the default pipeline;
the functions named are marked as entry points first, so each can be called
with floats and returns a float or a tuple of floats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jit_functions import _caller
from xdsl.dialects.builtin import ModuleOp, UnitAttr
from xdsl.dialects.func import FuncOp
from xdsl.parser import Parser

from noma import pipeline
from noma.lowering.translate import translate_to_llvmir
from noma.passes.autodiff import differentiate_module
from noma.passes.autodiff.rules import DerivativeRules, default_rules
from noma.runtime.jit import JitModule
from noma.symbols import ENTRY_ATTR


def parse_module(text: str) -> ModuleOp:
    return Parser(pipeline.make_context(), text, "test.mlir").parse_module()


def compile_mlir_functions(
    text_or_module: str | ModuleOp,
    names: Sequence[str],
    rules: DerivativeRules | None = None,
    before_lowering: Callable[[ModuleOp], None] | None = None,
) -> dict[str, Callable[..., Any]]:
    """JIT-compile the module after autodiff with `rules` and return callers
    of the functions `names` (`f__vjp` functions included, once generated).
    `before_lowering` may rewrite the differentiated module (e.g. expand a
    test-local op) before the rest of the pipeline runs."""
    module = parse_module(text_or_module) if isinstance(text_or_module, str) else text_or_module
    differentiate_module(module, rules if rules is not None else default_rules())
    if before_lowering is not None:
        before_lowering(module)
    functions = {op.sym_name.data: op for op in module.ops if isinstance(op, FuncOp)}
    signatures = {}
    for name in names:
        functions[name].attributes[ENTRY_ATTR] = UnitAttr()
        signature = functions[name].function_type
        signatures[name] = (list(signature.inputs), list(signature.outputs))
    autodiff_cleanup = pipeline.STAGES[1].passes.removeprefix("autodiff,")
    spec = ",".join([autodiff_cleanup, *(s.passes for s in pipeline.STAGES[2:])])
    pipeline.build_pipeline(spec).apply(pipeline.make_context(), module)
    jit = JitModule(translate_to_llvmir(module))
    return {name: _caller(jit, name, *signatures[name]) for name in names}
