// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts,dce | filecheck %s

// convert-to-llvm emits no more ops than the lowering needs: each integer
// constant once per function, at the top of its entry block, whatever the
// number of uses; and a field of a descriptor built in the function (here
// from the function's expanded arguments) is the value it was built from,
// not an `llvm.extractvalue` of the struct, so after dce neither the struct
// nor an extract is left.

// The strided view's offset and stride are the arguments themselves.
// CHECK-LABEL: llvm.func @strided_sum
// CHECK-SAME: (%{{[^:]+}}: !llvm.ptr, %[[ALIGNED:[^:]+]]: !llvm.ptr, %[[OFFSET:[^:]+]]: i64, %{{[^:]+}}: i64, %[[STRIDE:[^:]+]]: i64, %[[I:[^:]+]]: i64, %[[J:[^:]+]]: i64)
// CHECK-NOT: llvm.extractvalue
// CHECK-NOT: llvm.insertvalue
// CHECK: %[[SI:.*]] = llvm.mul %[[I]], %[[STRIDE]] : i64
// CHECK-NEXT: %[[LI:.*]] = llvm.add %[[OFFSET]], %[[SI]] : i64
// CHECK-NEXT: llvm.getelementptr %[[ALIGNED]][%[[LI]]]
// CHECK: %[[SJ:.*]] = llvm.mul %[[J]], %[[STRIDE]] : i64
// CHECK-NEXT: %[[LJ:.*]] = llvm.add %[[OFFSET]], %[[SJ]] : i64
// CHECK-NEXT: llvm.getelementptr %[[ALIGNED]][%[[LJ]]]
// CHECK-NOT: llvm.extractvalue
// CHECK: llvm.return
func.func @strided_sum(%m: memref<?xf64, strided<[?], offset: ?>>, %i: index, %j: index) -> f64 {
  %a = memref.load %m[%i] : memref<?xf64, strided<[?], offset: ?>>
  %b = memref.load %m[%j] : memref<?xf64, strided<[?], offset: ?>>
  %s = arith.addf %a, %b : f64
  func.return %s : f64
}

// Three stack buffers of 4 elements, stored to at index 2: the element count
// 4 and the index 2 are one constant each (the dead descriptor fields are
// gone after dce).
// CHECK-LABEL: llvm.func @three_buffers
// CHECK-DAG: %[[FOUR:.*]] = llvm.mlir.constant(4) : i64
// CHECK-DAG: %[[TWO:.*]] = llvm.mlir.constant(2) : i64
// CHECK-NOT: llvm.mlir.constant
// CHECK: %[[A:.*]] = llvm.alloca %[[FOUR]] x f64
// CHECK-NEXT: %[[B:.*]] = llvm.alloca %[[FOUR]] x f64
// CHECK-NEXT: %[[C:.*]] = llvm.alloca %[[FOUR]] x f64
// CHECK-NOT: llvm.mlir.constant
// CHECK: llvm.getelementptr %[[A]][%[[TWO]]]
// CHECK-NOT: llvm.mlir.constant
// CHECK: llvm.getelementptr %[[B]][%[[TWO]]]
// CHECK-NOT: llvm.mlir.constant
// CHECK: llvm.getelementptr %[[C]][%[[TWO]]]
// CHECK-NOT: llvm.mlir.constant
// CHECK-NOT: llvm.extractvalue
// CHECK: llvm.return
func.func @three_buffers(%x: f64) {
  %a = memref.alloca() : memref<4xf64>
  %b = memref.alloca() : memref<4xf64>
  %c = memref.alloca() : memref<4xf64>
  %i = arith.constant 2 : index
  memref.store %x, %a[%i] : memref<4xf64>
  memref.store %x, %b[%i] : memref<4xf64>
  memref.store %x, %c[%i] : memref<4xf64>
  func.return
}
