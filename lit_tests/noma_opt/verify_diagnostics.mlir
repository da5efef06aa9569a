// RUN: noma-opt %s --split-input-file --verify-diagnostics -p autodiff
// RUN: sed 's/{{no derivative rule/{{wrong text/' %s > %t.mlir
// RUN: not noma-opt %t.mlir --split-input-file --verify-diagnostics -p autodiff 2>&1 | filecheck %s --check-prefix=WRONG
// Two autodiff errors, one per chunk, each matched by its annotation; with
// one annotation changed, both sides of the mismatch are reported, located,
// and the other chunk still passes.

func.func @constant_objective(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %loss = noma.mul %lr, %lr : f64, f64 -> f64
    // expected-error@+1 {{the objective does not depend on any learnable parameter}}
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}

// -----

func.func @no_rule(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %loss = math.cbrt %w : f64 // expected-error {{no derivative rule for 'math.cbrt'}}
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// WRONG: verify_diagnostics.mlir.tmp.mlir:25:5: error: unexpected error: autodiff: no derivative rule for 'math.cbrt'
// WRONG-NEXT: verify_diagnostics.mlir.tmp.mlir:25:35: error: expected error "wrong text for 'math.cbrt'" was not produced
// WRONG-NOT: error
