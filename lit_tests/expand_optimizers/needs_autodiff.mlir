// RUN: not noma-opt %s -p expand-optimizers 2>&1 | filecheck %s
// Expanding an optimize loop needs the gradients autodiff computes.

func.func @not_differentiated(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w : f64
    noma.until %w
  }
  func.return
}
// CHECK: error: expand-optimizers needs the gradients: run `autodiff` first
