// RUN: noma-opt %s -p noma-unswitch-broadcasts | filecheck %s
// A loop nest indexing an operand that may broadcast gets a version for
// the usual case, where nothing does: the marked selects become their index.

func.func @add(%a: memref<?x?xf64>, %b: memref<?x?xf64>, %out: memref<?x?xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %out, %c0 : memref<?x?xf64>
  %cols = memref.dim %out, %c1 : memref<?x?xf64>
  %b_rows = memref.dim %b, %c0 : memref<?x?xf64>
  %b_cols = memref.dim %b, %c1 : memref<?x?xf64>
  %rows_one = arith.cmpi eq, %b_rows, %c1 : index
  %cols_one = arith.cmpi eq, %b_cols, %c1 : index
  scf.for %i = %c0 to %rows step %c1 {
    scf.for %j = %c0 to %cols step %c1 {
      %bi = arith.select %rows_one, %c0, %i {noma.broadcast} : index
      %bj = arith.select %cols_one, %c0, %j {noma.broadcast} : index
      %x = memref.load %a[%i, %j] : memref<?x?xf64>
      %y = memref.load %b[%bi, %bj] : memref<?x?xf64>
      %s = arith.addf %x, %y : f64
      memref.store %s, %out[%i, %j] : memref<?x?xf64>
    }
  }
  func.return
}
// CHECK-LABEL: func.func @add(
// CHECK-SAME:    %{{.*}}: memref<?x?xf64>, %[[B:.*]]: memref<?x?xf64>, %{{.*}}: memref<?x?xf64>)
// CHECK:         %[[R1:.*]] = arith.cmpi eq
// CHECK-NEXT:    %[[C1:.*]] = arith.cmpi eq
// CHECK-NEXT:    %[[ANY:.*]] = arith.ori %[[R1]], %[[C1]] : i1
// CHECK-NEXT:    scf.if %[[ANY]] {
// The general version, marks dropped:
// CHECK:             arith.select %[[R1]], %{{.*}}, %{{.*}} : index
// CHECK-NOT:         noma.broadcast
// CHECK:         } else {
// The usual one: B read at the loop's own indices.
// CHECK-NEXT:      scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT:        scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NOT:           arith.select
// CHECK:               memref.load %[[B]][%[[I]], %[[J]]] : memref<?x?xf64>
// CHECK:         func.return

// A reduction keeps its result, through the scf.if.
func.func @total(%v: memref<?xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %len = memref.dim %v, %c0 : memref<?xf64>
  %one = arith.cmpi eq, %len, %c1 : index
  %t = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %vk = arith.select %one, %c0, %k {noma.broadcast} : index
    %x = memref.load %v[%vk] : memref<?xf64>
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  }
  func.return %t : f64
}
// CHECK-LABEL: func.func @total(
// CHECK:         %[[T:.*]] = scf.if %{{.*}} -> (f64) {
// CHECK:         } else {
// CHECK:           memref.load %{{.*}}[%[[K:.*]]] : memref<?xf64>
// CHECK:         func.return %[[T]] : f64

// A condition computed inside the loop may change from one iteration to
// the next: only the inner loop, where it is invariant, is versioned.
func.func @inner(%m: memref<?x?xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %t = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %one = arith.cmpi eq, %i, %c1 : index
    %u = scf.for %j = %c0 to %n step %c1 iter_args(%acc2 = %acc) -> (f64) {
      %mj = arith.select %one, %c0, %j {noma.broadcast} : index
      %x = memref.load %m[%i, %mj] : memref<?x?xf64>
      %s = arith.addf %acc2, %x : f64
      scf.yield %s : f64
    }
    scf.yield %u : f64
  }
  func.return %t : f64
}
// CHECK-LABEL: func.func @inner(
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK-NEXT:      %[[ONE:.*]] = arith.cmpi eq
// CHECK-NEXT:      %{{.*}} = scf.if %[[ONE]] -> (f64) {

// Unmarked selects are not broadcasts: left alone.
func.func @plain(%v: memref<?xf64>, %c: i1, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %k = %c0 to %n step %c1 {
    %vk = arith.select %c, %c0, %k : index
    %x = memref.load %v[%vk] : memref<?xf64>
    memref.store %x, %v[%k] : memref<?xf64>
  }
  func.return
}
// CHECK-LABEL: func.func @plain(
// CHECK-NOT:     scf.if
// CHECK:         arith.select
