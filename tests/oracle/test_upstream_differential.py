"""Differential oracle: upstream MLIR checks and lowers our IR on its own.

1. The `loops` and `llvm` stages of every example parse and verify in
   upstream `mlir-opt` 22, and the `llvm` stage holds only `llvm` and
   `builtin` ops (this was lit_tests/oracle, a shell loop of four processes
   per example; now one `mlir-opt --split-input-file` call for all).
2. For every example, the `loops` stage (func, arith, math, scf, cf,
   memref) is lowered to the LLVM dialect by upstream `mlir-opt` and
   translated by upstream `mlir-translate` (one call of each for all the
   examples); the result runs with NOMA's C runtime and must print exactly
   what `noma run` prints (the example's `.out` file). This checks NOMA's
   own LLVM lowering, and the `loops` contract, against the reference
   implementation.

The examples are compiled once per session (in_process.example), shared
with the other tests of the examples.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from xdsl.dialects.builtin import ModuleOp, TensorType, UnitAttr
from xdsl.dialects.func import FuncOp

from in_process import ROOT, example
from noma.compiler import DEFAULT_SEED, descriptor_to_array, result_slot
from noma.runtime.jit import JitModule

EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))
SPLIT = "// -----"
"""mlir-opt's and mlir-translate's default --split-input-file marker."""


def upstream_tool(name: str) -> str | None:
    for candidate in (f"{name}-22", name, f"/usr/lib/llvm-22/bin/{name}"):
        if path := shutil.which(candidate):
            return path
    return None


MLIR_OPT, MLIR_TRANSLATE = upstream_tool("mlir-opt"), upstream_tool("mlir-translate")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    MLIR_OPT is None or MLIR_TRANSLATE is None,
    reason="upstream mlir-opt/mlir-translate 22 not found (Debian package mlir-22-tools)",
)]

UPSTREAM_LOWERING = [
    "--convert-scf-to-cf",
    "--convert-math-to-llvm",
    "--convert-math-to-libm",
    "--convert-vector-to-llvm",
    "--expand-strided-metadata",
    "--finalize-memref-to-llvm",
    "--convert-arith-to-llvm",
    "--convert-func-to-llvm",
    "--convert-cf-to-llvm",
    "--reconcile-unrealized-casts",
]


def upstream(tool: str | None, args: list[str], chunks: list[str]) -> list[str]:
    """`tool --split-input-file ARGS` on the chunks, one process for all;
    the output of each chunk, in order."""
    assert tool is not None
    proc = subprocess.run(
        [tool, "--split-input-file", f"--output-split-marker={SPLIT}", *args, "-"],
        input=f"\n{SPLIT}\n".join(chunks), capture_output=True, text=True,
        stdin=None, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-20000:]
    outputs = re.split(rf"^{re.escape(SPLIT)}$", proc.stdout, flags=re.MULTILINE)
    assert len(outputs) == len(chunks), proc.stdout[-5000:]
    return outputs


@pytest.fixture(autouse=True)
def in_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples read their data files relative to the repository root."""
    monkeypatch.chdir(ROOT)


def test_stages_verify_upstream_and_llvm_holds_only_llvm_ops() -> None:
    chunks: list[str] = []
    for path in EXAMPLES:
        program = example(path.stem)
        llvm: ModuleOp = program.ir("llvm")
        others = sorted(
            {op.name for op in llvm.walk() if op.name.split(".")[0] not in ("llvm", "builtin")}
        )
        assert not others, f"{path.name}: non-llvm ops after noma-to-llvm: {others}"
        chunks += [f"// {path.stem} loops\n{program.ir('loops')!s}", f"// {path.stem} llvm\n{llvm!s}"]
    # Verified and printed back in generic form: every chunk parsed.
    printed = upstream(MLIR_OPT, ["--mlir-print-op-generic"], chunks)
    assert all('"builtin.module"' in text for text in printed)


def loops_with_c_interface(path: Path) -> str:
    program = example(path.stem)
    module = program.ir("loops").clone()
    for op in module.ops:
        if isinstance(op, FuncOp) and op.sym_name.data == program.entry.sym_name.data:
            # A C interface for main only: the runtime's functions keep
            # MLIR's expanded calling convention.
            op.attributes["llvm.emit_c_interface"] = UnitAttr()
    return str(module)


@pytest.fixture(scope="module")
def upstream_llvm_ir() -> dict[str, str]:
    """Each example's `loops` stage lowered and translated by upstream MLIR."""
    lowered = upstream(MLIR_OPT, UPSTREAM_LOWERING, [loops_with_c_interface(p) for p in EXAMPLES])
    translated = upstream(MLIR_TRANSLATE, ["--mlir-to-llvmir"], lowered)
    return {p.stem: ir for p, ir in zip(EXAMPLES, translated, strict=True)}


def run_capturing_stdout(jit: JitModule, main: str, result_type: object) -> str:
    """Call the C interface of main with fd 1 sent to a file; the printed
    text, with the result printed last as `noma run` does."""
    address = jit.function_address(f"_mlir_ciface_{main}")
    # The runtime library is shared by the whole test process: earlier tests
    # have advanced its generator, so seed it as `noma run` does.
    jit.runtime.rng_seed(DEFAULT_SEED)
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


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_upstream_lowering_prints_the_same(upstream_llvm_ir: dict[str, str], path: Path) -> None:
    program = example(path.stem)
    jit = JitModule(upstream_llvm_ir[path.stem])
    outputs = list(program.entry.function_type.outputs.data)
    printed = run_capturing_stdout(jit, program.entry.sym_name.data, outputs[0] if outputs else None)
    assert printed == path.with_suffix(".out").read_text()
