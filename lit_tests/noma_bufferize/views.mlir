// RUN: noma-opt %s -p noma-bufferize | filecheck %s
// RUN: noma-opt %s -p 'noma-bufferize{fuse-elementwise=false}' | filecheck %s --check-prefix=COPY
// Slices, rows, transposes and permutations whose consumers only read them
// are strided views of their source's buffer (a `memref.reinterpret_cast`,
// no copy loop); views of views are casts of the one base buffer.

func.func @rows(%X: tensor<4x3xf64>, %start: f64, %count: f64) -> f64 {
  %r = noma.rows %X[%start, %count] : tensor<4x3xf64> -> tensor<2x3xf64>
  %s = noma.sum %r : tensor<2x3xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @rows
// CHECK-SAME:      (%[[X:.*]]: memref<4x3xf64>
// CHECK-NOT:     memref.alloc(
// CHECK:         %[[OFFSET:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:         %[[VIEW:.*]] = memref.reinterpret_cast %[[X]] to offset: [%[[OFFSET]]], sizes: [2, 3], strides: [3, 1] : memref<4x3xf64> to memref<2x3xf64, strided<[3, 1], offset: ?>>
// CHECK-NOT:     memref.alloc(
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             memref.load %[[VIEW]]
// CHECK-NOT:     memref.store
// CHECK:         func.return

// COPY-LABEL: func.func @rows
// COPY-NOT:     memref.reinterpret_cast %{{.*}} strided
// COPY:         memref.alloc() : memref<2x3xf64>
// COPY:         memref.store

func.func @column(%X: tensor<?x3xf64>, %j: f64) -> tensor<?xf64> {
  %t = noma.transpose %X : tensor<?x3xf64> -> tensor<3x?xf64>
  %c = noma.index %t, %j : tensor<3x?xf64>, f64 -> tensor<?xf64>
  %one = arith.constant 1.0 : f64
  %y = noma.add %c, %one : tensor<?xf64>, f64 -> tensor<?xf64>
  func.return %y : tensor<?xf64>
}
// A column is a row of the transpose: a view with the row stride.
// CHECK-LABEL: func.func @column
// CHECK-SAME:      (%[[X:.*]]: memref<?x3xf64>
// CHECK:         %[[T:.*]] = memref.reinterpret_cast %[[X]] to offset: [0], sizes: [3, %{{.*}}], strides: [1, 3] : memref<?x3xf64> to memref<3x?xf64, strided<[1, 3]>>
// CHECK:         %[[C:.*]] = memref.reinterpret_cast %[[X]] to offset: [%{{.*}}], sizes: [%{{.*}}], strides: [3] : memref<?x3xf64> to memref<?xf64, strided<[3], offset: ?>>
// CHECK:         %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK-NOT:     memref.alloc(
// CHECK:         scf.for
// CHECK:           memref.load %[[C]]
// CHECK:           arith.addf
// CHECK:           memref.store %{{.*}}, %[[Y]]
// CHECK:         func.return %[[Y]]

func.func @permute(%X: tensor<2x3x4xf64>) -> f64 {
  %p = noma.permute %X [2 : i64, 0 : i64, 1 : i64] : tensor<2x3x4xf64> -> tensor<4x2x3xf64>
  %s = noma.sum %p : tensor<4x2x3xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @permute
// CHECK:         memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [4, 2, 3], strides: [1, 12, 4] : memref<2x3x4xf64> to memref<4x2x3xf64, strided<[1, 12, 4]>>
// CHECK-NOT:     memref.alloc(
// CHECK:         func.return

func.func @returned(%X: tensor<4x3xf64>) -> tensor<3x4xf64> {
  %t = noma.transpose %X : tensor<4x3xf64> -> tensor<3x4xf64>
  func.return %t : tensor<3x4xf64>
}
// A value handed on needs the identity layout: copied.
// CHECK-LABEL: func.func @returned
// CHECK-NOT:     memref.reinterpret_cast
// CHECK:         %[[T:.*]] = memref.alloc() : memref<3x4xf64>
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             memref.store %{{.*}}, %[[T]]
// CHECK:         func.return %[[T]]

func.func @reshaped(%X: tensor<4x3xf64>) -> f64 {
  %t = noma.transpose %X : tensor<4x3xf64> -> tensor<3x4xf64>
  %twelve = arith.constant 12.0 : f64
  %r = noma.reshape %t[%twelve] : tensor<3x4xf64> -> tensor<12xf64>
  %s = noma.sum %r : tensor<12xf64> -> f64
  func.return %s : f64
}
// A reshape sees its source as contiguous: the transpose is copied first.
// CHECK-LABEL: func.func @reshaped
// CHECK:         %[[T:.*]] = memref.alloc() : memref<3x4xf64>
// CHECK:         memref.reinterpret_cast %[[T]] to offset: [0], sizes: [12], strides: [1]

func.func @update(%init: tensor<3x3xf64>) {
  %W = noma.learn "W" %init : tensor<3x3xf64> -> !noma.param<tensor<3x3xf64>>
  %w = noma.read %W : !noma.param<tensor<3x3xf64>> -> tensor<3x3xf64>
  %t = noma.transpose %w : tensor<3x3xf64> -> tensor<3x3xf64>
  %u = noma.sub %w, %t : tensor<3x3xf64>, tensor<3x3xf64> -> tensor<3x3xf64>
  noma.write %u, %W : tensor<3x3xf64>, !noma.param<tensor<3x3xf64>>
  func.return
}
// The update reads the storage through a transposed view: it must not be
// computed straight into the storage (element (0, 1) would read (1, 0)
// already overwritten), so it goes to a temporary copied in after.
// CHECK-LABEL: func.func @update
// CHECK:         %[[VALUE:.*]] = memref.alloc() : memref<3x3xf64>
// CHECK:         %[[T:.*]] = memref.reinterpret_cast %[[VALUE]] to offset: [0], sizes: [3, 3], strides: [1, 3]
// CHECK:         %[[NEW:.*]] = memref.alloc() : memref<3x3xf64>
// CHECK:         scf.for
// CHECK:           memref.load %[[T]]
// CHECK:           arith.subf
// CHECK:           memref.store %{{.*}}, %[[NEW]]
// CHECK:         "memref.copy"(%[[NEW]], %[[VALUE]])

func.func @view_outlives_write(%init: tensor<3x3xf64>, %g: tensor<3x3xf64>) -> f64 {
  %W = noma.learn "W" %init : tensor<3x3xf64> -> !noma.param<tensor<3x3xf64>>
  %w = noma.read %W : !noma.param<tensor<3x3xf64>> -> tensor<3x3xf64>
  %one = arith.constant 1.0 : f64
  %r = noma.rows %w[%one, %one] : tensor<3x3xf64> -> tensor<1x3xf64>
  noma.write %g, %W : tensor<3x3xf64>, !noma.param<tensor<3x3xf64>>
  %s = noma.sum %r : tensor<1x3xf64> -> f64
  func.return %s : f64
}
// The row is used after the parameter is written: the read is a snapshot
// (copy) and the row a view of the snapshot, not of the storage.
// CHECK-LABEL: func.func @view_outlives_write
// CHECK:         %[[VALUE:.*]] = memref.alloc() : memref<3x3xf64>
// CHECK:         "memref.copy"(%[[VALUE]], %[[SNAPSHOT:[^)]*]])
// CHECK:         memref.reinterpret_cast %[[SNAPSHOT]] to offset: [%{{.*}}], sizes: [1, 3], strides: [3, 1]
