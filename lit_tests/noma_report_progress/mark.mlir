// RUN: noma-opt %s -p noma-report-progress | filecheck %s
// RUN: noma-opt %s -p noma-report-progress,noma-report-progress | filecheck %s
// An optimize loop tells the runtime when it starts, each iteration's
// objective (right after its `minimize`) and when it ends; marked once.

func.func @train(%init: f64, %lr: f64) -> f64 {
  %W = noma.learn "W" %init : f64 -> !noma.param<f64>
  %r = noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %loss = noma.mul %w, %w : f64, f64 -> f64
    noma.minimize %loss : f64
    %c = noma.cmp "lt", %loss, %lr : f64, f64 -> f64
    noma.until %c exports(%loss : f64)
  } -> f64
  func.return %r : f64
}
// CHECK:      noma.progress_begin
// CHECK-NOT:  noma.progress_begin
// CHECK-NEXT: %r = noma.optimize "sgd"
// CHECK:        noma.minimize %loss : f64
// CHECK-NEXT:   noma.progress_step %loss : f64
// CHECK-NOT:    noma.progress_step
// CHECK:        noma.until
// CHECK-NEXT: } -> f64
// CHECK-NEXT: noma.progress_end
// CHECK-NOT:  noma.progress_end
// CHECK-NEXT: func.return %r
