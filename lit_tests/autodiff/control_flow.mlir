// RUN: noma-opt %s -p autodiff | filecheck %s
// Branches and loops inside an optimize body are differentiated at run time.

// scf.if: the reverse is an scf.if on the same condition; each branch
// recomputes its forward code and yields the adjoints of the outer values.
func.func @branch(%lr: f64, %c: i1) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %y = scf.if %c -> (f64) {
      %sq = noma.mul %w, %w : f64, f64 -> f64
      noma.print %sq : f64
      scf.yield %sq : f64
    } else {
      %e = noma.exp %w : f64 -> f64
      scf.yield %e : f64
    }
    noma.minimize %y : f64
    noma.until %y
  }
  func.return
}
// CHECK-LABEL: func.func @branch
// CHECK:      %[[w:.*]] = noma.read
// CHECK:      %[[y:.*]] = scf.if %[[c:.*]] -> (f64) {
// CHECK:      %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT: %[[dw:.*]] = scf.if %[[c]] -> (f64) {
// CHECK-NEXT:   %[[sq:.*]] = noma.mul %[[w]], %[[w]]
// CHECK-NOT:    noma.print
// CHECK:        scf.yield
// CHECK-NEXT: } else {
// CHECK-NEXT:   %[[e:.*]] = noma.exp %[[w]]
// CHECK-NEXT:   %[[de:.*]] = noma.mul %[[one]], %[[e]]
// CHECK-NEXT:   scf.yield %[[de]] : f64
// CHECK-NEXT: }
// CHECK-NEXT: noma.minimize %[[y]] wrt(%{{.*}} : !noma.param<f64>) grads(%[[dw]] : f64) : f64

// scf.while: the forward loop records each iteration's carried values on a
// tape and counts iterations; an scf.for replays them in reverse.
func.func @loop(%lr: f64, %n: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %r = scf.while (%acc = %w) : (f64) -> f64 {
      %small = arith.cmpf olt, %acc, %n : f64
      scf.condition(%small) %acc : f64
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
// CHECK-LABEL: func.func @loop
// CHECK:      %[[w:.*]] = noma.read
// CHECK-NEXT: %[[tape:.*]] = noma.tape_new : !noma.tape
// CHECK-NEXT: %[[zero:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[r:.*]], %[[count:.*]] = scf.while (%[[acc:.*]] = %[[w]], %{{.*}} = %[[zero]]) : (f64, index) -> (f64, index) {
// CHECK:      } do {
// CHECK-NEXT: ^{{.*}}(%[[a:.*]]: f64, %[[i:.*]]: index):
// CHECK-NEXT:   noma.tape_push %[[tape]], %[[a]] : f64
// CHECK-NEXT:   noma.mul %[[a]], %[[w]]
// CHECK:        arith.addi %[[i]]
// CHECK:      %{{.*}}, %{{.*}} = scf.for %{{.*}} = %{{.*}} to %[[count]] step %{{.*}} iter_args(%[[da:.*]] = %{{.*}}, %[[dw:.*]] = %{{.*}}) -> (f64, f64) {
// CHECK-NEXT:   %[[x:.*]] = noma.tape_pop %[[tape]] : f64
// CHECK-NEXT:   %[[fwd:.*]] = noma.mul %[[x]], %[[w]]
// CHECK:        scf.yield
// CHECK:      noma.tape_free %[[tape]]
// CHECK:      noma.minimize %[[r]] wrt(

// func.call: differentiated by a generated vector-Jacobian-product function.
func.func @cube(%x: f64) -> f64 {
  %sq = noma.mul %x, %x : f64, f64 -> f64
  noma.print %sq : f64
  %cu = noma.mul %sq, %x : f64, f64 -> f64
  func.return %cu : f64
}
func.func @calls(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %y = func.call @cube(%w) : (f64) -> f64
    noma.minimize %y : f64
    noma.until %y
  }
  func.return
}
// CHECK-LABEL: func.func @calls
// CHECK:      %[[w:.*]] = noma.read
// CHECK-NEXT: %[[y:.*]] = func.call @cube(%[[w]])
// CHECK-NEXT: %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT: %[[g:.*]] = func.call @cube__vjp(%[[w]], %[[one]]) : (f64, f64) -> f64
// CHECK-NEXT: noma.minimize %[[y]] wrt(%{{.*}} : !noma.param<f64>) grads(%[[g]] : f64) : f64
// CHECK-LABEL: func.func @cube__vjp(
// CHECK-SAME:    %[[x:.*]]: f64, %[[dy:.*]]: f64) -> f64
// CHECK-NOT:   noma.print
// CHECK:       func.return
