// RUN: noma-opt %s | noma-opt | filecheck %s
// noma.where and noma.reshape print in their custom form and parse back to
// the same IR.

func.func @where(%c: tensor<2x3xf64>, %a: tensor<3xf64>, %b: f64) -> tensor<2x3xf64> {
  // CHECK: noma.where %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3xf64>, tensor<3xf64>, f64 -> tensor<2x3xf64>
  %w = noma.where %c, %a, %b : tensor<2x3xf64>, tensor<3xf64>, f64 -> tensor<2x3xf64>
  func.return %w : tensor<2x3xf64>
}

func.func @where_scalars(%c: f64, %a: f64, %b: f64) -> f64 {
  // CHECK: noma.where %{{.*}}, %{{.*}}, %{{.*}} : f64, f64, f64 -> f64
  %w = noma.where %c, %a, %b : f64, f64, f64 -> f64
  func.return %w : f64
}

func.func @reshape(%x: tensor<2x3xf64>, %y: tensor<?x2xf64>, %d0: f64, %d1: f64) -> tensor<?xf64> {
  // CHECK: noma.reshape %{{.*}}[%[[D0:.*]], %[[D1:.*]]] : tensor<2x3xf64> -> tensor<3x2xf64>
  %r = noma.reshape %x [%d0, %d1] : tensor<2x3xf64> -> tensor<3x2xf64>
  // CHECK-NEXT: noma.reshape %{{.*}}[%[[D0]]] : tensor<?x2xf64> -> tensor<?xf64>
  %f = noma.reshape %y [%d0] : tensor<?x2xf64> -> tensor<?xf64>
  func.return %f : tensor<?xf64>
}

func.func @concat(%a: tensor<2x1xf64>, %b: tensor<2x3xf64>, %c: tensor<?x3xf64>) -> tensor<?x3xf64> {
  // CHECK: noma.concat %{{.*}}, %{{.*}} axis 1 : tensor<2x1xf64>, tensor<2x3xf64> -> tensor<2x4xf64>
  %j = noma.concat %a, %b axis 1 : tensor<2x1xf64>, tensor<2x3xf64> -> tensor<2x4xf64>
  // CHECK-NEXT: noma.concat %{{.*}}, %{{.*}} axis 0 : tensor<2x3xf64>, tensor<?x3xf64> -> tensor<?x3xf64>
  %r = noma.concat %b, %c axis 0 : tensor<2x3xf64>, tensor<?x3xf64> -> tensor<?x3xf64>
  func.return %r : tensor<?x3xf64>
}

func.func @permute(%x: tensor<2x3x?xf64>) -> tensor<?x2x3xf64> {
  // CHECK: noma.permute %{{.*}} [2 : i64, 0 : i64, 1 : i64] : tensor<2x3x?xf64> -> tensor<?x2x3xf64>
  %p = noma.permute %x [2 : i64, 0 : i64, 1 : i64] : tensor<2x3x?xf64> -> tensor<?x2x3xf64>
  func.return %p : tensor<?x2x3xf64>
}
