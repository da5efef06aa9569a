// RUN: noma-opt %s --split-input-file --verify-diagnostics -p convert-noma-to-loops
// What cannot be lowered yet is reported at the op, not passed on: where it
// is in this file, or at its own location when it has one.

func.func @unlegalized_growth(%n: f64) {
  %B = noma.alloc [%n] : !noma.buffer<tensor<?xf64>>
  // expected-error@+1 {{cannot lower 'noma.realloc' to loops: run `legalize-growth` before lowering to loops}}
  noma.realloc %B [%n] init "default" : !noma.buffer<tensor<?xf64>>
  func.return
}

// -----

func.func @unlegalized_parameter_growth(%lr: f64, %n: f64, %t: tensor<2xf64>) {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<?xf64>>
  // expected-error@+1 {{cannot lower 'noma.realloc' to loops: run `legalize-growth` before lowering to loops}}
  noma.realloc %W [%n] init "zeros" : !noma.param<tensor<?xf64>>
  func.return
}
