// RUN: noma-opt %s -p 'noma-lower-matmul{tile-m=8 tile-k=4 register-block=2x8 vector-width=4 inline-below=0}' | filecheck %s
// C = A . B, 13x7 by 7x37: k blocks of 4, row tiles of 8, panels of 8
// columns packed from B, a 2x8 micro-kernel on vector<4xf64> accumulators
// carried by the k loop (mul then add, no fma), one-row kernels for the
// rows left in a tile; the 37 % 8 columns left go 4 at a time (the vector
// width) through a 4-row edge kernel on a zero-padded stack tile.

func.func @tiles(%a: memref<13x7xf64>, %b: memref<7x37xf64>, %c: memref<13x37xf64>) {
  noma_linalg.matmul %a, %b into %c : memref<13x7xf64>, memref<7x37xf64> into memref<13x37xf64>
  func.return
}
// The matmul is a call of the module's function for its layout, on dynamic shapes.
// CHECK-LABEL: func.func @tiles(
// CHECK-SAME:    %[[A0:.*]]: memref<13x7xf64>, %[[B0:.*]]: memref<7x37xf64>, %[[C0:.*]]: memref<13x37xf64>)
// CHECK-NEXT:    %[[AD:.*]] = "memref.cast"(%[[A0]]) : (memref<13x7xf64>) -> memref<?x?xf64>
// CHECK-NEXT:    %[[BD:.*]] = "memref.cast"(%[[B0]]) : (memref<7x37xf64>) -> memref<?x?xf64>
// CHECK-NEXT:    %[[CD:.*]] = "memref.cast"(%[[C0]]) : (memref<13x37xf64>) -> memref<?x?xf64>
// CHECK-NEXT:    func.call @__noma_matmul_nn(%[[AD]], %[[BD]], %[[CD]]) : (memref<?x?xf64>, memref<?x?xf64>, memref<?x?xf64>) -> ()
// CHECK-NEXT:    func.return

// CHECK-LABEL: func.func private @__noma_matmul_nn(
// CHECK-SAME:    %[[A:.*]]: memref<?x?xf64>, %[[B:.*]]: memref<?x?xf64>, %[[C:.*]]: memref<?x?xf64>) {
// The packing buffer: tile-k x NR f64, on the stack at the function's entry.
// CHECK-NEXT:    %[[P:.*]] = memref.alloca() {alignment = 64 : i64} : memref<32xf64>
// CHECK-NOT:     noma_linalg.matmul
// C starts at 0.0: every sum starts from 0.0 and adds the products in k order.
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         scf.for
// CHECK-NEXT:      scf.for
// CHECK-NEXT:        memref.store %[[ZERO]], %[[C]]
// The columns the micro-kernel covers: N - N % NR.
// CHECK:         %[[NR:.*]] = arith.constant 8 : index
// CHECK-NEXT:    %[[REM:.*]] = arith.remui %{{.*}}, %[[NR]] : index
// CHECK-NEXT:    %[[NFULL:.*]] = arith.subi %{{.*}}, %[[REM]] : index
// CHECK:         scf.for %[[PC:.*]] = %{{.*}} to %{{.*}} step %[[KC:.*]] {
// CHECK:           arith.minui %[[KC]]
// CHECK:           scf.for %[[IC:.*]] = %{{.*}} to %{{.*}} step %[[TM:.*]] {
// CHECK:             scf.for %[[JR:.*]] = %{{.*}} to %[[NFULL]] step %[[NR]] {
// Packing: P[k * NR + c] = B[pc + k, jr + c].
// CHECK:                 %[[BV:.*]] = memref.load %[[B]][%{{.*}}, %{{.*}}] : memref<?x?xf64>
// CHECK:                 memref.store %[[BV]], %[[P]][%{{.*}}] : memref<32xf64>
// The 2x8 micro-kernel: 2 rows x 2 vectors of C in registers across k.
// CHECK:               scf.for %[[IR:.*]] = %[[IC]] to %{{.*}} step %{{.*}} {
// CHECK-COUNT-4:         vector.load %[[C]]{{.*}} : memref<?x?xf64>, vector<4xf64>
// CHECK:                 scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<4xf64>, vector<4xf64>, vector<4xf64>, vector<4xf64>) {
// CHECK:                   %[[P0:.*]] = vector.load %[[P]][%{{.*}}] : memref<32xf64>, vector<4xf64>
// CHECK:                   %[[P1:.*]] = vector.load %[[P]][%{{.*}}] : memref<32xf64>, vector<4xf64>
// CHECK:                   %[[X:.*]] = memref.load %[[A]][%{{.*}}, %{{.*}}] : memref<?x?xf64>
// CHECK-NEXT:              %[[XS:.*]] = vector.broadcast %[[X]] : f64 to vector<4xf64>
// CHECK-NEXT:              %[[PROD:.*]] = arith.mulf %[[XS]], %[[P0]] : vector<4xf64>
// CHECK-NEXT:              arith.addf %[[ACC]], %[[PROD]] : vector<4xf64>
// CHECK-NOT:               vector.fma
// CHECK:                   scf.yield
// CHECK-COUNT-4:         vector.store %{{.*}}, %[[C]]{{.*}} : memref<?x?xf64>, vector<4xf64>
// The rows left in a row tile: a one-row kernel.
// CHECK:               scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-COUNT-2:         vector.load %[[C]]
// CHECK:                 iter_args({{.*}}) -> (vector<4xf64>, vector<4xf64>) {
// The columns left, W = 4 at a time: `valid` = min(4, N - je) of them are C's.
// CHECK:             scf.for %[[JE:.*]] = %[[NFULL]] to %{{.*}} step %[[W:.*]] {
// CHECK-NEXT:          %[[LEFT:.*]] = arith.subi %{{.*}}, %[[JE]] : index
// CHECK-NEXT:          %[[VALID:.*]] = arith.minui %[[W]], %[[LEFT]] : index
// The edge panel: B's valid columns, then zeros up to W.
// CHECK:                 scf.for %{{.*}} = %{{.*}} to %[[VALID]] step
// CHECK:                   memref.load %[[B]]
// CHECK:                 scf.for %{{.*}} = %[[VALID]] to %[[W]] step
// CHECK-NEXT:              arith.addi
// CHECK-NEXT:              memref.store %[[ZERO]], %[[P]]
// A block of MR * NR / W = 4 rows: C's valid columns into the tile, zeros after.
// CHECK:               scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[W]] {
// CHECK:                 scf.for %{{.*}} = %{{.*}} to %[[VALID]] step
// CHECK:                   %[[CV:.*]] = memref.load %[[C]]
// CHECK-NEXT:              memref.store %[[CV]], %[[T:.*]][%{{.*}}] : memref<16xf64>
// CHECK:                 scf.for %{{.*}} = %[[VALID]] to %[[W]] step
// CHECK:                 iter_args({{.*}}) -> (vector<4xf64>, vector<4xf64>, vector<4xf64>, vector<4xf64>) {
// CHECK:                 vector.store %{{.*}}, %[[T]][%{{.*}}] : memref<16xf64>, vector<4xf64>
// Back to C: only the valid columns.
// CHECK:                 scf.for %{{.*}} = %{{.*}} to %[[VALID]] step
// CHECK-NEXT:              arith.addi
// CHECK-NEXT:              arith.addi
// CHECK-NEXT:              %[[TV:.*]] = memref.load %[[T]]
// CHECK-NEXT:              memref.store %[[TV]], %[[C]]
// No scalar product is left: every multiply is a vector one.
// CHECK-NOT:     arith.mulf %{{.*}} : f64
// The old column walk (a scalar reduction over k inside i and j) is gone.
// CHECK-NOT:     iter_args({{.*}}) -> (f64)
