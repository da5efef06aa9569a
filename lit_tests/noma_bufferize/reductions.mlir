// RUN: noma-opt %s -p noma-bufferize | filecheck %s
// A reduction along an axis is one loop nest over the kept axes with a
// loop along the reduced one, computing its elementwise producer inline
// (nothing stored for it); softmax sweeps each line for its maximum, then
// writes exp(x - max) while summing it, then rescales the line. A fused
// producer of the softmax family is computed once per element.

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

func.func @log_softmax_fused(%x: tensor<3x4xf64>, %b: tensor<4xf64>) -> tensor<3x4xf64> {
  %y = noma.add %x, %b : tensor<3x4xf64>, tensor<4xf64> -> tensor<3x4xf64>
  %p = noma.log_softmax %y 1 : tensor<3x4xf64> -> tensor<3x4xf64>
  func.return %p : tensor<3x4xf64>
}
// A fused producer is computed once per element: the maximum's pass writes
// each element into the output line, the later passes read it back.
// CHECK-LABEL: func.func @log_softmax_fused
// CHECK-SAME:    (%[[X:.*]]: memref<3x4xf64>, %[[B:.*]]: memref<4xf64>)
// CHECK:       %[[OUT:.*]] = memref.alloc() : memref<3x4xf64>
// CHECK:       scf.for %[[I:[^ ]+]] =
// CHECK:         %[[M:[^ ]+]] = scf.for %[[K:[^ ]+]] = {{.*}} -> (f64) {
// CHECK:           memref.load %[[X]]
// CHECK:           memref.load %[[B]]
// CHECK:           %[[Y:.*]] = arith.addf
// CHECK:           memref.store %[[Y]], %[[OUT]][%[[I]], %[[K]]]
// CHECK:           arith.maximumf %{{.*}}, %[[Y]]
// CHECK-NOT:     memref.load %[[X]]
// CHECK-NOT:     memref.load %[[B]]
// CHECK:         scf.for {{.*}} -> (f64) {
// CHECK:           memref.load %[[OUT]]
// CHECK:           math.exp
// CHECK:         math.log
// CHECK:         scf.for
// CHECK:           memref.load %[[OUT]]
// CHECK:           arith.subf
// CHECK:           memref.store %{{.*}}, %[[OUT]]
// CHECK:       func.return %[[OUT]]

func.func @softmax_fused(%x: tensor<3x4xf64>, %c: f64) -> tensor<3x4xf64> {
  %y = noma.mul %x, %c : tensor<3x4xf64>, f64 -> tensor<3x4xf64>
  %p = noma.softmax %y 1 : tensor<3x4xf64> -> tensor<3x4xf64>
  func.return %p : tensor<3x4xf64>
}
// CHECK-LABEL: func.func @softmax_fused
// CHECK-SAME:    (%[[X:.*]]: memref<3x4xf64>, %[[C:.*]]: f64)
// CHECK:       %[[OUT:.*]] = memref.alloc() : memref<3x4xf64>
// CHECK:         scf.for {{.*}} -> (f64) {
// CHECK:           memref.load %[[X]]
// CHECK:           %[[Y:.*]] = arith.mulf %{{.*}}, %[[C]]
// CHECK:           memref.store %[[Y]], %[[OUT]]
// CHECK-NOT:     memref.load %[[X]]
// CHECK:         scf.for {{.*}} -> (f64) {
// CHECK:           memref.load %[[OUT]]
// CHECK:           math.exp
// CHECK:         arith.divf
// CHECK:       func.return %[[OUT]]

func.func @logsumexp_fused(%x: tensor<3x?xf64>, %c: f64) -> tensor<3xf64> {
  %y = noma.mul %x, %c : tensor<3x?xf64>, f64 -> tensor<3x?xf64>
  %s = noma.logsumexp %y 1 : tensor<3x?xf64> -> tensor<3xf64>
  func.return %s : tensor<3xf64>
}
// logsumexp keeps the line in a scratch buffer, allocated once for all lines.
// CHECK-LABEL: func.func @logsumexp_fused
// CHECK-SAME:    (%[[X:.*]]: memref<3x?xf64>, %[[C:.*]]: f64)
// CHECK:       %[[LINE:.*]] = memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK:       %[[OUT:.*]] = memref.alloc() : memref<3xf64>
// CHECK:       scf.for
// CHECK:         scf.for %[[K:[^ ]+]] = {{.*}} -> (f64) {
// CHECK:           memref.load %[[X]]
// CHECK:           %[[Y:.*]] = arith.mulf %{{.*}}, %[[C]]
// CHECK:           memref.store %[[Y]], %[[LINE]][%[[K]]]
// CHECK-NOT:     memref.load %[[X]]
// CHECK:         scf.for {{.*}} -> (f64) {
// CHECK:           memref.load %[[LINE]]
// CHECK:           math.exp
// CHECK:         math.log
// CHECK:         memref.store %{{.*}}, %[[OUT]]

func.func @logsumexp_stored(%x: tensor<3x4xf64>) -> tensor<3xf64> {
  %s = noma.logsumexp %x 1 : tensor<3x4xf64> -> tensor<3xf64>
  func.return %s : tensor<3xf64>
}
// A stored source is read twice, with no scratch line.
// CHECK-LABEL: func.func @logsumexp_stored
// CHECK-SAME:    (%[[X:.*]]: memref<3x4xf64>)
// CHECK:       %[[OUT:.*]] = memref.alloc() : memref<3xf64>
// CHECK-NOT:   memref.alloc
// CHECK:         scf.for {{.*}} -> (f64) {
// CHECK:           memref.load %[[X]]
// CHECK:           arith.maximumf
// CHECK:         scf.for {{.*}} -> (f64) {
// CHECK:           memref.load %[[X]]
// CHECK:           math.exp
