// RUN: noma-opt %s --split-input-file --verify-diagnostics -p convert-noma-scalars-to-loops
// RUN: not noma-opt %s --split-input-file -p convert-noma-scalars-to-loops 2>&1 | filecheck %s
// A noma op left over is a located error naming what to run first; the op's
// own location, when it has one, is the one printed.

func.func @tensors_not_bufferized(%a: tensor<2xf64>) -> f64 {
  // expected-error@+1 {{cannot lower 'noma.sum' to loops: run `noma-bufferize` before lowering to loops}}
  %s = noma.sum %a : tensor<2xf64> -> f64
  func.return %s : f64
}
// CHECK: leftover.mlir:8:3: error: cannot lower 'noma.sum' to loops: run `noma-bufferize` before lowering to loops

// -----

func.func @tensor_op_with_a_location(%a: tensor<2xf64>) -> tensor<2xf64> {
  // expected-error@+1 {{cannot lower 'noma.exp' to loops: run `noma-bufferize` before lowering to loops}}
  %e = noma.exp %a : tensor<2xf64> -> tensor<2xf64> loc("p.noma":3:7)
  func.return %e : tensor<2xf64>
}
// CHECK: p.noma:3:7: error: cannot lower 'noma.exp' to loops: run `noma-bufferize` before lowering to loops
