// RUN: not noma-opt %s -p convert-noma-scalars-to-loops 2>&1 | filecheck %s
// An op an earlier pass removes is reported with that pass.

func.func @not_expanded(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.reset_optimizer (%W : !noma.param<f64>) loc("p.noma":7:3)
  func.return
}
// CHECK: p.noma:7:3: error: cannot lower 'noma.reset_optimizer' to loops: run `expand-optimizers` before lowering to loops
