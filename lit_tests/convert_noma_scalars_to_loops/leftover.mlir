// RUN: not noma-opt %s -p convert-noma-scalars-to-loops 2>&1 | filecheck %s
// A noma op left over is a located error naming what to run first.

func.func @tensors_not_bufferized(%a: tensor<2xf64>) -> f64 {
  %s = noma.sum %a : tensor<2xf64> -> f64 loc("p.noma":3:7)
  func.return %s : f64
}
// CHECK: p.noma:3:7: error: cannot lower 'noma.sum' to loops: run `noma-bufferize` before lowering to loops
