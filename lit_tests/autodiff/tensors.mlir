// RUN: noma-opt %s -p autodiff,canonicalize | filecheck %s
// Tensor derivative rules: the adjoint of a broadcast operand is reduced over
// the broadcast axes, a matmul's adjoints are matmuls by transposes, and a
// reduction's adjoint is broadcast back.

func.func @layer(%lr: f64, %x: tensor<4x2xf64>, %w0: tensor<2x3xf64>, %b0: tensor<3xf64>) {
  %W = noma.learn "W" %w0 : tensor<2x3xf64> -> !noma.param<tensor<2x3xf64>>
  %B = noma.learn "B" %b0 : tensor<3xf64> -> !noma.param<tensor<3xf64>>
  noma.optimize "sgd" (%W, %B : !noma.param<tensor<2x3xf64>>, !noma.param<tensor<3xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<tensor<2x3xf64>> -> tensor<2x3xf64>
    %b = noma.read %B : !noma.param<tensor<3xf64>> -> tensor<3xf64>
    %z = noma.matmul %x, %w : tensor<4x2xf64>, tensor<2x3xf64> -> tensor<4x3xf64>
    %y = noma.add %z, %b : tensor<4x3xf64>, tensor<3xf64> -> tensor<4x3xf64>
    %loss = noma.sum %y : tensor<4x3xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @layer(
// CHECK-SAME:    %{{[^:]*}}: f64, %[[X:[^:]*]]: tensor<4x2xf64>
// CHECK:         %[[Y:.*]] = noma.add %[[Z:.*]], %[[b:.*]] : tensor<4x3xf64>, tensor<3xf64> -> tensor<4x3xf64>
// CHECK-NEXT:    %[[L:.*]] = noma.sum %[[Y]]
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[G:.*]] = noma.broadcast_to %[[ONE]], %[[Y]] : f64, tensor<4x3xf64> -> tensor<4x3xf64>
// CHECK-NEXT:    %[[GB:.*]] = noma.reduce_to %[[G]], %[[b]] : tensor<4x3xf64>, tensor<3xf64> -> tensor<3xf64>
// CHECK-NEXT:    %[[XT:.*]] = noma.transpose %[[X]] : tensor<4x2xf64> -> tensor<2x4xf64>
// CHECK-NEXT:    %[[GW:.*]] = noma.matmul %[[XT]], %[[G]] : tensor<2x4xf64>, tensor<4x3xf64> -> tensor<2x3xf64>
// CHECK-NEXT:    noma.minimize %[[L]] wrt(%{{.*}}, %{{.*}} : !noma.param<tensor<2x3xf64>>, !noma.param<tensor<3xf64>>) grads(%[[GW]], %[[GB]] : tensor<2x3xf64>, tensor<3xf64>) : f64

func.func @indexing(%lr: f64, %m0: tensor<3x2xf64>) {
  %M = noma.learn "M" %m0 : tensor<3x2xf64> -> !noma.param<tensor<3x2xf64>>
  noma.optimize "sgd" (%M : !noma.param<tensor<3x2xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %m = noma.read %M : !noma.param<tensor<3x2xf64>> -> tensor<3x2xf64>
    %row = noma.index %m, %lr : tensor<3x2xf64>, f64 -> tensor<2xf64>
    %loss = noma.mean %row : tensor<2xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @indexing(
// CHECK:         %[[ROW:.*]] = noma.index %[[m:.*]], %[[I:.*]] : tensor<3x2xf64>, f64 -> tensor<2xf64>
// CHECK:         %[[N:.*]] = noma.numel %[[ROW]] : tensor<2xf64> -> f64
// CHECK-NEXT:    %[[D:.*]] = noma.div %{{.*}}, %[[N]]
// CHECK-NEXT:    %[[G:.*]] = noma.broadcast_to %[[D]], %[[ROW]]
// CHECK-NEXT:    %[[GM:.*]] = noma.index_adjoint %[[G]], %[[I]], %[[m]] : tensor<2xf64>, f64, tensor<3x2xf64> -> tensor<3x2xf64>
// CHECK-NEXT:    noma.minimize %{{.*}} grads(%[[GM]] : tensor<3x2xf64>)
