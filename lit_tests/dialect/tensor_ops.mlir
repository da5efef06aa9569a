// RUN: noma-opt %s | noma-opt | filecheck %s
// The tensor ops and the elementwise ops the other round-trip files leave
// out print in a custom form that parses back to the same IR.

// CHECK-LABEL: func.func @tensor_ops
func.func @tensor_ops(%x: f64, %i: f64, %v: tensor<3xf64>, %m: tensor<3x2xf64>, %a: tensor<4x2xf64>, %b: tensor<2x16xf64>) -> f64 {
  // CHECK: %[[T:.*]] = noma.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2xf64>
  %t = noma.from_elements %x, %x, %x, %x : tensor<2x2xf64>
  // CHECK: %[[ROW:.*]] = noma.index %{{.*}}, %{{.*}} : tensor<3x2xf64>, f64 -> tensor<2xf64>
  %row = noma.index %m, %i : tensor<3x2xf64>, f64 -> tensor<2xf64>
  // CHECK: noma.index_adjoint %[[ROW]], %{{.*}}, %{{.*}} : tensor<2xf64>, f64, tensor<3x2xf64> -> tensor<3x2xf64>
  %scattered = noma.index_adjoint %row, %i, %m : tensor<2xf64>, f64, tensor<3x2xf64> -> tensor<3x2xf64>
  // CHECK: noma.sum %{{.*}} : tensor<3x2xf64> -> f64
  %s = noma.sum %scattered : tensor<3x2xf64> -> f64
  // CHECK: noma.mean %{{.*}} : tensor<3x2xf64> -> f64
  %mean = noma.mean %m : tensor<3x2xf64> -> f64
  // CHECK: %[[DYN:.*]] = noma.cast %{{.*}} : tensor<3xf64> -> tensor<?xf64>
  %dyn = noma.cast %v : tensor<3xf64> -> tensor<?xf64>
  // CHECK: noma.numel %[[DYN]] : tensor<?xf64> -> f64
  %n = noma.numel %dyn : tensor<?xf64> -> f64
  // CHECK: noma.dot %{{.*}}, %{{.*}} : tensor<3xf64>, tensor<3xf64> -> f64
  %d = noma.dot %v, %v : tensor<3xf64>, tensor<3xf64> -> f64
  // CHECK: noma.matmul %{{.*}}, %{{.*}} : tensor<4x2xf64>, tensor<2x16xf64> -> tensor<4x16xf64>
  %c = noma.matmul %a, %b : tensor<4x2xf64>, tensor<2x16xf64> -> tensor<4x16xf64>
  // CHECK: noma.transpose %{{.*}} : tensor<4x2xf64> -> tensor<2x4xf64>
  %at = noma.transpose %a : tensor<4x2xf64> -> tensor<2x4xf64>
  // CHECK: %[[B:.*]] = noma.broadcast_to %{{.*}}, %{{.*}} : f64, tensor<3x2xf64> -> tensor<3x2xf64>
  %bx = noma.broadcast_to %x, %m : f64, tensor<3x2xf64> -> tensor<3x2xf64>
  // CHECK: noma.reduce_to %[[B]], %[[ROW]] : tensor<3x2xf64>, tensor<2xf64> -> tensor<2xf64>
  %red = noma.reduce_to %bx, %row : tensor<3x2xf64>, tensor<2xf64> -> tensor<2xf64>
  func.return %s : f64
}

// CHECK-LABEL: func.func @more_elementwise
func.func @more_elementwise(%x: f64, %y: f64) -> f64 {
  // CHECK: noma.max %{{.*}}, %{{.*}} : f64, f64 -> f64
  %mx = noma.max %x, %y : f64, f64 -> f64
  // CHECK: noma.min %{{.*}}, %{{.*}} : f64, f64 -> f64
  %mn = noma.min %x, %y : f64, f64 -> f64
  // CHECK: noma.or %{{.*}}, %{{.*}} : f64, f64 -> f64
  %o = noma.or %x, %y : f64, f64 -> f64
  // CHECK: noma.sub %{{.*}}, %{{.*}} : f64, f64 -> f64
  %sb = noma.sub %x, %y : f64, f64 -> f64
  // CHECK: noma.div %{{.*}}, %{{.*}} : f64, f64 -> f64
  %dv = noma.div %x, %y : f64, f64 -> f64
  // CHECK: noma.neg %{{.*}} : f64 -> f64
  %ng = noma.neg %x : f64 -> f64
  // CHECK: noma.abs %{{.*}} : f64 -> f64
  %ab = noma.abs %x : f64 -> f64
  // CHECK: noma.exp %{{.*}} : f64 -> f64
  %e = noma.exp %x : f64 -> f64
  // CHECK: noma.log %{{.*}} : f64 -> f64
  %l = noma.log %x : f64 -> f64
  // CHECK: noma.sqrt %{{.*}} : f64 -> f64
  %sq = noma.sqrt %x : f64 -> f64
  // CHECK: noma.sin %{{.*}} : f64 -> f64
  %si = noma.sin %x : f64 -> f64
  // CHECK: noma.cos %{{.*}} : f64 -> f64
  %co = noma.cos %x : f64 -> f64
  // CHECK: noma.tan %{{.*}} : f64 -> f64
  %ta = noma.tan %x : f64 -> f64
  // CHECK: noma.tanh %{{.*}} : f64 -> f64
  %th = noma.tanh %x : f64 -> f64
  // CHECK: noma.relu %{{.*}} : f64 -> f64
  %re = noma.relu %x : f64 -> f64
  // CHECK: noma.floor %{{.*}} : f64 -> f64
  %fl = noma.floor %x : f64 -> f64
  // CHECK: noma.ceil %{{.*}} : f64 -> f64
  %ce = noma.ceil %x : f64 -> f64
  func.return %mx : f64
}
