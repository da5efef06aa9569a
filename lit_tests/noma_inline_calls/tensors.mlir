// RUN: noma-opt %s -p noma-inline-calls,canonicalize,cse | filecheck %s
// On tensors, before bufferization (the `loops` stage runs it there first):
// once a function and its adjoint are inlined into one loop body, `cse`
// computes the forward values the adjoint recomputes once, and
// `canonicalize` drops the adjoints nobody reads (here X's).

func.func @fn.forward(%x: tensor<4x2xf64>, %w: tensor<2x3xf64>) -> tensor<4x3xf64> {
  %z = noma.matmul %x, %w : tensor<4x2xf64>, tensor<2x3xf64> -> tensor<4x3xf64>
  %s = noma.sigmoid %z : tensor<4x3xf64> -> tensor<4x3xf64>
  func.return %s : tensor<4x3xf64>
}

func.func @fn.forward__vjp(%x: tensor<4x2xf64>, %w: tensor<2x3xf64>, %ds: tensor<4x3xf64>) -> (tensor<4x2xf64>, tensor<2x3xf64>) {
  %z = noma.matmul %x, %w : tensor<4x2xf64>, tensor<2x3xf64> -> tensor<4x3xf64>
  %s = noma.sigmoid %z : tensor<4x3xf64> -> tensor<4x3xf64>
  %dz = noma.mul %ds, %s : tensor<4x3xf64>, tensor<4x3xf64> -> tensor<4x3xf64>
  %wt = noma.transpose %w : tensor<2x3xf64> -> tensor<3x2xf64>
  %dx = noma.matmul %dz, %wt : tensor<4x3xf64>, tensor<3x2xf64> -> tensor<4x2xf64>
  %xt = noma.transpose %x : tensor<4x2xf64> -> tensor<2x4xf64>
  %dw = noma.matmul %xt, %dz : tensor<2x4xf64>, tensor<4x3xf64> -> tensor<2x3xf64>
  func.return %dx, %dw : tensor<4x2xf64>, tensor<2x3xf64>
}

func.func @fn.main(%x: tensor<4x2xf64>, %w: tensor<2x3xf64>) -> (tensor<4x3xf64>, tensor<2x3xf64>) attributes {noma.entry} {
  %s = func.call @fn.forward(%x, %w) : (tensor<4x2xf64>, tensor<2x3xf64>) -> tensor<4x3xf64>
  %dx, %dw = func.call @fn.forward__vjp(%x, %w, %s) : (tensor<4x2xf64>, tensor<2x3xf64>, tensor<4x3xf64>) -> (tensor<4x2xf64>, tensor<2x3xf64>)
  func.return %s, %dw : tensor<4x3xf64>, tensor<2x3xf64>
}

// CHECK-NOT:   func.func @fn.forward
// CHECK:       func.func @fn.main(%[[X:.*]]: tensor<4x2xf64>, %[[W:.*]]: tensor<2x3xf64>)
// CHECK-NEXT:    %[[Z:.*]] = noma.matmul %[[X]], %[[W]]
// CHECK-NEXT:    %[[S:.*]] = noma.sigmoid %[[Z]]
// CHECK-NEXT:    %[[DZ:.*]] = noma.mul %[[S]], %[[S]]
// CHECK-NEXT:    %[[XT:.*]] = noma.transpose %[[X]]
// CHECK-NEXT:    %[[DW:.*]] = noma.matmul %[[XT]], %[[DZ]]
// CHECK-NEXT:    func.return %[[S]], %[[DW]]
// CHECK-NOT:   noma.matmul
// CHECK-NOT:   func.call
