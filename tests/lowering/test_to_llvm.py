"""End to end, scalars and control flow: func/arith/math/scf/cf -> llvm dialect ->
LLVM IR -> MCJIT.

Each test lowers a small module with NOMA's own passes (`noma-convert-scf-to-cf`,
`convert-to-llvm`, `reconcile-unrealized-casts`, `dce`), translates it with
`translate_to_llvmir`, checks that llvmlite parses and verifies the IR, runs
it with MCJIT through ctypes and compares the numbers with Python/numpy.
Memrefs and calls: test_to_llvm_memref.py; translation: test_llvm_translate.py.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable

import numpy as np
import pytest
from to_llvm_support import (
    F64,
    I64,
    LLVM_STAGE,
    Jit,
    compile_module,
    expanded,
    expanded_types,
    jit,
    parse,
)
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException

from noma.pipeline import build_pipeline, make_context

# --- arith and math ----------------------------------------------------------------

UNARY = {
    "exp": (math.exp, [-1.5, 0.0, 2.0]),
    "log": (math.log, [0.5, 1.0, 10.0]),
    "sqrt": (math.sqrt, [0.0, 2.0, 9.0]),
    "sin": (math.sin, [-1.0, 0.5, 3.0]),
    "cos": (math.cos, [-1.0, 0.5, 3.0]),
    "tan": (math.tan, [-1.0, 0.5, 1.2]),
    "tanh": (math.tanh, [-3.0, 0.1, 2.0]),
    "floor": (math.floor, [-1.5, 0.5, 2.0]),
    "ceil": (math.ceil, [-1.5, 0.5, 2.0]),
    "absf": (abs, [-1.5, 0.0, 2.0]),
}


@pytest.fixture(scope="module")
def math_jit() -> Jit:
    # `t_` prefix: a function named like a libm symbol (`ceil`) would be called
    # by the intrinsic's own lowering.
    functions = [
        f"func.func @t_{name}(%x: f64) -> f64 {{\n  %r = math.{name} %x : f64\n"
        "  func.return %r : f64\n}"
        for name in UNARY
    ]
    functions.append(
        "func.func @t_powf(%a: f64, %b: f64) -> f64 {\n  %r = math.powf %a, %b : f64\n"
        "  func.return %r : f64\n}"
    )
    for op in ("maximumf", "minimumf", "addf", "subf", "mulf", "divf"):
        functions.append(
            f"func.func @t_{op}(%a: f64, %b: f64) -> f64 {{\n  %r = arith.{op} %a, %b : f64\n"
            "  func.return %r : f64\n}"
        )
    return jit("\n".join(functions))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_math(math_jit: Jit, name: str) -> None:
    reference, inputs = UNARY[name]
    f = math_jit.fn(f"t_{name}", F64, F64)
    for x in inputs:
        assert f(x) == pytest.approx(reference(x), rel=1e-12, abs=1e-15)


def test_binary_float_ops(math_jit: Jit) -> None:
    pairs = [(2.0, 3.0), (-1.5, 0.5), (4.0, -2.0)]
    expected: dict[str, Callable[[float, float], float]] = {
        "powf": lambda a, b: float(np.power(a, b)),  # nan for (-1.5) ** 0.5
        "maximumf": max,
        "minimumf": min,
        "addf": lambda a, b: a + b,
        "subf": lambda a, b: a - b,
        "mulf": lambda a, b: a * b,
        "divf": lambda a, b: a / b,
    }
    for name, reference in expected.items():
        f = math_jit.fn(f"t_{name}", F64, F64, F64)
        for a, b in pairs:
            with np.errstate(invalid="ignore"):
                expected_value = reference(a, b)
            assert f(a, b) == pytest.approx(expected_value, rel=1e-12, nan_ok=True), (name, a, b)


def test_maximumf_minimumf_propagate_nan(math_jit: Jit) -> None:
    for name in ("maximumf", "minimumf"):
        f = math_jit.fn(f"t_{name}", F64, F64, F64)
        assert math.isnan(f(float("nan"), 1.0))
        assert math.isnan(f(1.0, float("nan")))


CMPF_PREDICATES = {
    "oeq": lambda a, b: a == b,
    "ogt": lambda a, b: a > b,
    "oge": lambda a, b: a >= b,
    "olt": lambda a, b: a < b,
    "ole": lambda a, b: a <= b,
    "one": lambda a, b: not (math.isnan(a) or math.isnan(b)) and a != b,
    "ord": lambda a, b: not (math.isnan(a) or math.isnan(b)),
    "ueq": lambda a, b: math.isnan(a) or math.isnan(b) or a == b,
    "ugt": lambda a, b: math.isnan(a) or math.isnan(b) or a > b,
    "uge": lambda a, b: math.isnan(a) or math.isnan(b) or a >= b,
    "ult": lambda a, b: math.isnan(a) or math.isnan(b) or a < b,
    "ule": lambda a, b: math.isnan(a) or math.isnan(b) or a <= b,
    "une": lambda a, b: a != b,
    "uno": lambda a, b: math.isnan(a) or math.isnan(b),
    "true": lambda a, b: True,
    "false": lambda a, b: False,
}


def test_cmpf_all_predicates_with_select() -> None:
    functions = "\n".join(
        f"func.func @{p}(%a: f64, %b: f64) -> f64 {{\n"
        f"  %c = arith.cmpf {p}, %a, %b : f64\n"
        "  %one = arith.constant 1.0 : f64\n  %zero = arith.constant 0.0 : f64\n"
        "  %r = arith.select %c, %one, %zero : f64\n  func.return %r : f64\n}"
        for p in CMPF_PREDICATES
    )
    compiled = jit(functions)
    nan = float("nan")
    for p, reference in CMPF_PREDICATES.items():
        f = compiled.fn(p, F64, F64, F64)
        for a, b in [(1.0, 2.0), (2.0, 1.0), (1.0, 1.0), (nan, 1.0), (1.0, nan)]:
            assert f(a, b) == float(reference(a, b)), (p, a, b)


def test_integer_ops_and_casts() -> None:
    compiled = jit(
        """
func.func @ints(%a: i64, %b: i64) -> i64 {
  %lt = arith.cmpi slt, %a, %b : i64
  %sum = arith.addi %a, %b : i64
  %diff = arith.subi %a, %b : i64
  %m = arith.select %lt, %sum, %diff : i64
  %p = arith.muli %m, %b : i64
  %q = arith.divsi %p, %a : i64
  %r = arith.remsi %p, %a : i64
  %x = arith.xori %q, %r : i64
  %o = arith.ori %x, %a : i64
  %n = arith.andi %o, %p : i64
  func.return %n : i64
}
func.func @casts(%x: f64, %i: index) -> f64 {
  %t = arith.fptosi %x : f64 to i64
  %s = arith.fptosi %x : f64 to i32
  %s64 = arith.extui %s : i32 to i64
  %tr = arith.trunci %t : i64 to i32
  %tr64 = arith.extui %tr : i32 to i64
  %ii = arith.index_cast %i : index to i64
  %sum = arith.addi %t, %ii : i64
  %sum2 = arith.addi %sum, %s64 : i64
  %sum3 = arith.addi %sum2, %tr64 : i64
  %f = arith.sitofp %sum3 : i64 to f64
  func.return %f : f64
}
func.func @uitofp_i1(%a: i64, %b: i64) -> f64 {
  %c = arith.cmpi ult, %a, %b : i64
  %f = arith.uitofp %c : i1 to f64
  func.return %f : f64
}
func.func @uitofp_i64(%a: i64) -> f64 {
  %f = arith.uitofp %a : i64 to f64
  func.return %f : f64
}
func.func @fptosi_sat(%x: f64) -> i64 {
  %t = arith.fptosi %x : f64 to i64
  func.return %t : i64
}
"""
    )
    ints = compiled.fn("ints", I64, I64, I64)
    for a, b in [(3, 7), (9, 2), (5, 5)]:
        m = a + b if a < b else a - b
        p = m * b
        q, r = int(p / a), p - a * int(p / a)
        assert ints(a, b) == ((q ^ r) | a) & p
    casts = compiled.fn("casts", F64, F64, I64)
    assert casts(3.7, 10) == 3 + 10 + 3 + 3
    assert casts(-2.5, 1) == -2 + 1 + (2**32 - 2) + (2**32 - 2)
    uitofp_i1 = compiled.fn("uitofp_i1", F64, I64, I64)
    assert (uitofp_i1(1, 2), uitofp_i1(2, 1)) == (1.0, 0.0)
    uitofp_i64 = compiled.fn("uitofp_i64", F64, ctypes.c_uint64)
    for value in (0, 5, 2**63, 2**64 - 1, 2**63 + 2**11 + 1):
        assert uitofp_i64(value) == float(value)
    fptosi = compiled.fn("fptosi_sat", I64, F64)
    assert (fptosi(-7.9), fptosi(1e300), fptosi(float("nan"))) == (-7, 2**63 - 1, 0)


# --- control flow ---------------------------------------------------------------------


def test_scf_while_sums_one_to_n() -> None:
    compiled = jit(
        """
func.func @sum(%n: i64) -> i64 {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %r:2 = scf.while (%i = %c1, %acc = %c0) : (i64, i64) -> (i64, i64) {
    %more = arith.cmpi sle, %i, %n : i64
    scf.condition(%more) %i, %acc : i64, i64
  } do {
  ^bb0(%j: i64, %s: i64):
    %s2 = arith.addi %s, %j : i64
    %j2 = arith.addi %j, %c1 : i64
    scf.yield %j2, %s2 : i64, i64
  }
  func.return %r#1 : i64
}
"""
    )
    f = compiled.fn("sum", I64, I64)
    for n in (0, 1, 10, 1000):
        assert f(n) == n * (n + 1) // 2


def test_nested_scf_if_and_for() -> None:
    compiled = jit(
        """
func.func @classify(%x: f64) -> f64 {
  %zero = arith.constant 0.0 : f64
  %ten = arith.constant 10.0 : f64
  %pos = arith.cmpf ogt, %x, %zero : f64
  %r = scf.if %pos -> (f64) {
    %big = arith.cmpf ogt, %x, %ten : f64
    %inner = scf.if %big -> (f64) {
      %c = arith.constant 2.0 : f64
      scf.yield %c : f64
    } else {
      %c = arith.constant 1.0 : f64
      scf.yield %c : f64
    }
    scf.yield %inner : f64
  } else {
    %c = arith.constant -1.0 : f64
    scf.yield %c : f64
  }
  func.return %r : f64
}
func.func @squares(%n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f64
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (f64) {
    %ii = arith.index_cast %i : index to i64
    %f = arith.sitofp %ii : i64 to f64
    %sq = arith.mulf %f, %f : f64
    %a = arith.addf %acc, %sq : f64
    scf.yield %a : f64
  }
  func.return %r : f64
}
"""
    )
    classify = compiled.fn("classify", F64, F64)
    assert [classify(x) for x in (-3.0, 0.0, 5.0, 11.0)] == [-1.0, -1.0, 1.0, 2.0]
    squares = compiled.fn("squares", F64, I64)
    assert squares(10) == sum(i * i for i in range(10))


def test_cf_branches_carry_index_and_memref_block_arguments() -> None:
    compiled = jit(
        """
func.func @pick(%a: memref<?xf64>, %b: memref<?xf64>, %first: i1, %i: index) -> f64 {
  cf.cond_br %first, ^bb1(%a, %i : memref<?xf64>, index), ^bb1(%b, %i : memref<?xf64>, index)
^bb1(%m: memref<?xf64>, %k: index):
  %v = memref.load %m[%k] : memref<?xf64>
  cf.br ^bb2(%v : f64)
^bb2(%r: f64):
  func.return %r : f64
}
"""
    )
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([10.0, 20.0, 30.0])
    f = compiled.fn("pick", F64, *expanded_types(1), *expanded_types(1), ctypes.c_bool, I64)
    assert f(*expanded(a), *expanded(b), True, 2) == 3.0
    assert f(*expanded(a), *expanded(b), False, 1) == 20.0


# --- what is left behind is an error -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "op_name"),
    [
        ('cf.assert %c, "boom"', "cf.assert"),
        ('%p = "test.unknown"() : () -> i64', "test.unknown"),
    ],
)
def test_unsupported_ops_are_reported(body: str, op_name: str) -> None:
    source = f"""
func.func @f(%c: i1) {{
  {body}
  func.return
}}
"""
    ctx = make_context()
    ctx.allow_unregistered = True
    module = Parser(ctx, source).parse_module()
    with pytest.raises(DiagnosticException, match=f"cannot lower '{op_name}'"):
        build_pipeline(LLVM_STAGE).apply(ctx, module)


# --- the per-dialect passes compose like the combined one -------------------------------


def test_per_dialect_passes_compose() -> None:
    from xdsl.transforms.reconcile_unrealized_casts import ReconcileUnrealizedCastsPass

    from noma.lowering.scf_to_cf import ConvertScfToCfPass
    from noma.lowering.to_llvm import (
        ConvertArithToLLVMPass,
        ConvertCfToLLVMPass,
        ConvertFuncToLLVMPass,
        ConvertMathToLLVMPass,
        ConvertMemRefToLLVMPass,
    )

    module = parse(
        """
func.func @f(%n: index, %x: f64) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.alloc(%n) : memref<?xf64>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> (f64) {
    %e = math.exp %acc : f64
    memref.store %e, %m[%i] : memref<?xf64>
    %l = math.log %e : f64
    %h = arith.constant 0.5 : f64
    %a = arith.mulf %l, %h : f64
    scf.yield %a : f64
  }
  memref.dealloc %m : memref<?xf64>
  func.return %r : f64
}
"""
    )
    ctx = make_context()
    for pass_ in (
        ConvertScfToCfPass(),
        ConvertMemRefToLLVMPass(),
        ConvertMathToLLVMPass(),
        ConvertArithToLLVMPass(),
        ConvertCfToLLVMPass(),
        ConvertFuncToLLVMPass(),
        ReconcileUnrealizedCastsPass(),
    ):
        pass_.apply(ctx, module)
    module.verify()
    assert {op.dialect_name() for op in module.walk()} == {"builtin", "llvm"}
    assert {op.name for op in module.walk() if op.dialect_name() == "builtin"} == {"builtin.module"}
    f = compile_module(module).fn("f", F64, I64, F64)
    assert f(3, 8.0) == pytest.approx(1.0)


def test_while_lowering_handles_multi_block_regions() -> None:
    """Nested scf.if already lowered inside both regions of an scf.while."""
    from xdsl.pattern_rewriter import PatternRewriteWalker
    from xdsl.transforms.convert_scf_to_cf import IfLowering

    source = """
func.func @collatz_steps(%n: i64) -> i64 {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %r:2 = scf.while (%x = %n, %steps = %c0) : (i64, i64) -> (i64, i64) {
    %big = arith.cmpi sgt, %x, %c1 : i64
    %go = scf.if %big -> (i1) {
      scf.yield %big : i1
    } else {
      %f = arith.constant false
      scf.yield %f : i1
    }
    scf.condition(%go) %x, %steps : i64, i64
  } do {
  ^bb0(%y: i64, %s: i64):
    %rem = arith.remsi %y, %c2 : i64
    %even = arith.cmpi eq, %rem, %c0 : i64
    %next = scf.if %even -> (i64) {
      %h = arith.divsi %y, %c2 : i64
      scf.yield %h : i64
    } else {
      %t = arith.muli %y, %c3 : i64
      %t1 = arith.addi %t, %c1 : i64
      scf.yield %t1 : i64
    }
    %s1 = arith.addi %s, %c1 : i64
    scf.yield %next, %s1 : i64, i64
  }
  func.return %r#1 : i64
}
"""
    module = parse(source)
    PatternRewriteWalker(IfLowering(), walk_regions_first=True).rewrite_module(module)
    assert any(op.name == "scf.while" for op in module.walk())
    build_pipeline(LLVM_STAGE).apply(make_context(), module)
    module.verify()
    f = compile_module(module).fn("collatz_steps", I64, I64)

    def steps(n: int) -> int:
        count = 0
        while n > 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            count += 1
        return count

    assert [f(n) for n in (1, 6, 27)] == [steps(n) for n in (1, 6, 27)]
