// RUN: noma-opt %s -p noma-expand-math | filecheck %s
// By default only the functions in a loop over elements (innermost loop an
// scf.for) are expanded: that is where LLVM can vectorise. A scalar exp in
// straight-line code or in a while loop keeps libm's correctly rounded result.

func.func @elements(%a: memref<?xf64>, %b: memref<?xf64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %x = memref.load %a[%i] : memref<?xf64>
    %y = math.exp %x : f64
    memref.store %y, %b[%i] : memref<?xf64>
  }
  func.return
}
// CHECK-LABEL: func.func @elements
// CHECK:         scf.for
// CHECK:           memref.load
// CHECK-NOT:       math.exp
// CHECK:           arith.constant 0x4338000000000000 : f64
// CHECK:           memref.store

func.func @scalar(%x: f64) -> f64 {
  %y = math.exp %x : f64
  func.return %y : f64
}
// CHECK-LABEL: func.func @scalar
// CHECK-NEXT:    math.exp %x : f64

func.func @in_while(%x: f64, %a: memref<?xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.while (%v = %x) : (f64) -> f64 {
    %limit = arith.constant 1.0e+03 : f64
    %go = arith.cmpf olt, %v, %limit : f64
    scf.condition(%go) %v : f64
  } do {
  ^bb0(%w: f64):
    // A scalar step of a while loop: kept.
    %e = math.exp %w : f64
    // A loop over elements inside the while loop: expanded.
    scf.for %i = %c0 to %n step %c1 {
      %t = memref.load %a[%i] : memref<?xf64>
      %l = math.log %t : f64
      memref.store %l, %a[%i] : memref<?xf64>
    }
    scf.yield %e : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @in_while
// CHECK:         scf.while
// CHECK:           math.exp %w : f64
// CHECK:           scf.for
// CHECK-NOT:         math.log
// CHECK:             arith.cmpf uno
// CHECK:             memref.store
