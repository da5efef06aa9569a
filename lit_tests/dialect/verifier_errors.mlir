// RUN: noma-opt %s --split-input-file --verify-diagnostics
// Verifiers name what is wrong.

func.func @bad_predicate(%x: f64) {
  // expected-error@+1 {{unknown comparison predicate 'less', expected one of lt, le, gt, ge, eq, ne}}
  %0 = noma.cmp "less", %x, %x : f64, f64 -> f64
  func.return
}

// -----

func.func @bad_optimizer(%x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  // expected-error@+1 {{unknown optimizer 'lbfgs', expected one of sgd, adam, rmsprop}}
  %r = noma.optimize "lbfgs" (%W : !noma.param<f64>) lr(%x) beta1(%x) beta2(%x) eps(%x) max_iterations(%x) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w : f64
    noma.until %w exports(%w : f64)
  } -> f64
  func.return
}

// -----

func.func @two_minimize(%x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  // expected-error@+1 {{the body of an optimize loop needs exactly one 'noma.minimize', found 2}}
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%x) beta1(%x) beta2(%x) eps(%x) max_iterations(%x) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w : f64
    noma.minimize %w : f64
    noma.until %w
  }
  func.return
}

// -----

func.func @gradient_count(%x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%x) beta1(%x) beta2(%x) eps(%x) max_iterations(%x) {
    %w = noma.read %W : !noma.param<f64> -> f64
    // expected-error@+1 {{'noma.minimize' needs one gradient per parameter, got 0 for 1}}
    noma.minimize %w wrt(%W : !noma.param<f64>) : f64
    noma.until %w
  }
  func.return
}

// -----

func.func @bad_slot(%x: f64) {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  // expected-error@+1 {{unknown optimizer state slot 'q', expected one of m, v, t}}
  %m = noma.state_read %W "q" : !noma.param<f64> -> f64
  func.return
}

// -----

func.func @minimize_outside(%x: f64) {
  // expected-error@+1 {{'noma.minimize' expects ancestor op 'noma.optimize'}}
  noma.minimize %x : f64
  func.return
}

// -----

func.func @realloc_rank(%x: f64) {
  %B = noma.alloc [%x, %x] : !noma.buffer<tensor<?x?xf64>>
  // expected-error@+1 {{'noma.realloc' keeps the rank: a tensor<?x?xf64> needs 2 dimensions, got 1}}
  noma.realloc %B [%x] init "default" : !noma.buffer<tensor<?x?xf64>>
  func.return
}

// -----

func.func @realloc_static(%x: f64, %t: tensor<2xf64>) {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<2xf64>>
  // expected-error@+1 {{'noma.realloc' needs storage of dynamic shape, not !noma.param<tensor<2xf64>>}}
  noma.realloc %W [%x] init "zeros" : !noma.param<tensor<2xf64>>
  func.return
}

// -----

func.func @realloc_buffer_policy(%x: f64) {
  %B = noma.alloc [%x] : !noma.buffer<tensor<?xf64>>
  // expected-error@+1 {{a buffer's new elements are zero; it takes no init policy}}
  noma.realloc %B [%x] init "zeros" : !noma.buffer<tensor<?xf64>>
  func.return
}

// -----

func.func @resize_static(%t: tensor<2xf64>) {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<2xf64>>
  // expected-error@+1 {{'noma.write' with `resize` needs storage of dynamic shape}}
  noma.write %t, %W resize : tensor<2xf64>, !noma.param<tensor<2xf64>>
  func.return
}

// -----

func.func @random_distribution(%x: f64) {
  // expected-error@+1 {{unknown distribution 'cauchy', expected one of uniform, normal}}
  %r = noma.random "cauchy" [%x] (%x, %x) : tensor<?xf64>
  func.return
}

// -----

func.func @fill_rank(%x: f64) {
  // expected-error@+1 {{'noma.fill' of a rank-2 tensor needs 2 dimensions, got 1}}
  %r = noma.fill [%x] %x : tensor<?x?xf64>
  func.return
}

// -----

func.func @alloc_rank(%x: f64) {
  // expected-error@+1 {{'noma.alloc' of a rank-2 buffer needs 2 dimensions, got 1}}
  %B = noma.alloc [%x] : !noma.buffer<tensor<?x?xf64>>
  func.return
}

// -----

func.func @param_type() {
  %t = noma.tape_new : !noma.tape
  %x = noma.tape_pop %t : f64
  // expected-error@+1 {{a parameter's value must be f64 or a tensor of f64, got i32}}
  %W = noma.learn "W" %x : f64 -> !noma.param<i32>
  func.return
}

// -----

func.func @load_csv_rank() {
  // expected-error@+1 {{'noma.load_csv' gives a 2-D tensor}}
  %X = noma.load_csv "x.csv" : tensor<?x?x?xf64>
  func.return
}

// -----

func.func @load_static() {
  // expected-error@+1 {{'noma.load_safetensors' gives a tensor with dynamic dimensions, got tensor<2x3xf64>}}
  %W = noma.load_safetensors "w.safetensors" "W" : tensor<2x3xf64>
  func.return
}

// -----

func.func @save_names(%x: f64) {
  // expected-error@+1 {{'noma.save_safetensors' names 'a' twice}}
  noma.save_safetensors "w.safetensors" ["a", "a"](%x, %x : f64, f64)
  func.return
}
