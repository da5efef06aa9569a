"""End to end, memrefs, calls and the packed entry point: lowered by NOMA's
llvm stage, translated, verified by llvmlite, run with MCJIT, compared with numpy.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import llvmlite.binding as llvm
import numpy as np
import pytest
from to_llvm_support import (
    F64,
    I64,
    descriptor_class,
    expanded,
    expanded_types,
    jit,
    lower,
)
from xdsl.dialects.builtin import ModuleOp

from noma.lowering.to_llvm.types import LoweringError

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


# --- reinterpret_cast and dynamic alloca -------------------------------------------------

FLATTEN = """
func.func @flat_at(%k: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.alloc() : memref<2x3xf64>
  %rows = memref.dim %m, %c0 : memref<2x3xf64>
  %cols = memref.dim %m, %c1 : memref<2x3xf64>
  scf.for %i = %c0 to %rows step %c1 {
    scf.for %j = %c0 to %cols step %c1 {
      %ii = arith.index_cast %i : index to i64
      %jj = arith.index_cast %j : index to i64
      %fi = arith.sitofp %ii : i64 to f64
      %fj = arith.sitofp %jj : i64 to f64
      %ten = arith.constant 10.0 : f64
      %hi = arith.mulf %fi, %ten : f64
      %v = arith.addf %hi, %fj : f64
      memref.store %v, %m[%i, %j] : memref<2x3xf64>
    }
  }
  %n = arith.muli %rows, %cols : index
  %flat = memref.reinterpret_cast %m to offset: [0], sizes: [%n], strides: [1] : memref<2x3xf64> to memref<?xf64>
  %v = memref.load %flat[%k] : memref<?xf64>
  memref.dealloc %m : memref<2x3xf64>
  func.return %v : f64
}
func.func @flatten(%m: memref<?x?xf64>) -> memref<?xf64> attributes {noma.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %m, %c0 : memref<?x?xf64>
  %cols = memref.dim %m, %c1 : memref<?x?xf64>
  %n = arith.muli %rows, %cols : index
  %flat = memref.reinterpret_cast %m to offset: [0], sizes: [%n], strides: [1] : memref<?x?xf64> to memref<?xf64>
  func.return %flat : memref<?xf64>
}
"""


def test_reinterpret_cast_reads_a_2x3_buffer_as_flat() -> None:
    """Element k of the flat view is element (k // 3, k % 3) of the 2x3 buffer."""
    compiled = jit(FLATTEN)
    flat_at = compiled.fn("flat_at", F64, I64)
    assert [flat_at(k) for k in range(6)] == [10.0 * (k // 3) + k % 3 for k in range(6)]


def test_reinterpret_cast_descriptor_keeps_the_pointers() -> None:
    """The view is a new descriptor over the same memory (no copy): allocated and
    aligned pointers of the source, offset 0, size rows * cols, stride 1."""
    compiled = jit(FLATTEN)
    Desc1, Desc2 = descriptor_class(1), descriptor_class(2)
    data = np.arange(6.0).reshape(2, 3)
    base = data.ctypes.data
    arg = Desc2(base - 64, base, 0, (2, 3), (3, 1))  # allocated != aligned, as after alignment
    result = Desc1()
    slots = (ctypes.c_void_p * 2)(ctypes.addressof(arg), ctypes.addressof(result))
    compiled.fn("_noma_packed_flatten", None, ctypes.c_void_p)(ctypes.addressof(slots))
    assert (result.allocated, result.aligned) == (base - 64, base)
    assert (result.offset, result.sizes[0], result.strides[0]) == (0, 6, 1)


def test_reinterpret_cast_strided_views() -> None:
    """Dynamic offset and stride (a column of a row-major matrix) and static ones
    (a 3x2 window at offset 2, a rank-0 view at offset 5)."""
    compiled = jit(
        """
func.func @column_sum(%m: memref<?x?xf64>, %j: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %m, %c0 : memref<?x?xf64>
  %cols = memref.dim %m, %c1 : memref<?x?xf64>
  %col = memref.reinterpret_cast %m to offset: [%j], sizes: [%rows], strides: [%cols] : memref<?x?xf64> to memref<?xf64, strided<[?], offset: ?>>
  %z = arith.constant 0.0 : f64
  %s = scf.for %i = %c0 to %rows step %c1 iter_args(%acc = %z) -> (f64) {
    %v = memref.load %col[%i] : memref<?xf64, strided<[?], offset: ?>>
    %a = arith.addf %acc, %v : f64
    scf.yield %a : f64
  }
  func.return %s : f64
}
func.func @window(%m: memref<8xf64>, %i: index, %j: index) -> f64 {
  %v = memref.reinterpret_cast %m to offset: [2], sizes: [3, 2], strides: [2, 1] : memref<8xf64> to memref<3x2xf64, strided<[2, 1], offset: 2>>
  %s = memref.reinterpret_cast %m to offset: [5], sizes: [], strides: [] : memref<8xf64> to memref<f64, strided<[], offset: 5>>
  %a = memref.load %v[%i, %j] : memref<3x2xf64, strided<[2, 1], offset: 2>>
  %b = memref.load %s[] : memref<f64, strided<[], offset: 5>>
  %hundred = arith.constant 100.0 : f64
  %bb = arith.mulf %b, %hundred : f64
  %r = arith.addf %a, %bb : f64
  func.return %r : f64
}
"""
    )
    data = np.arange(12.0).reshape(3, 4)
    column_sum = compiled.fn("column_sum", F64, *expanded_types(2), I64)
    assert [column_sum(*expanded(data), j) for j in range(4)] == data.sum(axis=0).tolist()
    line = np.arange(8.0)
    window = compiled.fn("window", F64, *expanded_types(1), I64, I64)
    assert window(*expanded(line), 2, 1) == line[2 + 2 * 2 + 1] + 100 * line[5]


def test_dynamic_alloca() -> None:
    """`memref.alloca(%n)` gives %n elements on the stack (small shape arrays)."""
    compiled = jit(
        """
func.func @sum_of_squares(%n: index) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %buf = memref.alloca(%n) : memref<?xi64>
  scf.for %i = %c0 to %n step %c1 {
    %ii = arith.index_cast %i : index to i64
    %sq = arith.muli %ii, %ii : i64
    memref.store %sq, %buf[%i] : memref<?xi64>
  }
  %z = arith.constant 0 : i64
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (i64) {
    %v = memref.load %buf[%i] : memref<?xi64>
    %a = arith.addi %acc, %v : i64
    scf.yield %a : i64
  }
  func.return %s : i64
}
"""
    )
    sum_of_squares = compiled.fn("sum_of_squares", I64, I64)
    assert [sum_of_squares(n) for n in (0, 1, 5, 1000)] == [
        sum(i * i for i in range(n)) for n in (0, 1, 5, 1000)
    ]


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (
            "offset: [%n], sizes: [%n], strides: [1] : memref<4x2xf64> to memref<?xf64>",
            "offset is dynamic but the result type memref<?xf64> fixes it to 0",
        ),
        (
            "offset: [0], sizes: [%n], strides: [2] : memref<4x2xf64> to memref<?xf64>",
            "stride 0 is 2 but the result type memref<?xf64> fixes it to 1",
        ),
        (
            (
                "offset: [0], sizes: [4], strides: [2] : memref<4x2xf64> to "
                "memref<4xf64, affine_map<(d0) -> (d0 * 2)>>"
            ),
            "the result needs a strided layout",
        ),
    ],
)
def test_reinterpret_cast_rejects_a_result_type_that_contradicts_it(
    view: str, message: str
) -> None:
    """Loads read a static offset or stride from the result type, so an op value
    that contradicts it (which upstream's verifier rejects and xDSL's accepts)
    would be silently ignored: it is a lowering error instead."""
    result = view.rsplit(" to ", 1)[1]
    source = f"""
func.func @f(%m: memref<4x2xf64>, %n: index) -> {result} {{
  %v = memref.reinterpret_cast %m to {view}
  func.return %v : {result}
}}
"""
    with pytest.raises(LoweringError, match="cannot lower 'memref.reinterpret_cast'") as info:
        lower(source)
    assert message in str(info.value)


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
    callback_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, I64, I64, I64)

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


# --- cells: memrefs whose element is a memref ----------------------------------------

RESIZE = """
func.func @fill(%m: memref<?x?xf64>, %base: f64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %ten = arith.constant 10.0 : f64
  %rows = memref.dim %m, %c0 : memref<?x?xf64>
  %cols = memref.dim %m, %c1 : memref<?x?xf64>
  scf.for %i = %c0 to %rows step %c1 {
    scf.for %j = %c0 to %cols step %c1 {
      %ii = arith.index_cast %i : index to i64
      %jj = arith.index_cast %j : index to i64
      %fi = arith.sitofp %ii : i64 to f64
      %fj = arith.sitofp %jj : i64 to f64
      %hi = arith.mulf %fi, %ten : f64
      %v0 = arith.addf %hi, %fj : f64
      %v = arith.addf %v0, %base : f64
      memref.store %v, %m[%i, %j] : memref<?x?xf64>
    }
  }
  func.return
}
func.func @sum(%m: memref<?x?xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %m, %c0 : memref<?x?xf64>
  %cols = memref.dim %m, %c1 : memref<?x?xf64>
  %z = arith.constant 0.0 : f64
  %s = scf.for %i = %c0 to %rows step %c1 iter_args(%acc = %z) -> (f64) {
    %row = scf.for %j = %c0 to %cols step %c1 iter_args(%r = %acc) -> (f64) {
      %v = memref.load %m[%i, %j] : memref<?x?xf64>
      %a = arith.addf %r, %v : f64
      scf.yield %a : f64
    }
    scf.yield %row : f64
  }
  func.return %s : f64
}
// realloc: a fresh %rows x %cols buffer, filled with 1000 + 10 i + j, gets the
// overlapping block of the old one element by element; the old one is freed.
func.func @resize(%cell: memref<memref<?x?xf64>>, %rows: index, %cols: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %old = memref.load %cell[] : memref<memref<?x?xf64>>
  %r0 = memref.dim %old, %c0 : memref<?x?xf64>
  %k0 = memref.dim %old, %c1 : memref<?x?xf64>
  %new = memref.alloc(%rows, %cols) : memref<?x?xf64>
  %thousand = arith.constant 1000.0 : f64
  func.call @fill(%new, %thousand) : (memref<?x?xf64>, f64) -> ()
  %r = arith.minui %r0, %rows : index
  %k = arith.minui %k0, %cols : index
  scf.for %i = %c0 to %r step %c1 {
    scf.for %j = %c0 to %k step %c1 {
      %v = memref.load %old[%i, %j] : memref<?x?xf64>
      memref.store %v, %new[%i, %j] : memref<?x?xf64>
    }
  }
  memref.dealloc %old : memref<?x?xf64>
  memref.store %new, %cell[] : memref<memref<?x?xf64>>
  func.return
}
// out = [sum of the 2x3 buffer read back through the cell, element (1, 2),
//        sum after the resize, element (i, j) after it, rows, cols]
func.func @cell_resize(%rows: index, %cols: index, %i: index, %j: index, %out: memref<6xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant 0.0 : f64
  %cell = CELL_ALLOC : memref<memref<?x?xf64>>
  %first = memref.alloc(%c2, %c3) : memref<?x?xf64>
  func.call @fill(%first, %zero) : (memref<?x?xf64>, f64) -> ()
  memref.store %first, %cell[] : memref<memref<?x?xf64>>
  %a = memref.load %cell[] : memref<memref<?x?xf64>>
  %s1 = func.call @sum(%a) : (memref<?x?xf64>) -> f64
  %e1 = memref.load %a[%c1, %c2] : memref<?x?xf64>
  func.call @resize(%cell, %rows, %cols) : (memref<memref<?x?xf64>>, index, index) -> ()
  %b = memref.load %cell[] : memref<memref<?x?xf64>>
  %s2 = func.call @sum(%b) : (memref<?x?xf64>) -> f64
  %e2 = memref.load %b[%i, %j] : memref<?x?xf64>
  %n0 = memref.dim %b, %c0 : memref<?x?xf64>
  %n1 = memref.dim %b, %c1 : memref<?x?xf64>
  %n0i = arith.index_cast %n0 : index to i64
  %n1i = arith.index_cast %n1 : index to i64
  %n0f = arith.sitofp %n0i : i64 to f64
  %n1f = arith.sitofp %n1i : i64 to f64
  memref.store %s1, %out[%c0] : memref<6xf64>
  memref.store %e1, %out[%c1] : memref<6xf64>
  memref.store %s2, %out[%c2] : memref<6xf64>
  memref.store %e2, %out[%c3] : memref<6xf64>
  memref.store %n0f, %out[%c4] : memref<6xf64>
  memref.store %n1f, %out[%c5] : memref<6xf64>
  memref.dealloc %b : memref<?x?xf64>
  CELL_FREE
  func.return
}
"""


def _resized(rows: int, cols: int) -> np.ndarray:
    """What `@resize` leaves from the 2x3 buffer 10 i + j: the overlap kept, the
    rest 1000 + 10 i + j."""
    i, j = np.indices((rows, cols))
    new = 1000.0 + 10.0 * i + j
    r, k = min(rows, 2), min(cols, 3)
    new[:r, :k] -= 1000.0
    return new


@pytest.mark.parametrize(
    ("alloc", "free"),
    [
        ("memref.alloca()", ""),
        ("memref.alloc()", "memref.dealloc %cell : memref<memref<?x?xf64>>"),
    ],
    ids=["stack-cell", "heap-cell"],
)
def test_cell_holds_a_buffer_that_is_replaced_by_a_bigger_one(alloc: str, free: str) -> None:
    """A rank-0 `memref<memref<?x?xf64>>` (on the stack or the heap) holds a 2x3
    buffer, read back through the cell; a called function replaces it with a
    4x5 (or smaller) one keeping the overlapping block; reading the cell again
    sees the new buffer, its shape and its elements."""
    compiled = jit(RESIZE.replace("CELL_ALLOC", alloc).replace("CELL_FREE", free))
    cell_resize = compiled.fn("cell_resize", None, I64, I64, I64, I64, *expanded_types(1))
    first = 10.0 * np.indices((2, 3))[0] + np.indices((2, 3))[1]
    for rows, cols, i, j in [(4, 5, 3, 4), (4, 5, 1, 2), (1, 2, 0, 1), (2, 3, 1, 1)]:
        out = np.zeros(6)
        cell_resize(rows, cols, i, j, *expanded(out))
        new = _resized(rows, cols)
        assert out.tolist() == [
            first.sum(),
            first[1, 2],
            new.sum(),
            new[i, j],
            float(rows),
            float(cols),
        ]
    # the reference itself: 4x5 values 10 i + j (sum 340), 1000 more outside the 2x3 block
    assert _resized(4, 5).sum() == 340.0 + (20 - 6) * 1000.0


GROW_IN_LOOP = """
// Appends (k + 1)^2 to the buffer in the cell, n times: each step loads the
// buffer, allocates one more element, copies, frees the old one and stores the
// new one. The cell itself is carried by the scf.while, and so is the buffer
// read in the `before` region, which leaves the loop as a result.
func.func @grow(%n: index, %out: memref<4xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %cell0 = memref.alloca() : memref<memref<?xf64>>
  %empty = memref.alloc(%c0) : memref<?xf64>
  memref.store %empty, %cell0[] : memref<memref<?xf64>>
  %cell, %k_end, %seen = scf.while (%c = %cell0, %k = %c0) : (memref<memref<?xf64>>, index) -> (memref<memref<?xf64>>, index, memref<?xf64>) {
    %go = arith.cmpi ult, %k, %n : index
    %now = memref.load %c[] : memref<memref<?xf64>>
    scf.condition(%go) %c, %k, %now : memref<memref<?xf64>>, index, memref<?xf64>
  } do {
  ^bb0(%c: memref<memref<?xf64>>, %k: index, %now: memref<?xf64>):
    %len = memref.dim %now, %c0 : memref<?xf64>
    %len1 = arith.addi %len, %c1 : index
    %new = memref.alloc(%len1) : memref<?xf64>
    scf.for %i = %c0 to %len step %c1 {
      %v = memref.load %now[%i] : memref<?xf64>
      memref.store %v, %new[%i] : memref<?xf64>
    }
    %k1 = arith.addi %k, %c1 : index
    %ki = arith.index_cast %k1 : index to i64
    %kf = arith.sitofp %ki : i64 to f64
    %sq = arith.mulf %kf, %kf : f64
    memref.store %sq, %new[%len] : memref<?xf64>
    memref.dealloc %now : memref<?xf64>
    memref.store %new, %c[] : memref<memref<?xf64>>
    scf.yield %c, %k1 : memref<memref<?xf64>>, index
  }
  %final = memref.load %cell[] : memref<memref<?xf64>>
  %len = memref.dim %final, %c0 : memref<?xf64>
  %z = arith.constant 0.0 : f64
  %s = scf.for %i = %c0 to %len step %c1 iter_args(%acc = %z) -> (f64) {
    %v = memref.load %final[%i] : memref<?xf64>
    %a = arith.addf %acc, %v : f64
    scf.yield %a : f64
  }
  // The buffer the last `before` region read is the one in the cell.
  %seen_len = memref.dim %seen, %c0 : memref<?xf64>
  %seen_sum = scf.for %i = %c0 to %seen_len step %c1 iter_args(%acc = %z) -> (f64) {
    %v = memref.load %seen[%i] : memref<?xf64>
    %a = arith.addf %acc, %v : f64
    scf.yield %a : f64
  }
  %leni = arith.index_cast %len : index to i64
  %lenf = arith.sitofp %leni : i64 to f64
  %seen_leni = arith.index_cast %seen_len : index to i64
  %seen_lenf = arith.sitofp %seen_leni : i64 to f64
  memref.store %s, %out[%c0] : memref<4xf64>
  memref.store %lenf, %out[%c1] : memref<4xf64>
  memref.store %seen_sum, %out[%c2] : memref<4xf64>
  memref.store %seen_lenf, %out[%c3] : memref<4xf64>
  memref.dealloc %final : memref<?xf64>
  func.return
}
"""


def test_cell_carried_by_scf_while_grows_its_buffer() -> None:
    """The cell crosses the loop as a block argument (a rank-0 descriptor) and
    the buffer loaded from it as a loop result; after n appends it holds
    1, 4, ..., n^2."""
    compiled = jit(GROW_IN_LOOP)
    grow = compiled.fn("grow", None, I64, *expanded_types(1))
    for n in (0, 1, 5, 40):
        out = np.zeros(4)
        grow(n, *expanded(out))
        total = float(sum(k * k for k in range(1, n + 1)))
        assert out.tolist() == [total, float(n), total, float(n)]


def test_table_of_buffers_is_indexed_by_descriptor_size() -> None:
    """A rank-1 `memref<?xmemref<?xf64>>`: element r is r descriptors (40 bytes
    each) past the base; row r holds r + 1 values r + 0.5 * c."""
    compiled = jit(
        """
func.func @jagged(%n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %half = arith.constant 0.5 : f64
  %table = memref.alloc(%n) : memref<?xmemref<?xf64>>
  scf.for %r = %c0 to %n step %c1 {
    %len = arith.addi %r, %c1 : index
    %row = memref.alloc(%len) : memref<?xf64>
    %ri = arith.index_cast %r : index to i64
    %rf = arith.sitofp %ri : i64 to f64
    scf.for %c = %c0 to %len step %c1 {
      %ci = arith.index_cast %c : index to i64
      %cf = arith.sitofp %ci : i64 to f64
      %h = arith.mulf %cf, %half : f64
      %v = arith.addf %rf, %h : f64
      memref.store %v, %row[%c] : memref<?xf64>
    }
    memref.store %row, %table[%r] : memref<?xmemref<?xf64>>
  }
  %z = arith.constant 0.0 : f64
  %s = scf.for %r = %c0 to %n step %c1 iter_args(%acc = %z) -> (f64) {
    %row = memref.load %table[%r] : memref<?xmemref<?xf64>>
    %len = memref.dim %row, %c0 : memref<?xf64>
    %rs = scf.for %c = %c0 to %len step %c1 iter_args(%a = %acc) -> (f64) {
      %v = memref.load %row[%c] : memref<?xf64>
      %b = arith.addf %a, %v : f64
      scf.yield %b : f64
    }
    memref.dealloc %row : memref<?xf64>
    scf.yield %rs : f64
  }
  memref.dealloc %table : memref<?xmemref<?xf64>>
  func.return %s : f64
}
"""
    )
    jagged = compiled.fn("jagged", F64, I64)
    for n in (0, 1, 4, 30):
        assert jagged(n) == sum(r + 0.5 * c for r in range(n) for c in range(r + 1))


def test_dynamic_rank2_alloc_dim_and_copy() -> None:
    """`memref.alloc(%d0, %d1)` with the sizes of a `memref<?x?xf64>` argument
    (read with `memref.dim`), and `memref.copy` between the two (d0 * d1 * 8
    bytes); the copy is independent of the source."""
    compiled = jit(
        """
func.func @copy_then_clear(%src: memref<?x?xf64>, %dst: memref<?x?xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = memref.dim %src, %c0 : memref<?x?xf64>
  %d1 = memref.dim %src, %c1 : memref<?x?xf64>
  %tmp = memref.alloc(%d0, %d1) : memref<?x?xf64>
  "memref.copy"(%src, %tmp) : (memref<?x?xf64>, memref<?x?xf64>) -> ()
  %z = arith.constant 0.0 : f64
  scf.for %i = %c0 to %d0 step %c1 {
    scf.for %j = %c0 to %d1 step %c1 {
      memref.store %z, %src[%i, %j] : memref<?x?xf64>
    }
  }
  "memref.copy"(%tmp, %dst) : (memref<?x?xf64>, memref<?x?xf64>) -> ()
  %t0 = memref.dim %tmp, %c0 : memref<?x?xf64>
  %t1 = memref.dim %tmp, %c1 : memref<?x?xf64>
  %last0 = arith.subi %t0, %c1 : index
  %last1 = arith.subi %t1, %c1 : index
  %v = memref.load %tmp[%last0, %last1] : memref<?x?xf64>
  memref.dealloc %tmp : memref<?x?xf64>
  func.return %v : f64
}
"""
    )
    copy_then_clear = compiled.fn("copy_then_clear", F64, *expanded_types(2), *expanded_types(2))
    for shape in [(3, 4), (1, 7), (5, 1)]:
        data = np.arange(1.0, 1.0 + shape[0] * shape[1]).reshape(shape)
        src, dst = data.copy(), np.full(shape, -1.0)
        assert copy_then_clear(*expanded(src), *expanded(dst)) == data[-1, -1]
        assert dst.tolist() == data.tolist()
        assert not src.any()
