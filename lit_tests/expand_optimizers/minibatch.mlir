// RUN: noma-opt %s --split-input-file -p expand-optimizers | filecheck %s
// A body marked noma.epoch_end is one block of a pass over the data: every
// block steps where the mark stands, right after its `batch` body, so what
// follows (the end of the pass, the condition) sees the step; the condition
// counts on a pass's last block only, and the loop counts passes.

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
    noma.epoch_end %last : f64
    %after = noma.read %W : !noma.param<f64> -> f64
    %c = noma.cmp "lt", %after, %lr : f64, f64 -> f64
    noma.until %c next(%following : f64) exports(%l : f64)
  } -> f64, f64
  func.return %loss : f64
}
// CHECK-LABEL: func.func @minibatch(
// CHECK-SAME:    %{{[^:]*}}: f64, %[[MAX:[^:]*]]: f64
// CHECK-NOT:   noma.optimize
// CHECK:       %[[RUNS:.*]] = arith.cmpf ole, %{{.*}}, %[[MAX]] : f64
// CHECK-NEXT:  %{{.*}}, %[[LOSS:[^,]*]], %[[STOP:.*]] = scf.if %[[RUNS]] -> (f64, f64, i1) {
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = scf.while (%[[PASSES:.*]] = %[[ZERO]], %{{.*}} = %{{.*}}) : (f64, f64) -> (f64, f64, f64, i1) {
// CHECK-NOT:       noma.epoch_end
// CHECK:           %[[l:.*]] = noma.mul
// CHECK:           %[[LAST:.*]] = noma.cmp "ge"
// The step, unconditional, where the mark was.
// CHECK-NEXT:      %{{.*}} = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:      noma.state_read %{{.*}} "t"
// CHECK:           noma.write
// CHECK-NEXT:      noma.read
// CHECK-NEXT:      %[[C:.*]] = noma.cmp "lt"
// CHECK-NEXT:      %[[TRUE:.*]] = arith.constant true
// CHECK:           %[[IS_LAST:.*]] = arith.cmpf une, %[[LAST]], %{{.*}} : f64
// CHECK:           %[[HOLDS:.*]] = arith.cmpf une, %[[C]], %{{.*}} : f64
// CHECK-NEXT:      %[[STOP_HERE:.*]] = arith.andi %[[IS_LAST]], %[[HOLDS]] : i1
// CHECK:           %[[NEXT_PASS:.*]] = noma.add %[[PASSES]], %{{.*}}
// CHECK-NEXT:      %[[DONE:.*]] = arith.select %[[IS_LAST]], %[[NEXT_PASS]], %[[PASSES]] : f64
// CHECK-NEXT:      %[[GO_ON:.*]] = arith.xori %[[STOP_HERE]], %[[TRUE]] : i1
// CHECK:           %[[FOLLOWING:.*]] = noma.add %[[DONE]], %{{.*}}
// CHECK-NEXT:      %[[MORE:.*]] = arith.cmpf ole, %[[FOLLOWING]], %[[MAX]] : f64
// CHECK-NEXT:      %[[ANOTHER_PASS:.*]] = arith.andi %[[GO_ON]], %[[MORE]] : i1
// CHECK-NEXT:      %[[MID_PASS:.*]] = arith.xori %[[IS_LAST]], %[[TRUE]] : i1
// CHECK-NEXT:      %[[KEEP_GOING:.*]] = arith.ori %[[MID_PASS]], %[[ANOTHER_PASS]] : i1
// CHECK-NEXT:      scf.condition(%[[KEEP_GOING]]) %[[DONE]], %{{.*}}, %[[l]], %[[STOP_HERE]] : f64, f64, f64, i1
// CHECK-NEXT:    } do {
// CHECK-NEXT:    ^{{.*}}(%[[P:.*]]: f64, %[[B:.*]]: f64, %{{.*}}: f64, %{{.*}}: i1):
// CHECK-NEXT:      scf.yield %[[P]], %[[B]] : f64, f64
// CHECK-NEXT:    }
// CHECK:       } else {
// CHECK:       %[[NOT_STOPPED:.*]] = arith.xori %[[STOP]], %{{.*}} : i1
// CHECK-NEXT:  scf.if %[[NOT_STOPPED]] {
// CHECK-NEXT:    noma.warning "optimize loop stopped after max_iterations = {0} passes over the data before its `until` condition held", %[[MAX]] : f64
// CHECK:       noma.assert %[[RUNS]]
// CHECK-NEXT:  func.return %[[LOSS]] : f64

// -----

// Growth the body requested runs at the end of the iteration, after the
// block's step, unless the loop stops there on its condition.
func.func @minibatch_growth(%lr: f64, %max: f64, %t: tensor<2xf64>, %n: f64, %flag: i1) {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<?xf64>>
  %zero = arith.constant 0.0 : f64
  %b = noma.optimize "sgd" (%W : !noma.param<tensor<?xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%max) iter_args(%zero : f64) {
  ^bb0(%block : f64):
    %w = noma.read %W : !noma.param<tensor<?xf64>> -> tensor<?xf64>
    %l = noma.sum %w : tensor<?xf64> -> f64
    %g = noma.fill [%n] %lr : tensor<?xf64>
    noma.minimize %l wrt(%W : !noma.param<tensor<?xf64>>) grads(%g : tensor<?xf64>) : f64
    noma.epoch_end %lr : f64
    scf.if %flag {
      noma.realloc %W [%n] init "zeros" : !noma.param<tensor<?xf64>>
    } {noma.after_step}
    noma.until %lr next(%block : f64)
  } -> f64
  func.return
}
// CHECK-LABEL: func.func @minibatch_growth
// CHECK:         scf.while
// CHECK:           noma.write %{{.*}}, %{{.*}} : tensor<?xf64>, !noma.param<tensor<?xf64>>
// CHECK-NEXT:      %{{.*}} = arith.constant true
// CHECK:           %[[GO_ON:.*]] = arith.xori %{{.*}}, %{{.*}} : i1
// CHECK:           %[[KEEP:.*]] = arith.ori
// CHECK-NEXT:      scf.if %[[GO_ON]] {
// CHECK-NEXT:        scf.if %{{.*}} {
// CHECK-NEXT:          noma.realloc %{{.*}}[%{{.*}}] init "zeros"
// CHECK-NEXT:        }
// CHECK-NOT:         noma.after_step
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.condition(%[[KEEP]])
