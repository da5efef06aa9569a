"""Differential oracle: upstream MLIR lowers our `loops` stage on its own.

For every example, the `loops` stage (func, arith, math, scf, cf, memref) is
lowered to the LLVM dialect by upstream `mlir-opt` 22 and translated by
upstream `mlir-translate`; the result runs with NOMA's C runtime and must
print exactly what `noma run` prints (the example's `.out` file). This checks
NOMA's own LLVM lowering, and the `loops` contract, against the reference
implementation.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from xdsl.dialects.builtin import TensorType, UnitAttr
from xdsl.dialects.func import FuncOp

import noma
from noma.compiler import descriptor_to_array, result_slot
from noma.runtime.jit import JitModule

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))


def upstream_tool(name: str) -> str | None:
    for candidate in (f"{name}-22", name, f"/usr/lib/llvm-22/bin/{name}"):
        if path := shutil.which(candidate):
            return path
    return None


MLIR_OPT, MLIR_TRANSLATE = upstream_tool("mlir-opt"), upstream_tool("mlir-translate")
pytestmark = pytest.mark.skipif(
    MLIR_OPT is None or MLIR_TRANSLATE is None,
    reason="upstream mlir-opt/mlir-translate 22 not found (Debian package mlir-22-tools)",
)

UPSTREAM_LOWERING = [
    "--convert-scf-to-cf",
    "--convert-math-to-llvm",
    "--convert-math-to-libm",
    "--expand-strided-metadata",
    "--finalize-memref-to-llvm",
    "--convert-arith-to-llvm",
    "--convert-func-to-llvm",
    "--convert-cf-to-llvm",
    "--reconcile-unrealized-casts",
]


def upstream_llvm_ir(loops_mlir: str) -> str:
    assert MLIR_OPT is not None and MLIR_TRANSLATE is not None
    lowered = subprocess.run(
        [MLIR_OPT, *UPSTREAM_LOWERING], input=loops_mlir, capture_output=True, text=True
    )
    assert lowered.returncode == 0, lowered.stderr
    translated = subprocess.run(
        [MLIR_TRANSLATE, "--mlir-to-llvmir"], input=lowered.stdout, capture_output=True, text=True
    )
    assert translated.returncode == 0, translated.stderr
    return translated.stdout


def run_capturing_stdout(jit: JitModule, main: str, result_type: object) -> str:
    """Call the C interface of main with fd 1 sent to a file; the printed
    text, with the result printed last as `noma run` does."""
    address = jit.function_address(f"_mlir_ciface_{main}")
    with tempfile.TemporaryFile() as out:
        saved = os.dup(1)
        os.dup2(out.fileno(), 1)
        try:
            if isinstance(result_type, TensorType):
                slot = result_slot(result_type)
                ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)(ctypes.addressof(slot))
                jit.runtime.print_tensor(descriptor_to_array(slot))
            elif result_type is not None:
                jit.runtime.print_f64(ctypes.CFUNCTYPE(ctypes.c_double)(address)())
            else:
                ctypes.CFUNCTYPE(None)(address)()
            jit.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        return out.read().decode()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_upstream_lowering_prints_the_same(example: Path) -> None:
    program = noma.compile(example)
    module = program.ir("loops").clone()
    for op in module.ops:
        if isinstance(op, FuncOp) and op.sym_name.data == program.entry.sym_name.data:
            # A C interface for main only: the runtime's functions keep
            # MLIR's expanded calling convention.
            op.attributes["llvm.emit_c_interface"] = UnitAttr()
    loops = str(module)
    jit = JitModule(upstream_llvm_ir(loops))
    outputs = list(program.entry.function_type.outputs.data)
    printed = run_capturing_stdout(jit, program.entry.sym_name.data, outputs[0] if outputs else None)
    assert printed == example.with_suffix(".out").read_text()
