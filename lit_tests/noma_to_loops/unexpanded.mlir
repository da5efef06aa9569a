// RUN: noma-opt %s --split-input-file --verify-diagnostics -p convert-noma-to-loops
// The ops expand-optimizers removes are reported with that pass.

func.func @reset_not_expanded(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  // expected-error@+1 {{cannot lower 'noma.reset_optimizer' to loops: run `expand-optimizers` before lowering to loops}}
  noma.reset_optimizer (%W : !noma.param<f64>)
  func.return
}

// -----

func.func @optimize_not_expanded(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  // expected-error@+1 {{cannot lower 'noma.optimize' to loops: run `expand-optimizers` before lowering to loops}}
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w : f64
    noma.until %w
  }
  func.return
}
