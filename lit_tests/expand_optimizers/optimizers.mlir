// RUN: noma-opt %s --split-input-file -p expand-optimizers | filecheck %s
// noma.optimize becomes an scf.while that checks the condition, then steps.

func.func @sgd(%lr: f64, %max: f64, %x: f64) -> f64 {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %loss = noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%max) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %l = noma.mul %w, %w : f64, f64 -> f64
    %g = noma.add %w, %w : f64, f64 -> f64
    noma.minimize %l wrt(%W : !noma.param<f64>) grads(%g : f64) : f64
    %c = noma.cmp "lt", %l, %lr : f64, f64 -> f64
    noma.until %c exports(%l : f64)
  } -> f64
  func.return %loss : f64
}
// CHECK-LABEL: func.func @sgd
// CHECK-NOT:  noma.optimize
// CHECK:      %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:      %[[IT:.*]], %[[LOSS:.*]], %[[STOP:.*]] = scf.while (%[[I:.*]] = %[[ZERO]]) : (f64) -> (f64, f64, i1) {
// CHECK:        %[[l:.*]] = noma.mul
// CHECK:        %[[g:.*]] = noma.add
// CHECK-NOT:    noma.minimize
// CHECK:        %[[c:.*]] = noma.cmp "lt"
// CHECK-NEXT:   %[[z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:   %[[stop:.*]] = arith.cmpf une, %[[c]], %[[z]] : f64
// CHECK-NEXT:   %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:   %[[step:.*]] = noma.add %[[I]], %[[one]]
// CHECK-NEXT:   %[[more:.*]] = arith.cmpf ole, %[[step]], %{{.*}} : f64
// CHECK:        %[[go:.*]] = arith.andi
// The step happens in the same region as the body: gradients never leave it.
// CHECK-NEXT:   scf.if %[[go]] {
// CHECK:          noma.state_read %{{.*}} "t"
// CHECK:          noma.state_write %{{.*}}, %{{.*}} "t"
// CHECK:          %[[p:.*]] = noma.read
// CHECK-NEXT:     %[[update:.*]] = noma.mul %{{.*}}, %[[g]]
// CHECK-NEXT:     %[[new:.*]] = noma.sub %[[p]], %[[update]]
// CHECK-NEXT:     noma.write %[[new]]
// CHECK:        }
// CHECK-NEXT:   scf.condition(%[[go]]) %[[I]], %[[l]], %[[stop]] : f64, f64, i1
// CHECK-NEXT: } do {
// CHECK-NEXT: ^{{.*}}(%[[i:.*]]: f64, %{{.*}}: f64, %{{.*}}: i1):
// CHECK:        scf.yield
// CHECK:      %[[notstop:.*]] = arith.xori %[[STOP]]
// CHECK-NEXT: scf.if %[[notstop]] {
// CHECK-NEXT:   noma.warning "optimize loop stopped after max_iterations = {0} steps before its `until` condition held", %{{.*}} : f64
// CHECK:      func.return %[[LOSS]] : f64

// -----

// Adam keeps its moments and step count in the parameter's state, with bias
// correction by the parameter's own step count.
func.func @adam(%lr: f64, %b1: f64, %b2: f64, %eps: f64, %x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  noma.optimize "adam" (%W : !noma.param<f64>) lr(%lr) beta1(%b1) beta2(%b2) eps(%eps) max_iterations(%x) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w wrt(%W : !noma.param<f64>) grads(%w : f64) : f64
    noma.until %w
  }
  func.return
}
// CHECK-LABEL: func.func @adam(
// CHECK-SAME:    %[[LR:[^:]+]]: f64, %[[B1:[^:]+]]: f64, %[[B2:[^:]+]]: f64, %[[EPS:[^:]+]]: f64
// CHECK:      scf.if
// CHECK:        %[[t:.*]] = noma.add %{{.*}}, %{{.*}}
// CHECK-NEXT:   noma.state_write %[[t]], %[[W:.*]] "t"
// CHECK:        noma.state_read %[[W]] "m"
// CHECK:        noma.state_read %[[W]] "v"
// CHECK:        noma.state_write %[[m:.*]], %[[W]] "m"
// CHECK-NEXT:   noma.state_write %[[v:.*]], %[[W]] "v"
// CHECK:        noma.pow %[[B1]], %[[t]]
// CHECK:        noma.pow %[[B2]], %[[t]]
// CHECK:        noma.sqrt
// CHECK:        noma.add %{{.*}}, %[[EPS]]
// CHECK:        noma.write

// -----

// RMSprop decays only the second moment.
func.func @rmsprop(%lr: f64, %x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  noma.optimize "rmsprop" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%x) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w wrt(%W : !noma.param<f64>) grads(%w : f64) : f64
    noma.until %w
  }
  func.return
}
// CHECK-LABEL: func.func @rmsprop
// CHECK:      scf.if
// CHECK-NOT:    "m"
// CHECK:        noma.state_read %{{.*}} "v"
// CHECK:        noma.state_write %{{.*}}, %{{.*}} "v"
// CHECK:        noma.sqrt
// CHECK:        noma.write

// -----

// Loop-carried variables of the body thread through the scf.while.
func.func @carried(%lr: f64, %x: f64) -> f64 {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %n = noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%x) iter_args(%x : f64) {
  ^bb0(%count: f64):
    %w = noma.read %W : !noma.param<f64> -> f64
    %next = noma.add %count, %lr : f64, f64 -> f64
    noma.minimize %w wrt(%W : !noma.param<f64>) grads(%w : f64) : f64
    noma.until %w next(%next : f64)
  } -> f64
  func.return %n : f64
}
// CHECK-LABEL: func.func @carried
// CHECK:      %{{[^,]*}}, %[[R:[^,]*]], %{{[^,]*}} = scf.while (%{{.*}} = %{{.*}}, %[[C:.*]] = %{{.*}}) : (f64, f64) -> (f64, f64, i1) {
// CHECK:        %[[NEXT:.*]] = noma.add %[[C]]
// CHECK:        scf.condition(%{{.*}}) %{{.*}}, %[[NEXT]], %{{.*}} : f64, f64, i1
// CHECK:      func.return %[[R]] : f64

// -----

// reset_optimizer zeroes the moments and the step count.
func.func @reset(%x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  noma.reset_optimizer (%W : !noma.param<f64>)
  func.return
}
// CHECK-LABEL: func.func @reset
// CHECK-NOT:  noma.reset_optimizer
// CHECK:      %[[Z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT: noma.state_write %[[Z]], %[[W:.*]] "m"
// CHECK-NEXT: noma.state_write %[[Z]], %[[W]] "v"
// CHECK:      noma.state_write %{{.*}}, %[[W]] "t"

// -----

// Growth the body requested (marked noma.after_step) moves into the step,
// after the parameter updates: it takes effect between two steps, and not
// at all when the loop stops.
func.func @grow_after_step(%lr: f64, %max: f64, %t: tensor<2xf64>, %n: f64, %flag: i1) {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<?xf64>>
  noma.optimize "sgd" (%W : !noma.param<tensor<?xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%max) {
    %w = noma.read %W : !noma.param<tensor<?xf64>> -> tensor<?xf64>
    %l = noma.sum %w : tensor<?xf64> -> f64
    %g = noma.fill [%n] %lr : tensor<?xf64>
    noma.minimize %l wrt(%W : !noma.param<tensor<?xf64>>) grads(%g : tensor<?xf64>) : f64
    scf.if %flag {
      noma.realloc %W [%n] init "zeros" : !noma.param<tensor<?xf64>>
    } {noma.after_step}
    noma.until %lr
  }
  func.return
}
// CHECK-LABEL: func.func @grow_after_step
// CHECK:         scf.while
// CHECK:           %[[GO:.*]] = arith.andi
// CHECK-NEXT:      scf.if %[[GO]] {
// CHECK:             noma.write %{{.*}}, %{{.*}} : tensor<?xf64>, !noma.param<tensor<?xf64>>
// CHECK-NEXT:        scf.if %{{.*}} {
// CHECK-NEXT:          noma.realloc %{{.*}}[%{{.*}}] init "zeros"
// CHECK-NEXT:        }
// CHECK-NOT:         noma.after_step
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.condition(%[[GO]])
