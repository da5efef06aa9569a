// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s --check-prefix=CLEAN

// Every arith op becomes llvm; index becomes i64.
// CLEAN-NOT: arith.
// CLEAN-NOT: index
// CLEAN-NOT: unrealized_conversion_cast

// CHECK-LABEL: llvm.func @constants() -> i64
// CHECK-DAG: llvm.mlir.constant(1.500000e+00 : f64) : f64
// CHECK-DAG: llvm.mlir.constant(true) : i1
// CHECK-DAG: llvm.mlir.constant(-7) : i64
// CHECK-DAG: %[[IDX:.*]] = llvm.mlir.constant(42) : i64
// CHECK: llvm.return %[[IDX]] : i64
func.func @constants() -> index {
  %f = arith.constant 1.5 : f64
  %b = arith.constant true
  %i = arith.constant -7 : i64
  %n = arith.constant 42 : index
  func.return %n : index
}

// CHECK-LABEL: llvm.func @float_ops(%{{.*}}: f64, %{{.*}}: f64) -> f64
// CHECK: llvm.fadd
// CHECK-NEXT: llvm.fsub
// CHECK-NEXT: llvm.fmul
// CHECK-NEXT: llvm.fdiv {{.*}} {fastmathFlags = #llvm.fastmath<fast>} : f64
// CHECK-NEXT: llvm.fneg
// CHECK-NEXT: llvm.call_intrinsic "llvm.maximum.f64"({{.*}}) : (f64, f64) -> f64
// CHECK-NEXT: llvm.call_intrinsic "llvm.minimum.f64"({{.*}}) : (f64, f64) -> f64
func.func @float_ops(%a: f64, %b: f64) -> f64 {
  %0 = arith.addf %a, %b : f64
  %1 = arith.subf %0, %b : f64
  %2 = arith.mulf %1, %b : f64
  %3 = arith.divf %2, %b fastmath<fast> : f64
  %4 = arith.negf %3 : f64
  %5 = arith.maximumf %4, %a : f64
  %6 = arith.minimumf %5, %b : f64
  func.return %6 : f64
}

// cmpf keeps its predicate; false/true fold to constants (made once per
// function, at its top).
// CHECK-LABEL: llvm.func @compare_select
// CHECK-DAG: llvm.mlir.constant(false) : i1
// CHECK-DAG: llvm.mlir.constant(true) : i1
// CHECK: %[[LT:.*]] = llvm.fcmp "olt" %{{.*}}, %{{.*}} : f64
// CHECK: llvm.fcmp "une"
// CHECK: llvm.fcmp "uno"
// CHECK: llvm.icmp "slt" %{{.*}}, %{{.*}} : i64
// CHECK: llvm.icmp "uge"
// CHECK: llvm.select %[[LT]], %{{.*}}, %{{.*}} : i1, f64
func.func @compare_select(%a: f64, %b: f64, %i: index, %j: index) -> f64 {
  %lt = arith.cmpf olt, %a, %b : f64
  %ne = arith.cmpf une, %a, %b : f64
  %nan = arith.cmpf uno, %a, %b : f64
  %never = arith.cmpf false, %a, %b : f64
  %always = arith.cmpf true, %a, %b : f64
  %ilt = arith.cmpi slt, %i, %j : index
  %iuge = arith.cmpi uge, %i, %j : index
  %r = arith.select %lt, %a, %b : f64
  func.return %r : f64
}

// CHECK-LABEL: llvm.func @integer_ops(%{{.*}}: i64, %{{.*}}: i64) -> i64
// CHECK: llvm.add
// CHECK-NEXT: llvm.sub
// CHECK-NEXT: llvm.mul
// CHECK-NEXT: llvm.sdiv
// CHECK-NEXT: llvm.srem
// CHECK-NEXT: llvm.and
// CHECK-NEXT: llvm.or
// CHECK-NEXT: llvm.xor
func.func @integer_ops(%a: i64, %b: i64) -> i64 {
  %0 = arith.addi %a, %b : i64
  %1 = arith.subi %0, %b : i64
  %2 = arith.muli %1, %b : i64
  %3 = arith.divsi %2, %b : i64
  %4 = arith.remsi %3, %b : i64
  %5 = arith.andi %4, %a : i64
  %6 = arith.ori %5, %b : i64
  %7 = arith.xori %6, %a : i64
  func.return %7 : i64
}

// index_cast to i64 is free; narrower types truncate, wider ones sign-extend.
// CHECK-LABEL: llvm.func @casts
// CHECK-SAME: (%[[I:[^:]+]]: i64, %{{[^:]+}}: f64, %[[B:[^:]+]]: i1) -> f64
// CHECK: llvm.trunc %[[I]] : i64 to i32
// CHECK: llvm.sitofp %[[I]] : i64 to f64
// CHECK: llvm.call_intrinsic "llvm.fptosi.sat.i64.f64"
// CHECK: llvm.call_intrinsic "llvm.fptosi.sat.i32.f64"
// CHECK: llvm.zext %[[B]] : i1 to i64
// CHECK: llvm.trunc {{.*}} : i64 to i8
func.func @casts(%i: index, %x: f64, %b: i1) -> f64 {
  %n = arith.index_cast %i : index to i64
  %n32 = arith.index_cast %i : index to i32
  %f = arith.sitofp %n : i64 to f64
  %t = arith.fptosi %x : f64 to i64
  %t32 = arith.fptosi %x : f64 to i32
  %z = arith.extui %b : i1 to i64
  %c = arith.trunci %t : i64 to i8
  func.return %f : f64
}

// uitofp: i1 selects 1.0/0.0, i32 zero-extends first, i64 halves values >= 2^63.
// CHECK-LABEL: llvm.func @uitofp
// CHECK: llvm.select %{{.*}}, %{{.*}}, %{{.*}} : i1, f64
// CHECK: llvm.zext %{{.*}} : i32 to i64
// CHECK-NEXT: llvm.sitofp %{{.*}} : i64 to f64
// CHECK: llvm.lshr
// CHECK: llvm.icmp "sge"
// CHECK: llvm.select
// CHECK-NOT: uitofp
func.func @uitofp(%b: i1, %w: i32, %q: i64) -> f64 {
  %0 = arith.uitofp %b : i1 to f64
  %1 = arith.uitofp %w : i32 to f64
  %2 = arith.uitofp %q : i64 to f64
  %s = arith.addf %0, %1 : f64
  %r = arith.addf %s, %2 : f64
  func.return %r : f64
}
