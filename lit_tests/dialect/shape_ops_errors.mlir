// RUN: noma-opt %s --split-input-file --verify-diagnostics
// The verifiers of noma.where and noma.reshape.

func.func @where_shapes(%c: tensor<2xf64>, %a: tensor<3xf64>, %b: f64) {
  // expected-error@+1 {{operand types}}
  %w = noma.where %c, %a, %b : tensor<2xf64>, tensor<3xf64>, f64 -> tensor<3xf64>
  func.return
}

// -----

func.func @where_result(%c: f64, %a: tensor<3xf64>, %b: f64) {
  // expected-error@+1 {{does not match the broadcast of its operands}}
  %w = noma.where %c, %a, %b : f64, tensor<3xf64>, f64 -> tensor<2xf64>
  func.return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf64>, %d: f64) {
  // expected-error@+1 {{cannot reshape [2, 3] (6 elements) to [4] (4 elements)}}
  %r = noma.reshape %x [%d] : tensor<2x3xf64> -> tensor<4xf64>
  func.return
}

// -----

func.func @reshape_rank(%x: tensor<2x3xf64>, %d: f64) {
  // expected-error@+1 {{a reshape to rank 2 needs 2 dimensions, got 1}}
  %r = noma.reshape %x [%d] : tensor<2x3xf64> -> tensor<3x2xf64>
  func.return
}

// -----

func.func @concat_extents(%a: tensor<2x1xf64>, %b: tensor<3x3xf64>) {
  // expected-error@+1 {{concat along axis 1 of [2, 1], [3, 3]: their extents along axis 0 differ}}
  %j = noma.concat %a, %b axis 1 : tensor<2x1xf64>, tensor<3x3xf64> -> tensor<2x4xf64>
  func.return
}

// -----

func.func @concat_result(%a: tensor<2x1xf64>, %b: tensor<2x3xf64>) {
  // expected-error@+1 {{concat gives a tensor<2x4xf64>, not a tensor<2x5xf64>}}
  %j = noma.concat %a, %b axis 1 : tensor<2x1xf64>, tensor<2x3xf64> -> tensor<2x5xf64>
  func.return
}

// -----

func.func @permute_axes(%x: tensor<2x3x4xf64>) {
  // expected-error@+1 {{[0, 0, 1] is not a permutation of the 3 axes of a [2, 3, 4] tensor}}
  %p = noma.permute %x [0 : i64, 0 : i64, 1 : i64] : tensor<2x3x4xf64> -> tensor<2x2x3xf64>
  func.return
}

// -----

func.func @permute_result(%x: tensor<2x3x4xf64>) {
  // expected-error@+1 {{this permutation gives a tensor<4x2x3xf64>, not a tensor<2x3x4xf64>}}
  %p = noma.permute %x [2 : i64, 0 : i64, 1 : i64] : tensor<2x3x4xf64> -> tensor<2x3x4xf64>
  func.return
}
