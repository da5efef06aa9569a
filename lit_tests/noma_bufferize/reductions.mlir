// RUN: noma-opt %s -p noma-bufferize | filecheck %s
// A reduction along an axis is one loop nest over the kept axes with a
// loop along the reduced one, computing its elementwise producer inline
// (nothing stored for it); softmax sweeps each line for its maximum, then
// writes exp(x - max) while summing it, then rescales the line.

func.func @row_sums(%x: tensor<3x4xf64>, %b: tensor<4xf64>) -> tensor<3xf64> {
  %y = noma.add %x, %b : tensor<3x4xf64>, tensor<4xf64> -> tensor<3x4xf64>
  %s = noma.sum_axis %y 1 : tensor<3x4xf64> -> tensor<3xf64>
  func.return %s : tensor<3xf64>
}
// CHECK-LABEL: func.func @row_sums
// CHECK:       %[[OUT:.*]] = memref.alloc() : memref<3xf64>
// CHECK-NOT:   memref.alloc
// CHECK:       scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:         %[[T:.*]] = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f64) {
// CHECK:           %[[X:.*]] = memref.load %{{.*}}[%[[I]], %[[K]]] : memref<3x4xf64>
// CHECK:           %[[B:.*]] = memref.load %{{.*}}[%[[K]]] : memref<4xf64>
// CHECK:           %[[Y:.*]] = arith.addf %[[X]], %[[B]] : f64
// CHECK:           %[[NEXT:.*]] = arith.addf %[[ACC]], %[[Y]] : f64
// CHECK:           scf.yield %[[NEXT]] : f64
// CHECK:         memref.store %[[T]], %[[OUT]][%[[I]]] : memref<3xf64>
// CHECK-NOT:   noma.

func.func @softmax(%x: tensor<?x10xf64>) -> tensor<?x10xf64> {
  %p = noma.softmax %x 1 : tensor<?x10xf64> -> tensor<?x10xf64>
  func.return %p : tensor<?x10xf64>
}
// CHECK-LABEL: func.func @softmax
// CHECK:       %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x10xf64>
// CHECK:       scf.for %[[I:.*]] =
// CHECK:         %[[M:.*]] = scf.for {{.*}} -> (f64) {
// CHECK:           arith.maximumf
// CHECK:         %[[S:.*]] = scf.for {{.*}} -> (f64) {
// CHECK:           %[[D:.*]] = arith.subf %{{.*}}, %[[M]] : f64
// CHECK:           %[[E:.*]] = math.exp %[[D]] : f64
// CHECK:           memref.store %[[E]], %[[OUT]]
// CHECK:         %[[R:.*]] = arith.divf %{{.*}}, %[[S]] : f64
// CHECK:         scf.for
// CHECK:           memref.load %[[OUT]]
// CHECK:           arith.mulf %{{.*}}, %[[R]] : f64
// CHECK-NOT:   noma.softmax
