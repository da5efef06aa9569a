// RUN: noma-opt %s -p noma-inline-calls | filecheck %s
// RUN: noma-opt %s -p 'noma-inline-calls{max-ops=3}' | filecheck %s --check-prefix=SMALL
// Calls of the module's own functions become their bodies: the callee's
// temporaries become the caller's (hoistable out of its loop), its stack
// cells move to the caller's entry; recursive functions stay calls, and a
// user function nothing calls any more goes (an entry point stays).

func.func @fn.square(%x: memref<4xf64>) -> memref<4xf64> {
  %cell = memref.alloca() : memref<1xf64>
  %t = memref.alloc() : memref<4xf64>
  "test.op"(%x, %t, %cell) : (memref<4xf64>, memref<4xf64>, memref<1xf64>) -> ()
  func.return %t : memref<4xf64>
}

func.func @fn.countdown(%n: index) -> index {
  %r = func.call @fn.countdown(%n) : (index) -> index
  func.return %r : index
}

func.func @keep.me(%x: memref<4xf64>) -> memref<4xf64> {
  func.return %x : memref<4xf64>
}

func.func @fn.main(%a: memref<4xf64>, %n: index) -> index attributes {noma.entry} {
  %lo = arith.constant 0 : index
  %one = arith.constant 1 : index
  scf.for %i = %lo to %n step %one {
    %s = func.call @fn.square(%a) : (memref<4xf64>) -> memref<4xf64>
    "test.op"(%s) : (memref<4xf64>) -> ()
    memref.dealloc %s : memref<4xf64>
  }
  %r = func.call @fn.countdown(%n) : (index) -> index
  func.return %r : index
}

// CHECK-NOT:   func.func @fn.square
// CHECK:       func.func @fn.countdown
// CHECK:         func.call @fn.countdown
// CHECK:       func.func @keep.me
// CHECK:       func.func @fn.main
// CHECK-NEXT:    %{{.*}} = memref.alloca() : memref<1xf64>
// CHECK:         scf.for
// CHECK-NEXT:      %[[T:.*]] = memref.alloc() : memref<4xf64>
// CHECK-NEXT:      "test.op"(%a, %[[T]], %{{.*}})
// CHECK-NEXT:      "test.op"(%[[T]])
// CHECK-NEXT:      memref.dealloc %[[T]]
// CHECK-NOT:     func.call @fn.square
// CHECK:         func.call @fn.countdown

// SMALL:       func.func @fn.square
// SMALL:       func.call @fn.square
