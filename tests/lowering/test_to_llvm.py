"""End to end: func/arith/math/scf/cf/memref -> llvm dialect -> LLVM IR -> MCJIT.

Each test lowers a small module with NOMA's own passes (`convert-scf-to-cf`,
`convert-to-llvm`, `reconcile-unrealized-casts`, `dce`), translates it with
`translate_to_llvmir`, checks that llvmlite parses and verifies the IR, runs
it with MCJIT through ctypes and compares the numbers with Python/numpy.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import llvmlite.binding as llvm
import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException

from noma.lowering.translate import translate_to_llvmir
from noma.pipeline import build_pipeline, make_context

LLVM_STAGE = "convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce"

llvm.initialize_native_target()
llvm.initialize_native_asmprinter()


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
        address = self.engine.get_function_address(name)
        assert address, f"no function {name}"
        return ctypes.CFUNCTYPE(restype, *argtypes)(address)


def jit(source: str) -> Jit:
    module = lower(source)
    for op in module.walk():
        assert op.dialect_name() == "llvm" or op is module, f"left behind: {op.name}"
    ir = translate_to_llvmir(module)
    parsed = llvm.parse_assembly(ir)
    parsed.verify()
    machine = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(parsed, machine)
    engine.finalize_object()
    return Jit(engine, parsed)


def descriptor_class(rank: int) -> type[ctypes.Structure]:
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
    return [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, *[ctypes.c_int64] * (2 * rank)]


F64 = ctypes.c_double
I64 = ctypes.c_int64

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


# --- memref ---------------------------------------------------------------------------


def test_memref_rank0_and_rank2_dynamic() -> None:
    compiled = jit(
        """
func.func @scalar_cell(%x: f64) -> f64 {
  %m = memref.alloc() : memref<f64>
  memref.store %x, %m[] : memref<f64>
  %v = memref.load %m[] : memref<f64>
  memref.dealloc %m : memref<f64>
  %s = memref.alloca() : memref<f64>
  memref.store %v, %s[] : memref<f64>
  %w = memref.load %s[] : memref<f64>
  %r = arith.addf %v, %w : f64
  func.return %r : f64
}
func.func @matrix(%rows: index, %cols: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.alloc(%rows, %cols) : memref<?x?xf64>
  %n0 = memref.dim %m, %c0 : memref<?x?xf64>
  %n1 = memref.dim %m, %c1 : memref<?x?xf64>
  scf.for %i = %c0 to %n0 step %c1 {
    scf.for %j = %c0 to %n1 step %c1 {
      %ii = arith.index_cast %i : index to i64
      %jj = arith.index_cast %j : index to i64
      %fi = arith.sitofp %ii : i64 to f64
      %fj = arith.sitofp %jj : i64 to f64
      %hundred = arith.constant 100.0 : f64
      %hi = arith.mulf %fi, %hundred : f64
      %v = arith.addf %hi, %fj : f64
      memref.store %v, %m[%i, %j] : memref<?x?xf64>
    }
  }
  %z = arith.constant 0.0 : f64
  %total = scf.for %i = %c0 to %n0 step %c1 iter_args(%acc = %z) -> (f64) {
    %row = scf.for %j = %c0 to %n1 step %c1 iter_args(%racc = %acc) -> (f64) {
      %v = memref.load %m[%i, %j] : memref<?x?xf64>
      %a = arith.addf %racc, %v : f64
      scf.yield %a : f64
    }
    scf.yield %row : f64
  }
  memref.dealloc %m : memref<?x?xf64>
  func.return %total : f64
}
func.func @sum2d(%m: memref<?x?xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n0 = memref.dim %m, %c0 : memref<?x?xf64>
  %n1 = memref.dim %m, %c1 : memref<?x?xf64>
  %z = arith.constant 0.0 : f64
  %total = scf.for %i = %c0 to %n0 step %c1 iter_args(%acc = %z) -> (f64) {
    %row = scf.for %j = %c0 to %n1 step %c1 iter_args(%racc = %acc) -> (f64) {
      %v = memref.load %m[%i, %j] : memref<?x?xf64>
      %w = arith.mulf %v, %v : f64
      %a = arith.addf %racc, %w : f64
      scf.yield %a : f64
    }
    scf.yield %row : f64
  }
  func.return %total : f64
}
"""
    )
    assert compiled.fn("scalar_cell", F64, F64)(2.5) == 5.0
    reference = sum(100.0 * i + j for i in range(3) for j in range(4))
    assert compiled.fn("matrix", F64, I64, I64)(3, 4) == reference
    data = np.arange(12.0).reshape(3, 4)
    sum2d = compiled.fn("sum2d", F64, *expanded_types(2))
    assert sum2d(*expanded(data)) == float((data**2).sum())



def test_strided_layout_reads_offset_and_strides_from_the_descriptor() -> None:
    compiled = jit(
        """
func.func @corner(%m: memref<?x?xf64, strided<[?, ?], offset: ?>>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.load %m[%c0, %c0] : memref<?x?xf64, strided<[?, ?], offset: ?>>
  %b = memref.load %m[%c1, %c0] : memref<?x?xf64, strided<[?, ?], offset: ?>>
  %c = memref.load %m[%c0, %c1] : memref<?x?xf64, strided<[?, ?], offset: ?>>
  %ab = arith.mulf %a, %b : f64
  %r = arith.addf %ab, %c : f64
  func.return %r : f64
}
"""
    )
    corner = compiled.fn("corner", F64, *expanded_types(2))
    data = np.arange(12.0).reshape(3, 4)
    fortran = np.asfortranarray(data)
    base = data.ctypes.data
    # data[1:, 2:] as (allocated, aligned, offset 6, sizes, strides) over the base buffer
    view = [base, base, 6, 2, 2, 4, 1]
    assert corner(*expanded(fortran)) == 0.0 * 4.0 + 1.0
    assert corner(*view) == 6.0 * 10.0 + 7.0


GLOBALS = """
"memref.global"() <{constant, initial_value = dense<[104, 105, 33, 0]> : tensor<4xi8>, sym_name = "greeting", sym_visibility = "private", type = memref<4xi8>}> : () -> ()
"memref.global"() <{constant, initial_value = dense<[[1.5, 2.5], [3.5, 4.5]]> : tensor<2x2xf64>, sym_name = "table", sym_visibility = "private", type = memref<2x2xf64>}> : () -> ()
"""


def test_memref_global_string_and_table_with_cast_and_copy() -> None:
    compiled = jit(
        GLOBALS
        + """
func.func @string_sum() -> i64 {
  %s = memref.get_global @greeting : memref<4xi8>
  %d = "memref.cast"(%s) : (memref<4xi8>) -> memref<?xi8>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %d, %c0 : memref<?xi8>
  %z = arith.constant 0 : i64
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (i64) {
    %ch = memref.load %d[%i] : memref<?xi8>
    %w = arith.extui %ch : i8 to i64
    %a = arith.addi %acc, %w : i64
    scf.yield %a : i64
  }
  func.return %r : i64
}
func.func @table_copy() -> f64 {
  %t = memref.get_global @table : memref<2x2xf64>
  %m = memref.alloc() : memref<2x2xf64>
  "memref.copy"(%t, %m) : (memref<2x2xf64>, memref<2x2xf64>) -> ()
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %a = memref.load %m[%c1, %c0] : memref<2x2xf64>
  %b = memref.load %m[%c0, %c1] : memref<2x2xf64>
  %r = arith.subf %a, %b : f64
  memref.dealloc %m : memref<2x2xf64>
  func.return %r : f64
}
"""
    )
    assert compiled.fn("string_sum", I64)() == sum(b"hi!")
    assert compiled.fn("table_copy", F64)() == 3.5 - 2.5


# --- calls and the packed entry point ---------------------------------------------------


def test_calls_expand_memrefs_and_pack_results() -> None:
    compiled = jit(
        """
func.func @stats(%m: memref<?xf64>) -> (f64, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %m, %c0 : memref<?xf64>
  %z = arith.constant 0.0 : f64
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (f64) {
    %v = memref.load %m[%i] : memref<?xf64>
    %a = arith.addf %acc, %v : f64
    scf.yield %a : f64
  }
  func.return %s, %n : f64, index
}
func.func @mean(%m: memref<?xf64>) -> f64 {
  %s, %n = func.call @stats(%m) : (memref<?xf64>) -> (f64, index)
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f64
  %r = arith.divf %s, %nf : f64
  func.return %r : f64
}
"""
    )
    data = np.array([1.0, 2.0, 6.0])
    assert compiled.fn("mean", F64, *expanded_types(1))(*expanded(data)) == 3.0


def test_packed_entry_point_with_memref_argument_and_result() -> None:
    compiled = jit(
        """
func.func @scale(%m: memref<?xf64>, %k: f64) -> memref<?xf64> attributes {noma.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %m, %c0 : memref<?xf64>
  %out = memref.alloc(%n) : memref<?xf64>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %m[%i] : memref<?xf64>
    %w = arith.mulf %v, %k : f64
    memref.store %w, %out[%i] : memref<?xf64>
  }
  func.return %out : memref<?xf64>
}
func.func @norm2(%x: f64, %y: f64) -> f64 attributes {noma.entry} {
  %xx = arith.mulf %x, %x : f64
  %yy = arith.mulf %y, %y : f64
  %s = arith.addf %xx, %yy : f64
  %r = math.sqrt %s : f64
  func.return %r : f64
}
func.func @nothing(%x: f64) attributes {noma.entry} {
  func.return
}
"""
    )
    Desc1 = descriptor_class(1)
    data = np.array([1.0, -2.0, 4.0])
    arg = Desc1(data.ctypes.data, data.ctypes.data, 0, (3,), (1,))
    k = ctypes.c_double(2.5)
    result = Desc1()
    slots = (ctypes.c_void_p * 3)(
        ctypes.addressof(arg), ctypes.addressof(k), ctypes.addressof(result)
    )
    compiled.fn("_noma_packed_scale", None, ctypes.c_void_p)(ctypes.addressof(slots))
    assert result.sizes[0] == 3 and result.strides[0] == 1 and result.offset == 0
    out = np.ctypeslib.as_array(ctypes.cast(result.aligned, ctypes.POINTER(F64)), (3,))
    assert out.tolist() == [2.5, -5.0, 10.0]

    x, y, r = F64(3.0), F64(4.0), F64(0.0)
    slots2 = (ctypes.c_void_p * 3)(*(ctypes.addressof(v) for v in (x, y, r)))
    compiled.fn("_noma_packed_norm2", None, ctypes.c_void_p)(ctypes.addressof(slots2))
    assert r.value == 5.0
    slots3 = (ctypes.c_void_p * 1)(ctypes.addressof(x))
    compiled.fn("_noma_packed_nothing", None, ctypes.c_void_p)(ctypes.addressof(slots3))


def test_external_declaration_is_called_with_expanded_memref() -> None:
    seen: list[bytes] = []
    callback_type = ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_void_p, I64, I64, I64
    )

    def record(alloc: int, aligned: int, offset: int, size: int, stride: int) -> None:
        seen.append(ctypes.string_at(aligned + offset, size))

    callback = callback_type(record)
    llvm.add_symbol("noma_test_record_bytes", ctypes.cast(callback, ctypes.c_void_p).value)
    compiled = jit(
        GLOBALS
        + """
func.func private @noma_test_record_bytes(memref<?xi8>)
func.func @main() {
  %s = memref.get_global @greeting : memref<4xi8>
  %d = "memref.cast"(%s) : (memref<4xi8>) -> memref<?xi8>
  func.call @noma_test_record_bytes(%d) : (memref<?xi8>) -> ()
  func.return
}
"""
    )
    compiled.fn("main", None)()
    assert seen == [b"hi!\x00"]


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


def test_translation_rejects_non_llvm_ops() -> None:
    module = parse("func.func @f() {\n  func.return\n}")
    with pytest.raises(DiagnosticException, match="cannot translate 'func.func'"):
        translate_to_llvmir(module)


def _all_ops(module: ModuleOp) -> Iterator[str]:
    for op in module.walk():
        yield op.name


def test_llvm_stage_output_is_only_llvm_and_builtin_module() -> None:
    module = lower(
        GLOBALS
        + """
func.func @f(%m: memref<?x?xf64>, %i: index) -> index attributes {noma.entry} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %m, %c0 : memref<?x?xf64>
  %r = arith.addi %n, %i : index
  func.return %r : index
}
"""
    )
    names = set(_all_ops(module))
    assert all(n.startswith("llvm.") or n == "builtin.module" for n in names), names


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
    assert {op.name for op in module.walk() if op.dialect_name() == "builtin"} == {
        "builtin.module"
    }
    parsed = llvm.parse_assembly(translate_to_llvmir(module))
    parsed.verify()
    engine = llvm.create_mcjit_compiler(
        parsed, llvm.Target.from_default_triple().create_target_machine()
    )
    engine.finalize_object()
    f = ctypes.CFUNCTYPE(F64, I64, F64)(engine.get_function_address("f"))
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
    parsed = llvm.parse_assembly(translate_to_llvmir(module))
    parsed.verify()
    engine = llvm.create_mcjit_compiler(
        parsed, llvm.Target.from_default_triple().create_target_machine()
    )
    engine.finalize_object()
    f = ctypes.CFUNCTYPE(I64, I64)(engine.get_function_address("collatz_steps"))

    def steps(n: int) -> int:
        count = 0
        while n > 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            count += 1
        return count

    assert [f(n) for n in (1, 6, 27)] == [steps(n) for n in (1, 6, 27)]


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
    machine = llvm.Target.from_default_triple().create_target_machine()
    upstream = llvm.parse_assembly(upstream_ir)
    upstream.verify()
    upstream_engine = llvm.create_mcjit_compiler(upstream, machine)
    upstream_engine.finalize_object()
    ours = jit(ORACLE_KERNEL)

    signature = ctypes.CFUNCTYPE(F64, *expanded_types(2), *expanded_types(1), F64)
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 7))
    w = rng.normal(size=7)
    args = (*expanded(m), *expanded(w), 0.3)
    ours_value = signature(ours.engine.get_function_address("weighted"))(*args)
    upstream_value = signature(upstream_engine.get_function_address("weighted"))(*args)
    expected = float(np.minimum(np.tanh(m * w), 0.3).sum())
    assert ours_value == pytest.approx(expected, rel=1e-12)
    assert ours_value == upstream_value
