// RUN: noma-opt %s -p expand-optimizers | filecheck %s
// A body marked noma.epoch_end is one block of a pass over the data: the
// loop counts passes, the condition counts on a pass's last block only,
// every block steps while passes remain, and after them a last pass runs
// without steps until its last block.

func.func @minibatch(%lr: f64, %max: f64, %x: f64, %blocks: f64) -> f64 {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %zero = arith.constant 0.0 : f64
  %b, %loss = noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%max) iter_args(%zero : f64) {
  ^bb0(%block : f64):
    %w = noma.read %W : !noma.param<f64> -> f64
    %l = noma.mul %w, %w : f64, f64 -> f64
    %g = noma.add %w, %w : f64, f64 -> f64
    noma.minimize %l wrt(%W : !noma.param<f64>) grads(%g : f64) : f64
    %one = arith.constant 1.0 : f64
    %following = noma.add %block, %one : f64, f64 -> f64
    %last = noma.cmp "ge", %following, %blocks : f64, f64 -> f64
    %c = noma.cmp "lt", %l, %lr : f64, f64 -> f64
    noma.epoch_end %last : f64
    noma.until %c next(%following : f64) exports(%l : f64)
  } -> f64, f64
  func.return %loss : f64
}
// CHECK-LABEL: func.func @minibatch(
// CHECK-SAME:    %{{[^:]*}}: f64, %[[MAX:[^:]*]]: f64
// CHECK-NOT:   noma.optimize
// CHECK:       arith.constant 0.000000e+00 : f64
// CHECK-NEXT:  %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:  %{{.*}}, %{{.*}}, %[[LOSS:[^,]*]], %[[STOP:.*]] = scf.while (%[[PASSES:.*]] = %[[ZERO]], %{{.*}} = %{{.*}}) : (f64, f64) -> (f64, f64, f64, i1) {
// CHECK-NOT:     noma.epoch_end
// CHECK:         %[[LAST:.*]] = noma.cmp "ge"
// CHECK:         %[[C:.*]] = noma.cmp "lt"
// CHECK-NEXT:    %[[TRUE:.*]] = arith.constant true
// CHECK:         %[[IS_LAST:.*]] = arith.cmpf une, %[[LAST]], %{{.*}} : f64
// CHECK:         %[[HOLDS:.*]] = arith.cmpf une, %[[C]], %{{.*}} : f64
// CHECK-NEXT:    %[[STOP_HERE:.*]] = arith.andi %[[IS_LAST]], %[[HOLDS]] : i1
// CHECK:         %[[NEXT_PASS:.*]] = noma.add %[[PASSES]], %{{.*}}
// CHECK-NEXT:    %[[MORE:.*]] = arith.cmpf ole, %[[NEXT_PASS]], %[[MAX]] : f64
// CHECK-NEXT:    %[[GO_ON:.*]] = arith.xori %[[STOP_HERE]], %[[TRUE]] : i1
// CHECK-NEXT:    %[[STEP:.*]] = arith.andi %[[GO_ON]], %[[MORE]] : i1
// CHECK-NEXT:    %[[MID_PASS:.*]] = arith.xori %[[IS_LAST]], %[[TRUE]] : i1
// CHECK-NEXT:    %[[STEPS_OR_MID:.*]] = arith.ori %[[MORE]], %[[MID_PASS]] : i1
// CHECK-NEXT:    %[[KEEP_GOING:.*]] = arith.andi %[[GO_ON]], %[[STEPS_OR_MID]] : i1
// CHECK-NEXT:    %[[COUNT:.*]] = arith.select %[[IS_LAST]], %[[NEXT_PASS]], %[[PASSES]] : f64
// CHECK-NEXT:    scf.if %[[STEP]] {
// CHECK:           noma.write
// CHECK:         }
// CHECK-NEXT:    scf.condition(%[[KEEP_GOING]]) %[[COUNT]], %{{.*}}, %{{.*}}, %[[STOP_HERE]] : f64, f64, f64, i1
// CHECK-NEXT:  } do {
// CHECK-NEXT:  ^{{.*}}(%[[P:.*]]: f64, %[[B:.*]]: f64, %{{.*}}: f64, %{{.*}}: i1):
// The pass count is already counted: the after region only passes it on.
// CHECK-NEXT:    scf.yield %[[P]], %[[B]] : f64, f64
// CHECK-NEXT:  }
// CHECK:       %[[NOT_STOPPED:.*]] = arith.xori %[[STOP]], %{{.*}} : i1
// CHECK-NEXT:  scf.if %[[NOT_STOPPED]] {
// CHECK-NEXT:    noma.warning "optimize loop stopped after max_iterations = {0} passes over the data before its `until` condition held", %[[MAX]] : f64
// CHECK:       func.return %[[LOSS]] : f64
