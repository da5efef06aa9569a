"""Translation to LLVM IR: `translate_to_llvmir`, `noma-translate`, and a
differential oracle against upstream MLIR's lowering of the same input.
"""

from __future__ import annotations

from typing import Any

import llvmlite.binding as llvm
import numpy as np
import pytest
from to_llvm_support import F64, compile_ir, expanded, expanded_types, jit, lower, parse
from xdsl.utils.exceptions import DiagnosticException

from noma.lowering.translate import translate_to_llvmir


def test_translation_rejects_non_llvm_ops() -> None:
    module = parse("func.func @f() {\n  func.return\n}")
    with pytest.raises(DiagnosticException, match="cannot translate 'func.func'"):
        translate_to_llvmir(module)


# --- noma-translate ------------------------------------------------------------------------


def test_noma_translate_writes_output_atomically(tmp_path: Any, capsys: Any) -> None:
    from xdsl.printer import Printer

    from noma.tools.noma_translate import main

    module = lower(
        "func.func @one() -> f64 {\n  %c = arith.constant 1.0 : f64\n  func.return %c : f64\n}"
    )
    source = tmp_path / "one.mlir"
    with source.open("w") as f:
        Printer(stream=f).print_op(module)
    out = tmp_path / "one.ll"
    main([str(source), "--mlir-to-llvmir", "-o", str(out)])
    text = out.read_text()
    assert 'define double @"one"()' in text
    llvm.parse_assembly(text).verify()
    assert {p.name for p in tmp_path.iterdir()} == {"one.mlir", "one.ll"}  # no temp left

    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "absent.mlir"), "--mlir-to-llvmir"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err


# --- differential oracle: upstream's lowering of the same input ----------------------------

ORACLE_KERNEL = """
func.func @weighted(%m: memref<?x?xf64>, %w: memref<?xf64>, %limit: f64) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f64
  %rows = memref.dim %m, %c0 : memref<?x?xf64>
  %cols = memref.dim %m, %c1 : memref<?x?xf64>
  %total = scf.for %i = %c0 to %rows step %c1 iter_args(%acc = %z) -> (f64) {
    %row = scf.for %j = %c0 to %cols step %c1 iter_args(%racc = %acc) -> (f64) {
      %v = memref.load %m[%i, %j] : memref<?x?xf64>
      %k = memref.load %w[%j] : memref<?xf64>
      %p = arith.mulf %v, %k : f64
      %t = math.tanh %p : f64
      %big = arith.cmpf ogt, %t, %limit : f64
      %c = arith.select %big, %limit, %t : f64
      %a = arith.addf %racc, %c : f64
      scf.yield %a : f64
    }
    scf.yield %row : f64
  }
  func.return %total : f64
}
"""


def test_same_numbers_as_upstream_lowering(tmp_path: Any) -> None:
    import shutil
    import subprocess

    mlir_opt = shutil.which("mlir-opt-22") or shutil.which("mlir-opt")
    mlir_translate = shutil.which("mlir-translate-22") or shutil.which("mlir-translate")
    if not (mlir_opt and mlir_translate):
        pytest.skip("upstream mlir-opt / mlir-translate (mlir-22-tools) not installed")
    source = tmp_path / "kernel.mlir"
    source.write_text(ORACLE_KERNEL)
    passes = ["--convert-scf-to-cf", "--convert-to-llvm", "--reconcile-unrealized-casts"]
    lowered = subprocess.run(
        [mlir_opt, str(source), *passes], check=True, capture_output=True, text=True
    ).stdout
    upstream_ir = subprocess.run(
        [mlir_translate, "--mlir-to-llvmir"],
        input=lowered,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    upstream = compile_ir(upstream_ir)
    ours = jit(ORACLE_KERNEL)

    argtypes = (*expanded_types(2), *expanded_types(1), F64)
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 7))
    w = rng.normal(size=7)
    args = (*expanded(m), *expanded(w), 0.3)
    ours_value = ours.fn("weighted", F64, *argtypes)(*args)
    upstream_value = upstream.fn("weighted", F64, *argtypes)(*args)
    expected = float(np.minimum(np.tanh(m * w), 0.3).sum())
    assert ours_value == pytest.approx(expected, rel=1e-12)
    assert ours_value == upstream_value
