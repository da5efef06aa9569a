// RUN: noma-opt %s --split-input-file --verify-diagnostics
// The verifiers of the ops along an axis name what is wrong.

func.func @axis_out_of_range(%x: tensor<3x4xf64>) {
  // expected-error@+1 {{axis 2 of a rank-2 tensor}}
  %0 = noma.sum_axis %x 2 : tensor<3x4xf64> -> tensor<3xf64>
  func.return
}

// -----

func.func @wrong_reduced_shape(%x: tensor<3x4xf64>) {
  // expected-error@+1 {{reducing a [3, 4] tensor along axis 1 gives tensor<3x1xf64> or tensor<3xf64>, not tensor<4xf64>}}
  %0 = noma.max_axis %x 1 : tensor<3x4xf64> -> tensor<4xf64>
  func.return
}

// -----

func.func @softmax_keeps_the_type(%x: tensor<3x4xf64>) {
  // expected-error@+1 {{the result has the type of the source, tensor<3x4xf64>}}
  %0 = noma.softmax %x 1 : tensor<3x4xf64> -> tensor<?x4xf64>
  func.return
}

// -----

func.func @one_hot_of_a_matrix(%x: tensor<3x4xf64>, %k: f64) {
  // expected-error@+1 {{one_hot needs 1-D labels, got [3, 4]}}
  %0 = noma.one_hot %x, %k : tensor<3x4xf64>, f64 -> tensor<3x4xf64>
  func.return
}

// -----

func.func @broadcast_axis_of_a_wrong_shape(%g: tensor<4xf64>, %x: tensor<3x4xf64>) {
  // expected-error@+1 {{a [4] tensor is not a reduction of a [3, 4] tensor along axis 1}}
  %0 = noma.broadcast_axis %g, %x 1 : tensor<4xf64>, tensor<3x4xf64> -> tensor<3x4xf64>
  func.return
}
