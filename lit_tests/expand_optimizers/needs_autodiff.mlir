// RUN: noma-opt %s --verify-diagnostics -p expand-optimizers
// Expanding an optimize loop needs the gradients autodiff computes.

func.func @not_differentiated(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    // expected-error@+1 {{expand-optimizers needs the gradients: run `autodiff` first}}
    noma.minimize %w : f64
    noma.until %w
  }
  func.return
}
