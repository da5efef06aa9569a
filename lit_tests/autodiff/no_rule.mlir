// RUN: noma-opt %s --split-input-file --verify-diagnostics -p autodiff
// An op on the path from a parameter to the objective without a derivative
// rule is an error naming the op, never a silently wrong gradient: in the
// optimize body, and inside a called function (whose VJP is generated).

func.func @no_rule(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    // expected-error@+1 {{autodiff: no derivative rule for 'math.cbrt'}}
    %loss = math.cbrt %w : f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}

// -----

func.func @cube_root(%x: f64) -> f64 {
  %r = math.cbrt %x : f64 // expected-error {{autodiff: no derivative rule for 'math.cbrt'}}
  func.return %r : f64
}

func.func @no_rule_in_callee(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %loss = func.call @cube_root(%w) : (f64) -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
