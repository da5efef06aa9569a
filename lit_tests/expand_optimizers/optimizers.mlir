// RUN: noma-opt %s --split-input-file -p expand-optimizers | filecheck %s
// noma.optimize becomes an scf.while whose iterations run the body, check the
// condition, then step; the loop is entered only if one iteration is allowed.

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
// CHECK-SAME:    %{{[^:]*}}: f64, %[[MAX:[^:]*]]: f64
// CHECK-NOT:  noma.optimize
// CHECK:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT: %[[RUNS:.*]] = arith.cmpf ole, %[[ONE]], %[[MAX]] : f64
// CHECK-NEXT: %[[LOSS:.*]], %[[STOP:.*]] = scf.if %[[RUNS]] -> (f64, i1) {
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:   %{{.*}}, %[[L_OUT:.*]], %[[STOP_OUT:.*]] = scf.while (%[[I:.*]] = %[[ZERO]]) : (f64) -> (f64, f64, i1) {
// CHECK:          %[[l:.*]] = noma.mul
// CHECK:          %[[g:.*]] = noma.add
// CHECK-NOT:      noma.minimize
// CHECK:          %[[c:.*]] = noma.cmp "lt"
// CHECK-NEXT:     %[[z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:     %[[stop:.*]] = arith.cmpf une, %[[c]], %[[z]] : f64
// CHECK-NEXT:     %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:     %[[done:.*]] = noma.add %[[I]], %[[one]]
// CHECK-NEXT:     %[[true:.*]] = arith.constant true
// CHECK-NEXT:     %[[go_on:.*]] = arith.xori %[[stop]], %[[true]] : i1
// CHECK-NEXT:     %[[one2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:     %[[next:.*]] = noma.add %[[done]], %[[one2]]
// CHECK-NEXT:     %[[more:.*]] = arith.cmpf ole, %[[next]], %[[MAX]] : f64
// CHECK-NEXT:     %[[keep:.*]] = arith.andi %[[go_on]], %[[more]] : i1
// The step happens in the same region as the body (gradients never leave
// it), unless the condition held; the last iteration steps too.
// CHECK-NEXT:     scf.if %[[go_on]] {
// CHECK:            noma.state_read %{{.*}} "t"
// CHECK:            noma.state_write %{{.*}}, %{{.*}} "t"
// CHECK:            %[[p:.*]] = noma.read
// CHECK-NEXT:       %[[update:.*]] = noma.mul %{{.*}}, %[[g]]
// CHECK-NEXT:       %[[new:.*]] = noma.sub %[[p]], %[[update]]
// CHECK-NEXT:       noma.write %[[new]]
// CHECK:          }
// The exported loss is the body's, computed before the step.
// CHECK-NEXT:     scf.condition(%[[keep]]) %[[done]], %[[l]], %[[stop]] : f64, f64, i1
// CHECK-NEXT:   } do {
// CHECK-NEXT:   ^{{.*}}(%[[d:.*]]: f64, %{{.*}}: f64, %{{.*}}: i1):
// CHECK-NEXT:     scf.yield %[[d]] : f64
// CHECK-NEXT:   }
// CHECK-NEXT:   scf.yield %[[L_OUT]], %[[STOP_OUT]] : f64, i1
// No iteration at all: the warning, then an error if a name of the body is used.
// CHECK-NEXT: } else {
// CHECK-NEXT:   %[[placeholder:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:   %[[false:.*]] = arith.constant false
// CHECK-NEXT:   scf.yield %[[placeholder]], %[[false]] : f64, i1
// CHECK-NEXT: }
// CHECK-NEXT: %{{.*}} = arith.constant true
// CHECK-NEXT: %[[notstop:.*]] = arith.xori %[[STOP]]
// CHECK-NEXT: scf.if %[[notstop]] {
// CHECK-NEXT:   noma.warning "optimize loop stopped after max_iterations = {0} steps before its `until` condition held", %[[MAX]] : f64
// CHECK-NEXT: }
// CHECK-NEXT: noma.assert %[[RUNS]], "the optimize loop ran no iteration (max_iterations = {0}): the names its body defines have no value after it"(%[[MAX]] : f64)
// CHECK-NEXT: func.return %[[LOSS]] : f64

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
// CHECK:      scf.while
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
// CHECK:      scf.while
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
// CHECK-SAME:    %{{[^:]*}}: f64, %[[X:[^:]*]]: f64
// CHECK:      %[[R:.*]], %{{.*}} = scf.if
// CHECK:        %{{[^,]*}}, %[[OUT:[^,]*]], %{{[^,]*}} = scf.while (%{{.*}} = %{{.*}}, %[[C:.*]] = %[[X]]) : (f64, f64) -> (f64, f64, i1) {
// CHECK:          %[[NEXT:.*]] = noma.add %[[C]]
// CHECK:          scf.condition(%{{.*}}) %{{.*}}, %[[NEXT]], %{{.*}} : f64, f64, i1
// CHECK:        scf.yield %[[OUT]], %{{.*}} : f64, i1
// With no iteration, the carried value is the one that came in.
// CHECK-NEXT: } else {
// CHECK-NEXT:   %[[F:.*]] = arith.constant false
// CHECK-NEXT:   scf.yield %[[X]], %[[F]] : f64, i1
// CHECK:      func.return %[[R]] : f64

// -----

// An exported tensor gets a placeholder for the case of no iteration (never
// read: the assert after the loop stops the program first).
func.func @exported_tensor(%lr: f64, %max: f64, %t: tensor<2xf64>) -> tensor<?x3xf64> {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<2xf64>>
  %e = noma.optimize "sgd" (%W : !noma.param<tensor<2xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%max) {
    %w = noma.read %W : !noma.param<tensor<2xf64>> -> tensor<2xf64>
    %l = noma.sum %w : tensor<2xf64> -> f64
    %f = noma.fill [%max, %lr] %lr : tensor<?x3xf64>
    noma.minimize %l wrt(%W : !noma.param<tensor<2xf64>>) grads(%w : tensor<2xf64>) : f64
    noma.until %lr exports(%f : tensor<?x3xf64>)
  } -> tensor<?x3xf64>
  func.return %e : tensor<?x3xf64>
}
// CHECK-LABEL: func.func @exported_tensor
// CHECK:      %[[RUNS:.*]] = arith.cmpf ole
// CHECK:      %[[E:.*]], %{{.*}} = scf.if %[[RUNS]] -> (tensor<?x3xf64>, i1) {
// CHECK:      } else {
// CHECK-NEXT:   %[[D0:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:   %[[D1:.*]] = arith.constant 3.000000e+00 : f64
// CHECK-NEXT:   %[[Z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:   %[[P:.*]] = noma.fill[%[[D0]], %[[D1]]] %[[Z]] : tensor<?x3xf64>
// CHECK-NEXT:   %[[F:.*]] = arith.constant false
// CHECK-NEXT:   scf.yield %[[P]], %[[F]] : tensor<?x3xf64>, i1
// CHECK:      noma.warning
// CHECK:      noma.assert %[[RUNS]]
// CHECK-NEXT: func.return %[[E]] : tensor<?x3xf64>

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
// CHECK:           %[[GO_ON:.*]] = arith.xori
// CHECK:           %[[KEEP:.*]] = arith.andi
// CHECK-NEXT:      scf.if %[[GO_ON]] {
// CHECK:             noma.write %{{.*}}, %{{.*}} : tensor<?xf64>, !noma.param<tensor<?xf64>>
// CHECK-NEXT:        scf.if %{{.*}} {
// CHECK-NEXT:          noma.realloc %{{.*}}[%{{.*}}] init "zeros"
// CHECK-NEXT:        }
// CHECK-NOT:         noma.after_step
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.condition(%[[KEEP]])
