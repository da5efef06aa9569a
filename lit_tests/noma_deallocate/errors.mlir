// RUN: noma-opt %s -p noma-deallocate --split-input-file --verify-diagnostics
// A buffer a loop or a terminator takes over cannot be used after it.

func.func private @use(memref<2xf64>) -> ()

func.func @used_after_loop(%n: index) {
  %lo = arith.constant 0 : index
  %one = arith.constant 1 : index
  %init = memref.alloc() : memref<2xf64>
  // expected-error@+1 {{noma-deallocate: a buffer is used after this op takes it over}}
  %r = scf.for %i = %lo to %n step %one iter_args(%h = %init) -> (memref<2xf64>) {
    scf.yield %h : memref<2xf64>
  }
  func.call @use(%init) : (memref<2xf64>) -> ()
  func.call @use(%r) : (memref<2xf64>) -> ()
  func.return
}
