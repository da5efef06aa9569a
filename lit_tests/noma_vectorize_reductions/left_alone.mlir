// RUN: noma-opt %s --split-input-file -p noma-vectorize-reductions | filecheck %s
// Loops whose order must stay, or that are no reassociable reduction, are
// left exactly as they are.

// A store in the body (softmax writes exp(x - max) while it sums it).
func.func @stores(%buf: memref<?xf64>, %out: memref<?xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    memref.store %x, %out[%k] : memref<?xf64>
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @stores
// CHECK-NOT:     noma.reduction
// CHECK:         func.return

// -----
// A call (unknown effects: the random generator, printing).
func.func @calls(%n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = func.call @draw() : () -> f64
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  }
  func.return %r : f64
}
func.func private @draw() -> f64
// CHECK-LABEL: func.func @calls
// CHECK-NOT:     noma.reduction
// CHECK:         func.return

// -----
// A step other than the constant 1.
func.func @step(%buf: memref<?xf64>, %n: index, %s: index) -> f64 {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %n step %s iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %t = arith.addf %acc, %x : f64
    scf.yield %t : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @step
// CHECK-NOT:     noma.reduction
// CHECK:         func.return

// -----
// The running value used twice (a recurrence), `acc + acc`, a subtraction,
// an integer count, and a carried value that is not folded (argmax keeps
// the index of the best): none is a reduction to reassociate.
func.func @not_reductions(%buf: memref<?xf64>, %n: index) -> (f64, f64, f64, i64, f64, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %half = arith.constant 0.5 : f64
  %i0 = arith.constant 0 : i64
  %a = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %d = arith.mulf %acc, %half : f64
    %s = arith.addf %acc, %x : f64
    %t = arith.addf %s, %d : f64
    scf.yield %t : f64
  }
  %b = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %s = arith.addf %acc, %acc : f64
    scf.yield %s : f64
  }
  %c = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %s = arith.subf %acc, %x : f64
    scf.yield %s : f64
  }
  %d = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %i0) -> (i64) {
    %one = arith.constant 1 : i64
    %s = arith.addi %acc, %one : i64
    scf.yield %s : i64
  }
  %e:2 = scf.for %k = %c0 to %n step %c1 iter_args(%best = %zero, %at = %c0) -> (f64, index) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %gt = arith.cmpf ogt, %x, %best : f64
    %nb = arith.select %gt, %x, %best : f64
    %na = arith.select %gt, %k, %at : index
    scf.yield %nb, %na : f64, index
  }
  func.return %a, %b, %c, %d, %e#0, %e#1 : f64, f64, f64, i64, f64, index
}
// CHECK-LABEL: func.func @not_reductions
// CHECK-NOT:     noma.reduction
// CHECK:         func.return

// -----
// A loop marked `noma.ordered` keeps its order; a static extent shorter
// than one group of lanes has nothing to gain.
func.func @kept(%buf: memref<?xf64>, %n: index) -> (f64, f64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %zero = arith.constant 0.0 : f64
  %a = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  } {noma.ordered}
  %b = scf.for %k = %c0 to %c7 step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  }
  func.return %a, %b : f64, f64
}
// CHECK-LABEL: func.func @kept
// CHECK:         } {noma.ordered}
// CHECK-NOT:     noma.reduction
// CHECK:         func.return

// -----
// In a nest (a sum over a 2-D index space), the inner loop is the
// reduction; the outer one, which carries the inner loop's result, stays.
func.func @nest(%buf: memref<?x?xf64>, %n: index, %m: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%outer = %zero) -> (f64) {
    %inner = scf.for %j = %c0 to %m step %c1 iter_args(%acc = %outer) -> (f64) {
      %x = memref.load %buf[%i, %j] : memref<?x?xf64>
      %s = arith.addf %acc, %x : f64
      scf.yield %s : f64
    }
    scf.yield %inner : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @nest
// CHECK:         scf.for %i = %c0 to %n step %c1 iter_args(%outer = %zero) -> (f64) {
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %outer, {{.*}}) -> (f64, f64, f64, f64, f64, f64, f64, f64) {
// CHECK:           } {noma.reduction_lanes = 8 : i64}
// CHECK:           } {noma.reduction_remainder}
// CHECK-NEXT:      scf.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// -----
// A loop over an integer type other than index.
func.func @i32_loop(%buf: memref<?xf64>, %n: i32) -> f64 {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) : i32 {
    %i = arith.index_cast %k : i32 to index
    %x = memref.load %buf[%i] : memref<?xf64>
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @i32_loop
// CHECK-NOT:     noma.reduction
// CHECK:         func.return
