// RUN: noma-opt %s -p autodiff,canonicalize | filecheck %s
// Issue 9: the adjoint of a broadcast operand whose type is dynamic is still
// reduced. `%b` may be [1, n] at run time while `%y` is [m, n], though both
// are tensor<?x?xf64>: the equal static types decide nothing, so the
// noma.reduce_to stays (the run sums over the axes where `%b` has extent 1).

func.func @row(%lr: f64, %x: tensor<?x?xf64>, %b0: tensor<?x?xf64>) {
  %B = noma.learn "B" %b0 : tensor<?x?xf64> -> !noma.param<tensor<?x?xf64>>
  noma.optimize "sgd" (%B : !noma.param<tensor<?x?xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %b = noma.read %B : !noma.param<tensor<?x?xf64>> -> tensor<?x?xf64>
    %y = noma.add %x, %b : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64>
    %loss = noma.sum %y : tensor<?x?xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @row(
// CHECK:         %[[b:.*]] = noma.read %{{.*}} : !noma.param<tensor<?x?xf64>> -> tensor<?x?xf64>
// CHECK-NEXT:    %[[Y:.*]] = noma.add %{{.*}}, %[[b]]
// CHECK:         %[[G:.*]] = noma.broadcast_to %{{.*}}, %[[Y]] : f64, tensor<?x?xf64> -> tensor<?x?xf64>
// CHECK-NEXT:    %[[GB:.*]] = noma.reduce_to %[[G]], %[[b]] : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64>
// CHECK-NEXT:    noma.minimize %{{.*}} wrt(%{{.*}} : !noma.param<tensor<?x?xf64>>) grads(%[[GB]] : tensor<?x?xf64>) : f64

// A static operand of the result's own type needs no reduction.
func.func @same(%lr: f64, %x: tensor<2x3xf64>, %b0: tensor<2x3xf64>) {
  %B = noma.learn "B" %b0 : tensor<2x3xf64> -> !noma.param<tensor<2x3xf64>>
  noma.optimize "sgd" (%B : !noma.param<tensor<2x3xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %b = noma.read %B : !noma.param<tensor<2x3xf64>> -> tensor<2x3xf64>
    %y = noma.add %x, %b : tensor<2x3xf64>, tensor<2x3xf64> -> tensor<2x3xf64>
    %loss = noma.sum %y : tensor<2x3xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @same(
// CHECK-NOT:     noma.reduce_to
// CHECK:         noma.minimize
