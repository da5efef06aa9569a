// RUN: noma-opt %s --split-input-file --verify-diagnostics
// The verifiers of noma.rows, noma.rows_adjoint and noma.epoch_end.

func.func @other_trailing_dimension(%x: tensor<6x2xf64>, %s: f64) {
  // expected-error@+1 {{a block of rows of a [6, 2] tensor keeps its rank and trailing dimensions, got [?, 3]}}
  %b = noma.rows %x [%s, %s] : tensor<6x2xf64> -> tensor<?x3xf64>
  func.return
}

// -----

func.func @too_many_rows(%x: tensor<6x2xf64>, %s: f64) {
  // expected-error@+1 {{a block of 7 rows of a tensor of 6 rows}}
  %b = noma.rows %x [%s, %s] : tensor<6x2xf64> -> tensor<7x2xf64>
  func.return
}

// -----

func.func @other_rank(%x: tensor<6x2xf64>, %s: f64) {
  // expected-error@+1 {{a block of rows of a [6, 2] tensor keeps its rank and trailing dimensions, got [?]}}
  %b = noma.rows %x [%s, %s] : tensor<6x2xf64> -> tensor<?xf64>
  func.return
}

// -----

func.func @adjoint_type(%g: tensor<?x2xf64>, %x: tensor<6x2xf64>, %s: f64) {
  // expected-error@+1 {{the result has the type of `like`}}
  %d = "noma.rows_adjoint"(%g, %s, %x) : (tensor<?x2xf64>, f64, tensor<6x2xf64>) -> tensor<?x2xf64>
  func.return
}

// -----

func.func @epoch_end_outside_optimize(%x: f64) {
  // expected-error@+1 {{'noma.epoch_end' expects parent op 'noma.optimize'}}
  noma.epoch_end %x : f64
  func.return
}

// -----

func.func @two_epoch_ends(%lr: f64, %x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w : f64
    // expected-error@+1 {{an optimize body has at most one 'noma.epoch_end', found 2}}
    noma.epoch_end %w : f64
    noma.epoch_end %w : f64
    noma.until %w
  }
  func.return
}
