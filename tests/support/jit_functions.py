"""Call functions of a compiled NOMA program directly, with numpy arrays.

The functions named are marked as entry points before lowering, so the LLVM
lowering emits a packed wrapper (`_noma_packed_<name>(void **args)`) for each;
arguments are passed as MLIR memref descriptors pointing into numpy arrays,
and results come back as floats or arrays (copied, then freed).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import TensorType, UnitAttr, f64
from xdsl.dialects.func import FuncOp

from noma import pipeline
from noma.compiler import Program, descriptor_to_array, result_slot
from noma.lowering.translate import translate_to_llvmir
from noma.runtime.jit import JitModule
from noma.symbols import ENTRY_ATTR, PACKED_PREFIX


def descriptor_for(array: np.ndarray) -> ctypes.Structure:
    array = np.ascontiguousarray(array, dtype=np.float64)
    slot = result_slot(TensorType(f64, list(array.shape)))
    address = array.ctypes.data
    slot.allocated = address
    slot.aligned = address
    slot.offset = 0
    for axis, (size, stride) in enumerate(zip(array.shape, array.strides, strict=True)):
        slot.sizes[axis] = size
        slot.strides[axis] = stride // 8
    slot._keep = array  # type: ignore[attr-defined]
    return slot


def compile_functions(source: str, names: Sequence[str]) -> dict[str, Callable[..., Any]]:
    jit, signatures = jit_with_entries(source, names)
    return {name: _caller(jit, name, *signatures[name]) for name in names}


def jit_with_entries(
    source: str, names: Sequence[str]
) -> tuple[JitModule, dict[str, tuple[list, list]]]:
    """The program compiled with the functions `names` marked as entry
    points (kept, never inlined away, with packed wrappers), and their
    (inputs, outputs) types."""
    program = Program(source, "test.noma")
    module = program.ir("optimizers").clone()
    functions = {op.sym_name.data: op for op in module.ops if isinstance(op, FuncOp)}
    signatures = {}
    for name in names:
        functions[name].attributes[ENTRY_ATTR] = UnitAttr()
        signature = functions[name].function_type
        signatures[name] = (list(signature.inputs), list(signature.outputs))
    spec = ",".join(s.passes for s in pipeline.STAGES[3:])
    pipeline.build_pipeline(spec).apply(pipeline.make_context(), module)
    return JitModule(translate_to_llvmir(module)), signatures


def _caller(jit: JitModule, name: str, inputs: list, outputs: list) -> Callable[..., Any]:
    class Results(ctypes.Structure):
        _fields_ = [(f"r{i}", type(result_slot(t))) for i, t in enumerate(outputs)]

    def call(*args: Any) -> Any:
        holders = [
            descriptor_for(np.asarray(a)) if isinstance(t, TensorType) else ctypes.c_double(a)
            for a, t in zip(args, inputs, strict=True)
        ]
        results = Results()
        pointers = [ctypes.pointer(h) for h in holders] + [ctypes.pointer(results)]
        assert jit.invoke_packed(PACKED_PREFIX + name, pointers) == 0
        values = []
        for i, t in enumerate(outputs):
            field = getattr(results, f"r{i}")
            if isinstance(t, TensorType):
                values.append(descriptor_to_array(field))
                jit.runtime.free_buffer(field.allocated or 0)
            else:
                values.append(field)
        return values[0] if len(values) == 1 else tuple(values)

    call.jit = jit  # type: ignore[attr-defined]
    return call
