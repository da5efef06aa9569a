// RUN: noma-opt %s | noma-opt | filecheck %s
// Blocks of rows and the mark of a mini-batch optimize loop print in their
// custom form and parse back to the same IR.

func.func @rows(%x: tensor<6x2xf64>, %v: tensor<?xf64>, %start: f64, %count: f64) -> tensor<6x2xf64> {
  // CHECK: %[[B:.*]] = noma.rows %{{.*}}[%[[S:.*]], %[[C:.*]]] : tensor<6x2xf64> -> tensor<?x2xf64>
  %b = noma.rows %x [%start, %count] : tensor<6x2xf64> -> tensor<?x2xf64>
  // CHECK-NEXT: noma.rows %{{.*}}[%[[S]], %[[C]]] : tensor<6x2xf64> -> tensor<3x2xf64>
  %s = noma.rows %x [%start, %count] : tensor<6x2xf64> -> tensor<3x2xf64>
  // CHECK-NEXT: noma.rows %{{.*}}[%[[S]], %[[C]]] : tensor<?xf64> -> tensor<?xf64>
  %e = noma.rows %v [%start, %count] : tensor<?xf64> -> tensor<?xf64>
  // CHECK-NEXT: noma.rows_adjoint %[[B]][%[[S]]] like %{{.*}} : tensor<?x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>
  %d = noma.rows_adjoint %b [%start] like %x : tensor<?x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>
  func.return %d : tensor<6x2xf64>
}

func.func @epoch_end(%lr: f64, %x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %zero = arith.constant 0.0 : f64
  // CHECK: noma.optimize "sgd"
  %r = noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) iter_args(%zero : f64) {
  ^bb0(%block : f64):
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w : f64
    %last = noma.cmp "ge", %block, %lr : f64, f64 -> f64
    // CHECK: noma.epoch_end %{{.*}} : f64
    noma.epoch_end %last : f64
    noma.until %last next(%block : f64)
  } -> f64
  func.return
}
