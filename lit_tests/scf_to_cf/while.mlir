// RUN: noma-opt %s -p noma-convert-scf-to-cf | filecheck %s

// The before region becomes the loop header, scf.condition a cond_br to the
// body (forwarding its values) or to the exit block (whose arguments are the
// loop results), and the body's scf.yield a branch back to the header.
// CHECK-LABEL: func.func @sum(%{{.*}}: i64) -> i64 {
// CHECK: %[[C0:.*]] = arith.constant 0 : i64
// CHECK: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-NEXT: cf.br ^[[HEAD:.*]](%[[C1]], %[[C0]] : i64, i64)
// CHECK-NEXT: ^[[HEAD]](%[[I:.*]]: i64, %[[ACC:.*]]: i64):
// CHECK-NEXT: %[[MORE:.*]] = arith.cmpi sle, %[[I]], %{{.*}} : i64
// CHECK-NEXT: cf.cond_br %[[MORE]], ^[[BODY:.*]](%[[I]], %[[ACC]] : i64, i64), ^[[EXIT:.*]](%[[I]], %[[ACC]] : i64, i64)
// CHECK-NEXT: ^[[BODY]](%[[J:.*]]: i64, %[[S:.*]]: i64):
// CHECK-NEXT: %[[S2:.*]] = arith.addi %[[S]], %[[J]] : i64
// CHECK-NEXT: %[[J2:.*]] = arith.addi %[[J]], %[[C1]] : i64
// CHECK-NEXT: cf.br ^[[HEAD]](%[[J2]], %[[S2]] : i64, i64)
// CHECK-NEXT: ^[[EXIT]](%{{.*}}: i64, %[[RES:.*]]: i64):
// CHECK-NEXT: func.return %[[RES]] : i64
// CHECK-NOT: scf.
func.func @sum(%n: i64) -> i64 {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %r:2 = scf.while (%i = %c1, %acc = %c0) : (i64, i64) -> (i64, i64) {
    %more = arith.cmpi sle, %i, %n : i64
    scf.condition(%more) %i, %acc : i64, i64
  } do {
  ^bb0(%j: i64, %s: i64):
    %s2 = arith.addi %s, %j : i64
    %j2 = arith.addi %j, %c1 : i64
    scf.yield %j2, %s2 : i64, i64
  }
  func.return %r#1 : i64
}

// Before and after regions with different types; ops after the loop move to
// the exit block; an scf.if nested in the header is lowered too.
// CHECK-LABEL: func.func @shapes
// CHECK: cf.br ^[[H:.*]](%{{.*}} : f64)
// CHECK: ^[[H]](%[[X:.*]]: f64):
// CHECK: cf.cond_br %{{.*}}, ^[[THEN:.*]], ^[[ELSE:.*]]
// CHECK: cf.cond_br %{{.*}}, ^[[B:.*]](%{{.*}} : i64), ^[[E:.*]](%{{.*}} : i64)
// CHECK: ^[[B]](%[[K:.*]]: i64):
// CHECK: cf.br ^[[H]](%{{.*}} : f64)
// CHECK: ^[[E]](%[[R:.*]]: i64):
// CHECK-NEXT: %[[DONE:.*]] = arith.addi %[[R]], %[[R]] : i64
// CHECK-NEXT: func.return %[[DONE]] : i64
func.func @shapes(%start: f64) -> i64 {
  %r = scf.while (%x = %start) : (f64) -> i64 {
    %limit = arith.constant 100.0 : f64
    %small = arith.cmpf olt, %x, %limit : f64
    %k = scf.if %small -> (i64) {
      %one = arith.constant 1 : i64
      scf.yield %one : i64
    } else {
      %two = arith.constant 2 : i64
      scf.yield %two : i64
    }
    scf.condition(%small) %k : i64
  } do {
  ^bb0(%k2: i64):
    %f = arith.sitofp %k2 : i64 to f64
    %ten = arith.constant 10.0 : f64
    %y = arith.mulf %f, %ten : f64
    scf.yield %y : f64
  }
  %done = arith.addi %r, %r : i64
  func.return %done : i64
}

// A loop without iteration values.
// CHECK-LABEL: func.func @no_values
// CHECK: cf.br ^[[H2:[a-z0-9]+]]{{$}}
// CHECK-NEXT: ^[[H2]]:
// CHECK-NEXT: %[[F:.*]] = func.call @more() : () -> i1
// CHECK-NEXT: cf.cond_br %[[F]], ^[[B2:[a-z0-9]+]], ^[[E2:[a-z0-9]+]]{{$}}
// CHECK-NEXT: ^[[B2]]:
// CHECK-NEXT: cf.br ^[[H2]]{{$}}
// CHECK-NEXT: ^[[E2]]:
// CHECK-NEXT: func.return
func.func private @more() -> i1
func.func @no_values() {
  scf.while () : () -> () {
    %flag = func.call @more() : () -> i1
    scf.condition(%flag)
  } do {
    scf.yield
  }
  func.return
}
