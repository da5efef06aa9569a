// RUN: not noma-opt %s -p autodiff 2>&1 | filecheck %s
// An op on the path from a parameter to the objective without a derivative
// rule is an error naming the op, never a silently wrong gradient.

func.func @no_rule(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %loss = math.cbrt %w : f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK: error: autodiff: no derivative rule for 'math.cbrt'
