// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// noma.where is one elementwise loop around an arith.select (broadcasting
// its operands); a reshape to a static shape is a view of its source
// (reinterpret_cast, nothing allocated or copied); to a dynamic shape it
// checks the element counts and copies.

func.func @where(%c: tensor<2x3xf64>, %a: tensor<3xf64>, %b: f64) -> tensor<2x3xf64> {
  %w = noma.where %c, %a, %b : tensor<2x3xf64>, tensor<3xf64>, f64 -> tensor<2x3xf64>
  func.return %w : tensor<2x3xf64>
}
// CHECK-LABEL: func.func @where(
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        %[[C:.*]] = memref.load %{{.*}}[%[[I]], %[[J]]] : memref<2x3xf64>
// CHECK-NEXT:        %[[A:.*]] = memref.load %{{.*}}[%[[J]]] : memref<3xf64>
// CHECK:             %[[TAKEN:.*]] = arith.cmpf une, %[[C]], %{{.*}} : f64
// CHECK-NEXT:        %[[V:.*]] = arith.select %[[TAKEN]], %[[A]], %{{.*}} : f64
// CHECK-NEXT:        memref.store %[[V]], %{{.*}}[%[[I]], %[[J]]] : memref<2x3xf64>

func.func @where_scalars(%c: f64, %a: f64, %b: f64) -> f64 {
  %w = noma.where %c, %a, %b : f64, f64, f64 -> f64
  func.return %w : f64
}
// CHECK-LABEL: func.func @where_scalars(
// CHECK:         %[[T:.*]] = arith.cmpf une, %{{.*}}, %{{.*}} : f64
// CHECK-NEXT:    %{{.*}} = arith.select %[[T]], %{{.*}}, %{{.*}} : f64
// CHECK-NOT:     noma.where

func.func @reshape_view(%x: tensor<2x3xf64>, %d0: f64, %d1: f64) -> f64 {
  %r = noma.reshape %x [%d0, %d1] : tensor<2x3xf64> -> tensor<3x2xf64>
  %s = noma.sum %r : tensor<3x2xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @reshape_view(
// CHECK-NOT:     memref.alloc
// CHECK:         memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [3, 2], strides: [2, 1] : memref<2x3xf64> to memref<3x2xf64>
// CHECK-NOT:     memref.alloc
// CHECK:         func.return

func.func @reshape_copy(%y: tensor<?x2xf64>, %d0: f64) -> tensor<?xf64> {
  %f = noma.reshape %y [%d0] : tensor<?x2xf64> -> tensor<?xf64>
  func.return %f : tensor<?xf64>
}
// CHECK-LABEL: func.func @reshape_copy(
// CHECK:         func.call @noma_check_dims
// CHECK:         %[[SAME:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:         scf.if %{{.*}} {
// CHECK:           func.call @noma_runtime_error
// CHECK:         %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK:         scf.for
// CHECK:           memref.load
// CHECK-NEXT:      memref.store

func.func @concat(%a: tensor<2x1xf64>, %b: tensor<?x3xf64>) -> tensor<2x4xf64> {
  %j = noma.concat %a, %b axis 1 : tensor<2x1xf64>, tensor<?x3xf64> -> tensor<2x4xf64>
  func.return %j : tensor<2x4xf64>
}
// CHECK-LABEL: func.func @concat(
// CHECK-SAME:    %[[A:[^:]*]]: memref<2x1xf64>, %[[B:[^:]*]]: memref<?x3xf64>)
// CHECK:         %[[ROWS:.*]] = memref.dim %[[B]], %{{.*}} : memref<?x3xf64>
// CHECK:         arith.cmpi eq, %[[ROWS]], %{{.*}} : index
// CHECK:         func.call @noma_runtime_error
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<2x4xf64>
// CHECK:         memref.load %[[A]]
// CHECK:         memref.store %{{.*}}, %[[OUT]]
// CHECK:         %[[I:.*]] = memref.load %[[B]]
// CHECK-NEXT:    %[[COLUMN:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    memref.store %[[I]], %[[OUT]][%{{.*}}, %[[COLUMN]]] : memref<2x4xf64>

func.func @permute(%x: tensor<2x3x4xf64>) -> tensor<4x2x3xf64> {
  %p = noma.permute %x [2 : i64, 0 : i64, 1 : i64] : tensor<2x3x4xf64> -> tensor<4x2x3xf64>
  func.return %p : tensor<4x2x3xf64>
}
// CHECK-LABEL: func.func @permute(
// CHECK-SAME:    %[[X:[^:]*]]: memref<2x3x4xf64>) -> memref<4x2x3xf64>
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<4x2x3xf64>
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:          %[[E:.*]] = memref.load %[[X]][%[[I]], %[[J]], %[[K]]] : memref<2x3x4xf64>
// CHECK-NEXT:          memref.store %[[E]], %[[OUT]][%[[K]], %[[I]], %[[J]]] : memref<4x2x3xf64>
