// RUN: not noma-opt %s --split-input-file -p convert-noma-to-loops 2>&1 | filecheck %s
// What cannot be lowered yet is reported at its location, not passed on.

func.func @tensors(%x: tensor<2xf64>) -> tensor<2xf64> {
  %0 = noma.exp %x : tensor<2xf64> -> tensor<2xf64> loc("prog.noma":4:11)
  func.return %0 : tensor<2xf64>
}
// CHECK: prog.noma:4:11: error: cannot lower 'noma.exp' to loops: tensor values are not supported yet
