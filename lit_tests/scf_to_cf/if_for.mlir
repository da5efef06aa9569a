// RUN: noma-opt %s -p noma-convert-scf-to-cf | filecheck %s

// scf.if and scf.for use xDSL's own lowering patterns.
// CHECK-LABEL: func.func @select_abs
// CHECK: cf.cond_br %{{.*}}, ^[[THEN:.*]], ^[[ELSE:.*]]
// CHECK: ^[[THEN]]:
// CHECK: cf.br ^[[JOIN:.*]](%{{.*}} : f64)
// CHECK: ^[[ELSE]]:
// CHECK: cf.br ^[[JOIN]](%{{.*}} : f64)
// CHECK: ^[[JOIN]](%[[R:.*]]: f64):
// CHECK: func.return %[[R]] : f64
func.func @select_abs(%x: f64) -> f64 {
  %zero = arith.constant 0.0 : f64
  %neg = arith.cmpf olt, %x, %zero : f64
  %r = scf.if %neg -> (f64) {
    %n = arith.negf %x : f64
    scf.yield %n : f64
  } else {
    scf.yield %x : f64
  }
  func.return %r : f64
}

// CHECK-LABEL: func.func @count
// CHECK: cf.br ^[[COND:.*]](%{{.*}}, %{{.*}} : index, f64)
// CHECK: ^[[COND]](%[[I:.*]]: index, %[[ACC:.*]]: f64):
// CHECK: arith.cmpi slt, %[[I]], %{{.*}} : index
// CHECK: arith.addi %[[I]], %{{.*}} : index
// CHECK: cf.br ^[[COND]]
// CHECK-NOT: scf.
func.func @count(%n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f64
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (f64) {
    %one = arith.constant 1.0 : f64
    %a = arith.addf %acc, %one : f64
    scf.yield %a : f64
  }
  func.return %r : f64
}
