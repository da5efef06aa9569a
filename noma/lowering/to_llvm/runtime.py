"""Calls into the C runtime that the LLVM-level lowering itself emits (the
malloc guard's `noma_alloc_failed`), declared from the runtime's one Python
declaration, `noma.runtime.abi`, as the loops lowering declares the calls it
emits (`noma.lowering.noma_to_loops.runtime`)."""

from __future__ import annotations

from xdsl.dialects import llvm
from xdsl.dialects.builtin import IntegerType, f64
from xdsl.ir import Attribute

from noma.lowering.to_llvm.types import I64, PTR
from noma.runtime import abi

_LLVM_TYPES: dict[abi.Kind, Attribute] = {
    abi.Kind.F64: f64,
    abi.Kind.I64: I64,
    abi.Kind.INT: IntegerType(32),
    abi.Kind.POINTER: PTR,
    abi.Kind.C_STRING: PTR,
}
"""The LLVM type of each kind an LLVM-level call passes (one C parameter each)."""


def runtime_function_type(name: str) -> llvm.LLVMFunctionType:
    """The `llvm.func` type of the runtime function `name`, which the table
    lists as called by the LLVM-level lowering."""
    function = abi.BY_NAME[name]
    assert abi.Caller.LLVM in function.callers, f"{name} is not called from the LLVM level"
    inputs = [_LLVM_TYPES[kind] for kind in function.params]
    output = _LLVM_TYPES[function.result] if function.result is not None else None
    return llvm.LLVMFunctionType(inputs, output)
