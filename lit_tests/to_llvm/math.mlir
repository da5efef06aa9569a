// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s

// Intrinsic ops where xDSL's llvm dialect has them, named intrinsics otherwise.
// CHECK-LABEL: llvm.func @unary(%{{[^:]+}}: f64) -> f64
// CHECK: llvm.intr.exp(%{{.*}}) : (f64) -> f64
// CHECK-NEXT: llvm.intr.log(
// CHECK-NEXT: llvm.intr.sqrt(
// CHECK-NEXT: llvm.intr.sin(
// CHECK-NEXT: llvm.intr.cos(
// CHECK-NEXT: llvm.intr.floor(
// CHECK-NEXT: llvm.intr.ceil(
// CHECK-NEXT: llvm.intr.fabs(
// CHECK-NEXT: llvm.call_intrinsic "llvm.tan.f64"(%{{.*}}) : (f64) -> f64
// CHECK-NEXT: llvm.call_intrinsic "llvm.tanh.f64"(%{{.*}}) : (f64) -> f64
// CHECK-NEXT: llvm.return
// CHECK-NOT: math.
func.func @unary(%x: f64) -> f64 {
  %0 = math.exp %x : f64
  %1 = math.log %0 : f64
  %2 = math.sqrt %1 : f64
  %3 = math.sin %2 : f64
  %4 = math.cos %3 : f64
  %5 = math.floor %4 : f64
  %6 = math.ceil %5 : f64
  %7 = math.absf %6 : f64
  %8 = math.tan %7 : f64
  %9 = math.tanh %8 : f64
  func.return %9 : f64
}

// CHECK-LABEL: llvm.func @binary
// CHECK: llvm.intr.pow(%{{.*}}, %{{.*}}) : (f64, f64) -> f64
// CHECK: llvm.intr.fma(
// CHECK: %[[ROOT:.*]] = llvm.intr.sqrt(
// CHECK: llvm.fdiv %{{.*}}, %[[ROOT]] : f64
func.func @binary(%a: f64, %b: f64) -> f64 {
  %p = math.powf %a, %b : f64
  %f = math.fma %p, %a, %b : f64
  %r = math.rsqrt %f : f64
  func.return %r : f64
}

// f32 picks the f32 overload.
// CHECK-LABEL: llvm.func @single
// CHECK: llvm.call_intrinsic "llvm.tanh.f32"(%{{.*}}) : (f32) -> f32
func.func @single(%x: f32) -> f32 {
  %r = math.tanh %x : f32
  func.return %r : f32
}
