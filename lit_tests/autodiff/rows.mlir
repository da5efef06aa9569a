// RUN: noma-opt %s -p autodiff,canonicalize | filecheck %s
// The adjoint of a block of rows is scattered back into zeros of its tensor's
// shape (noma.rows_adjoint); the adjoint of that scatter is the block of the
// adjoint at the same rows.

func.func @rows(%lr: f64, %start: f64, %count: f64, %m0: tensor<5x2xf64>) {
  %M = noma.learn "M" %m0 : tensor<5x2xf64> -> !noma.param<tensor<5x2xf64>>
  noma.optimize "sgd" (%M : !noma.param<tensor<5x2xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %m = noma.read %M : !noma.param<tensor<5x2xf64>> -> tensor<5x2xf64>
    %block = noma.rows %m [%start, %count] : tensor<5x2xf64> -> tensor<?x2xf64>
    %loss = noma.sum %block : tensor<?x2xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @rows(
// CHECK-SAME:    %{{[^:]*}}: f64, %[[START:[^:]*]]: f64
// CHECK:         %[[BLOCK:.*]] = noma.rows %[[m:.*]][%[[START]], %{{.*}}] : tensor<5x2xf64> -> tensor<?x2xf64>
// CHECK:         %[[G:.*]] = noma.broadcast_to %{{.*}}, %[[BLOCK]] : f64, tensor<?x2xf64> -> tensor<?x2xf64>
// CHECK-NEXT:    %[[GM:.*]] = noma.rows_adjoint %[[G]][%[[START]]] like %[[m]] : tensor<?x2xf64>, tensor<5x2xf64> -> tensor<5x2xf64>
// CHECK-NEXT:    noma.minimize %{{.*}} grads(%[[GM]] : tensor<5x2xf64>)

func.func @rows_adjoint(%lr: f64, %start: f64, %g0: tensor<2x2xf64>, %like: tensor<5x2xf64>) {
  %G = noma.learn "G" %g0 : tensor<2x2xf64> -> !noma.param<tensor<2x2xf64>>
  noma.optimize "sgd" (%G : !noma.param<tensor<2x2xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %g = noma.read %G : !noma.param<tensor<2x2xf64>> -> tensor<2x2xf64>
    %s = noma.rows_adjoint %g [%start] like %like : tensor<2x2xf64>, tensor<5x2xf64> -> tensor<5x2xf64>
    %sq = noma.mul %s, %s : tensor<5x2xf64>, tensor<5x2xf64> -> tensor<5x2xf64>
    %loss = noma.sum %sq : tensor<5x2xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @rows_adjoint(
// CHECK-SAME:    %{{[^:]*}}: f64, %[[START:[^:]*]]: f64
// CHECK:         %[[N:.*]] = noma.dim %[[g:.*]] 0 : tensor<2x2xf64>
// CHECK-NEXT:    %[[GG:.*]] = noma.rows %{{.*}}[%[[START]], %[[N]]] : tensor<5x2xf64> -> tensor<2x2xf64>
// CHECK-NEXT:    noma.minimize %{{.*}} grads(%[[GG]] : tensor<2x2xf64>)
