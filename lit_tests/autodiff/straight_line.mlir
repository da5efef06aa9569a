// RUN: noma-opt %s -p autodiff | filecheck %s
// The gradient of a straight-line objective is emitted after the forward code,
// from each op's own derivative rule, and recorded on noma.minimize.

func.func @square(%lr: f64) {
  %c5 = arith.constant 5.0 : f64
  %W = noma.learn "W" %c5 : f64 -> !noma.param<f64>
  %B = noma.learn "B" %c5 : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %loss = noma.mul %w, %w : f64, f64 -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @square
// CHECK:      %[[W:.*]] = noma.learn "W"
// CHECK:      %[[w:.*]] = noma.read %[[W]]
// CHECK-NEXT: %[[loss:.*]] = noma.mul %[[w]], %[[w]]
// CHECK-NEXT: %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT: %[[d0:.*]] = noma.mul %[[one]], %[[w]]
// CHECK-NEXT: %[[d1:.*]] = noma.mul %[[one]], %[[w]]
// CHECK-NEXT: %[[g:.*]] = noma.add %[[d0]], %[[d1]]
// CHECK-NEXT: noma.minimize %[[loss]] wrt(%[[W]] : !noma.param<f64>) grads(%[[g]] : f64) : f64
// CHECK-NEXT: noma.until

// Parameters the objective does not depend on get no gradient, and values
// that do not vary with a parameter get no adjoint code.
func.func @only_what_matters(%lr: f64, %x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %B = noma.learn "B" %x : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W, %B : !noma.param<f64>, !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %b = noma.read %B : !noma.param<f64> -> f64
    %e = noma.exp %x : f64 -> f64
    %s = noma.sin %w : f64 -> f64
    %loss = noma.mul %s, %e : f64, f64 -> f64
    noma.minimize %loss : f64
    noma.until %b
  }
  func.return
}
// CHECK-LABEL: func.func @only_what_matters
// CHECK:      %[[W:.*]] = noma.learn "W"
// CHECK:      %[[w:.*]] = noma.read %[[W]]
// CHECK:      %[[e:.*]] = noma.exp
// CHECK:      %[[loss:.*]] = noma.mul
// CHECK-NEXT: %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT: %[[ds:.*]] = noma.mul %[[one]], %[[e]]
// CHECK-NOT:  noma.exp
// CHECK-NEXT: %[[cos:.*]] = noma.cos %[[w]]
// CHECK-NEXT: %[[g:.*]] = noma.mul %[[ds]], %[[cos]]
// CHECK-NEXT: noma.minimize %[[loss]] wrt(%[[W]] : !noma.param<f64>) grads(%[[g]] : f64) : f64
