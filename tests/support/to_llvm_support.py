"""Helpers of the LLVM-lowering tests: lower MLIR text with NOMA's passes,
translate it, verify it with llvmlite and compile it with MCJIT; numpy arrays
as memref descriptors for ctypes calls."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from noma.lowering.translate import translate_to_llvmir
from noma.pipeline import build_pipeline, make_context
from noma.runtime.jit import load_runtime

LLVM_STAGE = "noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce"

llvm.initialize_native_target()
llvm.initialize_native_asmprinter()

F64 = ctypes.c_double
I64 = ctypes.c_int64


def parse(source: str) -> ModuleOp:
    return Parser(make_context(), source).parse_module()


def lower(source: str, passes: str = LLVM_STAGE) -> ModuleOp:
    module = parse(source)
    build_pipeline(passes).apply(make_context(), module)
    module.verify()
    return module


@dataclass
class Jit:
    """A module compiled by MCJIT; `fn(name, restype, *argtypes)` gives a ctypes callable."""

    engine: Any
    module: Any

    def fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        """The compiled function `name`; it keeps this engine (its code) alive."""
        address = self.engine.get_function_address(name)
        assert address, f"no function {name}"
        cfunc = ctypes.CFUNCTYPE(restype, *argtypes)(address)

        def call(*args: Any, _owner: Jit = self) -> Any:
            return cfunc(*args)

        return call


def compile_ir(llvm_ir: str) -> Jit:
    """Parse and verify LLVM IR text with llvmlite, then compile it with MCJIT
    (with the C runtime loaded: allocations report failures through it)."""
    load_runtime()
    parsed = llvm.parse_assembly(llvm_ir)
    parsed.verify()
    machine = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(parsed, machine)
    engine.finalize_object()
    return Jit(engine, parsed)


def compile_module(module: ModuleOp) -> Jit:
    """An llvm-dialect module, translated by NOMA and compiled."""
    for op in module.walk():
        assert op.dialect_name() == "llvm" or op is module, f"left behind: {op.name}"
    return compile_ir(translate_to_llvmir(module))


def jit(source: str) -> Jit:
    """MLIR text in func/arith/math/scf/cf/memref, lowered by the llvm stage and compiled."""
    return compile_module(lower(source))


def descriptor_class(rank: int) -> type[ctypes.Structure]:
    """The C struct of a rank-`rank` memref descriptor."""
    fields: list[tuple[str, Any]] = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
    ]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"Descriptor{rank}", (ctypes.Structure,), {"_fields_": fields})


def expanded(array: np.ndarray) -> list[Any]:
    """A numpy array as the expanded memref arguments (alloc, aligned, offset, sizes, strides)."""
    pointer = array.ctypes.data
    strides = [s // array.itemsize for s in array.strides]
    return [pointer, pointer, 0, *array.shape, *strides]


def expanded_types(rank: int) -> list[Any]:
    """ctypes argument types of one expanded memref argument."""
    return [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, *[ctypes.c_int64] * (2 * rank)]
