// RUN: noma-opt %s --split-input-file --verify-diagnostics -p convert-to-llvm
// RUN: not noma-opt %s -p convert-to-llvm 2>&1 | filecheck %s --check-prefix=EXIT
// RUN: not noma-opt %s --split-input-file -p convert-to-llvm 2>&1 | filecheck %s --check-prefix=LOC

// What cannot be lowered is one line naming the op and its location, and
// noma-opt exits with status 1 (never a traceback, never leftover ops).

// EXIT: error: convert-to-llvm: cannot lower '{{[a-z.]+}}':
// EXIT-NOT: Traceback

// Every chunk is reported: at the op's own location (`loc(...)`), else
// where the op is in this file.
// LOC: prog.noma:4:3: error: convert-to-llvm: cannot lower 'cf.assert'
// LOC: prog.noma:7:1: error: convert-to-llvm: cannot lower 'memref.alloc'
// LOC: errors.mlir:36:1: error: convert-to-llvm: cannot lower 'func.func'
// LOC: errors.mlir:46:3: error: convert-to-llvm: cannot lower 'scf.for'
// LOC-NOT: Traceback

func.func @assert(%c: i1) {
  // expected-error@+1 {{convert-to-llvm: cannot lower 'cf.assert': no lowering to the LLVM dialect for this op}}
  cf.assert %c, "boom" loc("prog.noma":4:3)
  func.return
}

// -----

func.func @layout() -> memref<4xf64, strided<[2]>> {
  // expected-error@+1 {{convert-to-llvm: cannot lower 'memref.alloc': only the identity layout is supported, got memref<4xf64, strided<[2]>>}}
  %m = memref.alloc() : memref<4xf64, strided<[2]>> loc("prog.noma":7:1)
  func.return %m : memref<4xf64, strided<[2]>>
}

// -----

// expected-error@+1 {{convert-to-llvm: cannot lower 'func.func': type tensor<4xf64> has no LLVM lowering}}
func.func @tensor_argument(%t: tensor<4xf64>) {
  func.return
}

// -----

func.func @structured(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{convert-to-llvm: cannot lower 'scf.for': run noma-convert-scf-to-cf first}}
  scf.for %i = %c0 to %n step %c1 {
  }
  func.return
}

// -----

func.func @dense() -> f64 {
  // expected-error@+1 {{convert-to-llvm: cannot lower 'arith.constant': dense constants must be lowered via memref.global}}
  %d = arith.constant dense<[1.0, 2.0]> : tensor<2xf64>
  %z = arith.constant 0.0 : f64
  func.return %z : f64
}

// -----

func.func @dim_out_of_range(%m: memref<?xf64>) -> index {
  %c3 = arith.constant 3 : index
  // expected-error@+1 {{convert-to-llvm: cannot lower 'memref.dim': dimension 3 out of range for memref<?xf64>}}
  %d = memref.dim %m, %c3 : memref<?xf64>
  func.return %d : index
}

// -----

// A static buffer whose byte count does not fit in i64 (run-time sizes are
// computed without wrapping and fail in malloc instead).
func.func @too_large() {
  // expected-error@+1 {{convert-to-llvm: cannot lower 'memref.alloc': a buffer of 73786976294838206464 bytes is too large}}
  %m = memref.alloc() : memref<4611686018427387904x2xf64> loc("prog.noma":9:1)
  func.return
}
