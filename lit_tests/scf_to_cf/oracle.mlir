// REQUIRES: mlir-opt
// RUN: noma-opt %s -p noma-convert-scf-to-cf | %mlir-opt | filecheck %s
// RUN: noma-opt %s -p noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts | %mlir-opt | filecheck %s --check-prefix=LLVM

// Upstream mlir-opt verifies the cf produced from scf.while, with index and
// memref loop values, also after the LLVM lowering.
// CHECK-LABEL: func.func @halve
// CHECK: cf.cond_br
// CHECK-NOT: scf.
// LLVM-LABEL: llvm.func @halve
// LLVM: llvm.cond_br %{{.*}}, ^{{.*}}(%{{.*}}, %{{.*}} : i64, !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>)
func.func @halve(%m: memref<?xf64>, %n: index) -> memref<?xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r:2 = scf.while (%i = %c0, %buf = %m) : (index, memref<?xf64>) -> (index, memref<?xf64>) {
    %more = arith.cmpi slt, %i, %n : index
    scf.condition(%more) %i, %buf : index, memref<?xf64>
  } do {
  ^bb0(%j: index, %b: memref<?xf64>):
    %v = memref.load %b[%j] : memref<?xf64>
    %half = arith.constant 0.5 : f64
    %w = arith.mulf %v, %half : f64
    memref.store %w, %b[%j] : memref<?xf64>
    %next = arith.addi %j, %c1 : index
    scf.yield %next, %b : index, memref<?xf64>
  }
  func.return %r#1 : memref<?xf64>
}
