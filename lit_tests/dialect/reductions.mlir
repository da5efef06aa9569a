// RUN: noma-opt %s | noma-opt | filecheck %s
// Reductions along an axis, the softmax family, arg-extrema, masks,
// one-hot and broadcast_axis print in their custom form and parse back.

func.func @reductions(%x: tensor<3x4xf64>, %v: tensor<?xf64>, %d: tensor<?x4xf64>) -> tensor<3x4xf64> {
  // CHECK: noma.sum_axis %{{.*}} 1 : tensor<3x4xf64> -> tensor<3xf64>
  %s = noma.sum_axis %x 1 : tensor<3x4xf64> -> tensor<3xf64>
  // CHECK-NEXT: noma.mean_axis %{{.*}} 0 : tensor<3x4xf64> -> tensor<1x4xf64>
  %m = noma.mean_axis %x 0 : tensor<3x4xf64> -> tensor<1x4xf64>
  // CHECK-NEXT: noma.max_axis %{{.*}} 1 : tensor<3x4xf64> -> tensor<3x1xf64>
  %mx = noma.max_axis %x 1 : tensor<3x4xf64> -> tensor<3x1xf64>
  // CHECK-NEXT: noma.min_axis %{{.*}} 0 : tensor<?xf64> -> f64
  %mn = noma.min_axis %v 0 : tensor<?xf64> -> f64
  // CHECK-NEXT: noma.logsumexp %{{.*}} 1 : tensor<?x4xf64> -> tensor<?xf64>
  %l = noma.logsumexp %d 1 : tensor<?x4xf64> -> tensor<?xf64>
  // CHECK-NEXT: noma.softmax %{{.*}} 1 : tensor<3x4xf64> -> tensor<3x4xf64>
  %p = noma.softmax %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
  // CHECK-NEXT: noma.log_softmax %{{.*}} 0 : tensor<?x4xf64> -> tensor<?x4xf64>
  %lp = noma.log_softmax %d 0 : tensor<?x4xf64> -> tensor<?x4xf64>
  // CHECK-NEXT: noma.argmax %{{.*}} 1 : tensor<3x4xf64> -> tensor<3xf64>
  %am = noma.argmax %x 1 : tensor<3x4xf64> -> tensor<3xf64>
  // CHECK-NEXT: noma.argmin %{{.*}} 0 : tensor<3x4xf64> -> tensor<1x4xf64>
  %an = noma.argmin %x 0 : tensor<3x4xf64> -> tensor<1x4xf64>
  // CHECK-NEXT: noma.max_mask %{{.*}} 1 : tensor<3x4xf64> -> tensor<3x4xf64>
  %kx = noma.max_mask %x 1 : tensor<3x4xf64> -> tensor<3x4xf64>
  // CHECK-NEXT: noma.min_mask %{{.*}} 0 : tensor<3x4xf64> -> tensor<3x4xf64>
  %kn = noma.min_mask %x 0 : tensor<3x4xf64> -> tensor<3x4xf64>
  // CHECK-NEXT: noma.one_hot %{{.*}}, %{{.*}} : tensor<?xf64>, f64 -> tensor<?x10xf64>
  %h = noma.one_hot %v, %mn : tensor<?xf64>, f64 -> tensor<?x10xf64>
  // CHECK-NEXT: noma.broadcast_axis %{{.*}}, %{{.*}} 1 : tensor<3xf64>, tensor<3x4xf64> -> tensor<3x4xf64>
  %b = noma.broadcast_axis %s, %x 1 : tensor<3xf64>, tensor<3x4xf64> -> tensor<3x4xf64>
  // CHECK-NEXT: noma.broadcast_axis %{{.*}}, %{{.*}} 0 : tensor<1x4xf64>, tensor<3x4xf64> -> tensor<3x4xf64>
  %b2 = noma.broadcast_axis %m, %x 0 : tensor<1x4xf64>, tensor<3x4xf64> -> tensor<3x4xf64>
  // CHECK-NEXT: noma.broadcast_axis %{{.*}}, %{{.*}} 0 : f64, tensor<?xf64> -> tensor<?xf64>
  %b3 = noma.broadcast_axis %mn, %v 0 : f64, tensor<?xf64> -> tensor<?xf64>
  func.return %b : tensor<3x4xf64>
}
