// RUN: noma-opt %s --split-input-file --verify-diagnostics -p autodiff
// RUN: sed 's/{{the objective does not depend/{{the loss does not depend/' %s > %t.mlir
// RUN: not noma-opt %t.mlir --split-input-file --verify-diagnostics -p autodiff 2>&1 | filecheck %s --check-prefix=CHANGED
// Objectives autodiff cannot differentiate are reported at the op, one
// error per chunk, never miscompiled. With one annotation changed (second
// RUN line), noma-opt exits 1 and names both sides of the mismatch; the
// other chunks still match.

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
// CHANGED: errors.mlir.tmp.mlir:14:5: error: unexpected error: the objective does not depend on any learnable parameter
// CHANGED-NEXT: errors.mlir.tmp.mlir:13:8: error: expected error "the loss does not depend on any learnable parameter" was not produced
// CHANGED-NOT: error

// -----

// A branch on the gradient's path is recomputed by the reverse code:
// writing a parameter there would write it twice.
func.func @write_in_branch(%lr: f64, %c: i1) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  %V = noma.learn "V" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %y = scf.if %c -> (f64) {
      %sq = noma.mul %w, %w : f64, f64 -> f64
      // expected-error@+1 {{autodiff: cannot differentiate through 'noma.write' inside control flow or a called function}}
      noma.write %sq, %V : f64, !noma.param<f64>
      scf.yield %sq : f64
    } else {
      scf.yield %w : f64
    }
    noma.minimize %y : f64
    noma.until %y
  }
  func.return
}

// -----

// The reverse loop replays the values each iteration starts from: a
// condition region that computes new ones is not supported.
func.func @condition_rewrites_carried(%lr: f64, %n: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    // expected-error@+1 {{autodiff: a loop whose condition region changes the carried values is not supported}}
    %r = scf.while (%acc = %w) : (f64) -> f64 {
      %small = arith.cmpf olt, %acc, %n : f64
      %twice = noma.add %acc, %acc : f64, f64 -> f64
      scf.condition(%small) %twice : f64
    } do {
    ^bb0(%a: f64):
      %next = noma.mul %a, %w : f64, f64 -> f64
      scf.yield %next : f64
    }
    noma.minimize %r : f64
    noma.until %r
  }
  func.return
}

// -----

func.func @loop_carrying_an_integer(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %i0 = arith.constant 0 : i32
    // expected-error@+1 {{autodiff: a value carried by a differentiated loop must be f64 or a tensor of f64, got i32}}
    %r, %i = scf.while (%a = %w, %k = %i0) : (f64, i32) -> (f64, i32) {
      %three = arith.constant 3 : i32
      %more = arith.cmpi slt, %k, %three : i32
      scf.condition(%more) %a, %k : f64, i32
    } do {
    ^bb0(%a: f64, %k: i32):
      %b = noma.mul %a, %w : f64, f64 -> f64
      %one = arith.constant 1 : i32
      %k1 = arith.addi %k, %one : i32
      scf.yield %b, %k1 : f64, i32
    }
    noma.minimize %r : f64
    noma.until %r
  }
  func.return
}

// -----

// A called function is recomputed by its VJP function: the same holds
// there, and the error is where the op is in the callee.
func.func @store(%x: f64, %V: !noma.param<f64>) -> f64 {
  %sq = noma.mul %x, %x : f64, f64 -> f64
  // expected-error@+1 {{autodiff: cannot differentiate through 'noma.write' inside control flow or a called function}}
  noma.write %sq, %V : f64, !noma.param<f64>
  func.return %sq : f64
}

func.func @write_in_callee(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  %V = noma.learn "V" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %y = func.call @store(%w, %V) : (f64, !noma.param<f64>) -> f64
    noma.minimize %y : f64
    noma.until %y
  }
  func.return
}
