// RUN: not noma-opt %s --split-input-file -p convert-noma-to-loops 2>&1 | filecheck %s
// What cannot be lowered yet is reported at its location, not passed on.

func.func @unlegalized_growth(%n: f64) {
  %B = noma.alloc [%n] : !noma.buffer<tensor<?xf64>>
  noma.realloc %B [%n] init "default" : !noma.buffer<tensor<?xf64>> loc("prog.noma":4:11)
  func.return
}
// CHECK: prog.noma:4:11: error: cannot lower 'noma.realloc' to loops: run `legalize-growth` before lowering to loops
