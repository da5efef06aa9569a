// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// Tensors become memrefs and loop nests: elementwise chains fuse into one
// loop, same-shape operands are iterated through flat views, temporaries are
// freed after their last use, and dynamic shapes are checked at run time.

// A chain of elementwise ops over equal shapes: one flat loop, no temporary.
func.func @fused(%a: tensor<2x3xf64>, %b: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %s = noma.add %a, %b : tensor<2x3xf64>, tensor<2x3xf64> -> tensor<2x3xf64>
  %e = noma.exp %s : tensor<2x3xf64> -> tensor<2x3xf64>
  func.return %e : tensor<2x3xf64>
}
// CHECK-LABEL: func.func @fused(
// CHECK-SAME:    %[[A:.*]]: memref<2x3xf64>, %[[B:.*]]: memref<2x3xf64>) -> memref<2x3xf64>
// CHECK:         %[[FA:.*]] = memref.reinterpret_cast %[[A]] to offset: [0], sizes: [6], strides: [1]
// CHECK:         %[[FB:.*]] = memref.reinterpret_cast %[[B]] to offset: [0], sizes: [6], strides: [1]
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<2x3xf64>
// CHECK:         %[[FO:.*]] = memref.reinterpret_cast %[[OUT]]
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[X:.*]] = memref.load %[[FA]][%[[I]]] : memref<6xf64>
// CHECK-NEXT:      %[[Y:.*]] = memref.load %[[FB]][%[[I]]] : memref<6xf64>
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f64
// CHECK-NEXT:      %[[E:.*]] = math.exp %[[S]] : f64
// CHECK-NEXT:      memref.store %[[E]], %[[FO]][%[[I]]] : memref<6xf64>
// CHECK-NEXT:    }
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.dealloc %[[OUT]]
// CHECK:         func.return %[[OUT]] : memref<2x3xf64>

// A [3] bias broadcast over rows: a nested loop; the temporary is freed after
// the reduction that reads it.
func.func @bias(%x: tensor<2x3xf64>, %b: tensor<3xf64>) -> f64 {
  %s = noma.add %x, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xf64>
  %t = noma.mul %s, %s : tensor<2x3xf64>, tensor<2x3xf64> -> tensor<2x3xf64>
  %m = noma.mean %t : tensor<2x3xf64> -> f64
  func.return %m : f64
}
// CHECK-LABEL: func.func @bias(
// CHECK:         %[[T:.*]] = memref.alloc() : memref<2x3xf64>
// CHECK:         scf.for %[[R:.*]] = {{.*}} {
// CHECK-NEXT:      scf.for %[[C:.*]] = {{.*}} {
// CHECK-NEXT:        memref.load %{{.*}}[%[[R]], %[[C]]] : memref<2x3xf64>
// CHECK-NEXT:        memref.load %{{.*}}[%[[C]]] : memref<3xf64>
// CHECK:         %[[SUM:.*]] = scf.for {{.*}} iter_args
// CHECK:         memref.dealloc %[[T]] : memref<2x3xf64>
// CHECK:         arith.divf %[[SUM]]

// A transpose used only by matmuls is never built: the matmul reads its
// source in place (`transpose_a`); noma-lower-matmul makes it loops.
func.func @matmul_t(%a: tensor<4x2xf64>, %b: tensor<4x3xf64>) -> tensor<2x3xf64> {
  %t = noma.transpose %a : tensor<4x2xf64> -> tensor<2x4xf64>
  %c = noma.matmul %t, %b : tensor<2x4xf64>, tensor<4x3xf64> -> tensor<2x3xf64>
  func.return %c : tensor<2x3xf64>
}
// CHECK-LABEL: func.func @matmul_t(
// CHECK-SAME:    %[[A:.*]]: memref<4x2xf64>, %[[B:.*]]: memref<4x3xf64>)
// CHECK-NOT:     memref<2x4xf64>
// CHECK:         %[[C:.*]] = memref.alloc() : memref<2x3xf64>
// CHECK-NEXT:    noma_linalg.matmul %[[A]], %[[B]] into %[[C]] {transpose_a} : memref<4x2xf64>, memref<4x3xf64> into memref<2x3xf64>
// CHECK-NOT:     scf.for
// CHECK:         func.return %[[C]]

// An element read with a run-time index: truncated (fptosi, which saturates
// and maps NaN to 0), negative counting from the end, and bounds checked; a
// NaN index fails the check (`cmpf ord`) instead of reading element 0.
func.func @element(%v: tensor<2xf64>, %i: f64) -> f64 {
  %x = noma.index %v, %i : tensor<2xf64>, f64 -> f64
  func.return %x : f64
}
// CHECK-LABEL: func.func @element(
// CHECK-SAME:    %[[V:.*]]: memref<2xf64>, %[[I:.*]]: f64) -> f64
// CHECK:         %[[I64:.*]] = arith.fptosi %[[I]] : f64 to i64
// CHECK:         %[[INSIDE:.*]] = arith.andi %{{.*}}, %{{.*}} : i1
// CHECK-NEXT:    %[[NUMBER:.*]] = arith.cmpf ord, %[[I]], %[[I]] : f64
// CHECK-NEXT:    %[[OK:.*]] = arith.andi %[[INSIDE]], %[[NUMBER]] : i1
// CHECK:         %[[FAILED:.*]] = arith.xori %[[OK]], %{{.*}} : i1
// CHECK-NEXT:    scf.if %[[FAILED]] {
// CHECK:           func.call @noma_runtime_error
// CHECK:         memref.load %[[V]][%{{.*}}] : memref<2xf64>

// A dynamic dimension against a static one: checked once, at run time.
func.func @dynamic(%x: tensor<?xf64>, %y: tensor<2xf64>) -> tensor<2xf64> {
  %s = noma.add %x, %y : tensor<?xf64>, tensor<2xf64> -> tensor<2xf64> loc("p.noma":3:9)
  func.return %s : tensor<2xf64>
}
// The message gets both shapes, built on the failing path only.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         %[[N:.*]] = memref.dim
// CHECK:         scf.if
// CHECK:           memref.alloca() : memref<1xi64>
// CHECK:           memref.alloca() : memref<1xi64>
// CHECK:           func.call @noma_shape_error
// CHECK:         scf.for
// CHECK:       "memref.global"() <{sym_name = "__noma_str0", type = memref<{{[0-9]+}}xi8>
