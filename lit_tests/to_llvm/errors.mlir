// RUN: noma-opt %s --split-input-file --verify-diagnostics -p convert-to-llvm | filecheck %s
// RUN: not noma-opt %s -p convert-to-llvm 2>&1 | filecheck %s --check-prefix=EXIT

// What cannot be lowered is one line naming the op and its location, and
// noma-opt exits with status 1 (never a traceback, never leftover ops).

// EXIT: noma-opt: error: convert-to-llvm: cannot lower '{{[a-z.]+}}' at loc(
// EXIT-NOT: Traceback

// CHECK: convert-to-llvm: cannot lower 'cf.assert' at loc("prog.noma":4:3): no lowering to the LLVM dialect for this op
func.func @assert(%c: i1) {
  cf.assert %c, "boom" loc("prog.noma":4:3)
  func.return
}

// -----

// CHECK: convert-to-llvm: cannot lower 'memref.alloc' at loc("prog.noma":7:1): only the identity layout is supported, got memref<4xf64, strided<[2]>>
func.func @layout() -> memref<4xf64, strided<[2]>> {
  %m = memref.alloc() : memref<4xf64, strided<[2]>> loc("prog.noma":7:1)
  func.return %m : memref<4xf64, strided<[2]>>
}

// -----

// CHECK: convert-to-llvm: cannot lower 'func.func' at loc(unknown): type tensor<4xf64> has no LLVM lowering
func.func @tensor_argument(%t: tensor<4xf64>) {
  func.return
}

// -----

// CHECK: convert-to-llvm: cannot lower 'scf.for' at loc(unknown): run convert-scf-to-cf first
func.func @structured(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
  }
  func.return
}

// -----

// CHECK: convert-to-llvm: cannot lower 'arith.constant' at loc(unknown): dense constants must be lowered via memref.global
func.func @dense() -> f64 {
  %d = arith.constant dense<[1.0, 2.0]> : tensor<2xf64>
  %z = arith.constant 0.0 : f64
  func.return %z : f64
}

// -----

// CHECK: convert-to-llvm: cannot lower 'memref.dim' at loc(unknown): dimension 3 out of range for memref<?xf64>
func.func @dim_out_of_range(%m: memref<?xf64>) -> index {
  %c3 = arith.constant 3 : index
  %d = memref.dim %m, %c3 : memref<?xf64>
  func.return %d : index
}

// -----

// A static buffer whose byte count does not fit in i64 (run-time sizes are
// computed without wrapping and fail in malloc instead).
// CHECK: convert-to-llvm: cannot lower 'memref.alloc' at loc("prog.noma":9:1): a buffer of 73786976294838206464 bytes is too large
func.func @too_large() {
  %m = memref.alloc() : memref<4611686018427387904x2xf64> loc("prog.noma":9:1)
  func.return
}
