// RUN: not noma-opt %s --split-input-file -p autodiff 2>&1 | filecheck %s
// Objectives autodiff cannot differentiate are reported, not miscompiled.

func.func @constant_objective(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %loss = noma.mul %lr, %lr : f64, f64 -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK: error: the objective does not depend on any learnable parameter
