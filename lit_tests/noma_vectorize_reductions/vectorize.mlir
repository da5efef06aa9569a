// RUN: noma-opt %s --split-input-file -p noma-vectorize-reductions | filecheck %s
// RUN: noma-opt %s --split-input-file -p 'noma-vectorize-reductions{lanes=4}' | filecheck %s --check-prefix=FOUR
// RUN: noma-opt %s --split-input-file -p 'noma-vectorize-reductions{lanes=1}' | filecheck %s --check-prefix=OFF
// A float sum over a dynamic extent: a main loop of step 8 carrying 8 lanes
// (lane 0 from the initial value, the others from -0.0), lane l at k + l;
// the lanes combined by halving (l with l + 4, then l + 2, then l + 1);
// then the remainder loop, in order, from `ub - (ub - lb) rem 8`.

func.func @sum(%buf: memref<?xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %s = arith.addf %acc, %x : f64
    scf.yield %s : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @sum
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[C7:.*]] = arith.constant 7 : index
// CHECK:         %[[C8:.*]] = arith.constant 8 : index
// CHECK:         %[[TRIP:.*]] = arith.subi %n, %c0
// CHECK-NEXT:    %[[REST:.*]] = arith.remsi %[[TRIP]], %[[C8]]
// CHECK-NEXT:    %[[MAIN:.*]] = arith.subi %n, %[[REST]]
// CHECK-NEXT:    %[[ID:.*]] = arith.constant -0.000000e+00 : f64
// CHECK-NEXT:    %[[L0:[^ ,]+]], %[[L1:[^ ,]+]], %[[L2:[^ ,]+]], %[[L3:[^ ,]+]], %[[L4:[^ ,]+]], %[[L5:[^ ,]+]], %[[L6:[^ ,]+]], %[[L7:[^ ,]+]] = scf.for %[[K:[^ ]+]] = %c0 to %[[MAIN]] step %[[C8]] iter_args(%[[A0:.*]] = %[[ZERO]], %[[A1:.*]] = %[[ID]], %{{.*}} = %[[ID]], %{{.*}} = %[[ID]], %{{.*}} = %[[ID]], %{{.*}} = %[[ID]], %{{.*}} = %[[ID]], %{{.*}} = %[[ID]]) -> (f64, f64, f64, f64, f64, f64, f64, f64) {
// CHECK-NEXT:      %[[X0:.*]] = memref.load %buf[%[[K]]]
// CHECK-NEXT:      %[[S0:.*]] = arith.addf %[[A0]], %[[X0]]
// CHECK-NEXT:      %[[K1:.*]] = arith.addi %[[K]], %[[C1]]
// CHECK-NEXT:      %[[X1:.*]] = memref.load %buf[%[[K1]]]
// CHECK-NEXT:      %[[S1:.*]] = arith.addf %[[A1]], %[[X1]]
// CHECK:           %[[K7:.*]] = arith.addi %[[K]], %[[C7]]
// CHECK-NEXT:      memref.load %buf[%[[K7]]]
// CHECK-NEXT:      arith.addf
// CHECK-NEXT:      scf.yield %[[S0]], %[[S1]], {{.*}} : f64, f64, f64, f64, f64, f64, f64, f64
// CHECK-NEXT:    } {noma.reduction_lanes = 8 : i64}
// CHECK-NEXT:    %[[T0:.*]] = arith.addf %[[L0]], %[[L4]] : f64
// CHECK-NEXT:    %[[T1:.*]] = arith.addf %[[L1]], %[[L5]] : f64
// CHECK-NEXT:    %[[T2:.*]] = arith.addf %[[L2]], %[[L6]] : f64
// CHECK-NEXT:    %[[T3:.*]] = arith.addf %[[L3]], %[[L7]] : f64
// CHECK-NEXT:    %[[U0:.*]] = arith.addf %[[T0]], %[[T2]] : f64
// CHECK-NEXT:    %[[U1:.*]] = arith.addf %[[T1]], %[[T3]] : f64
// CHECK-NEXT:    %[[TOTAL:.*]] = arith.addf %[[U0]], %[[U1]] : f64
// CHECK-NEXT:    %[[R:.*]] = scf.for %[[J:.*]] = %[[MAIN]] to %n step %c1 iter_args(%[[ACC:.*]] = %[[TOTAL]]) -> (f64) {
// CHECK-NEXT:      %[[XR:.*]] = memref.load %buf[%[[J]]]
// CHECK-NEXT:      %[[SR:.*]] = arith.addf %[[ACC]], %[[XR]]
// CHECK-NEXT:      scf.yield %[[SR]] : f64
// CHECK-NEXT:    } {noma.reduction_remainder}
// CHECK-NEXT:    func.return %[[R]] : f64

// FOUR-LABEL: func.func @sum
// FOUR:         %[[F0:[^ ,]+]], %[[F1:[^ ,]+]], %[[F2:[^ ,]+]], %[[F3:[^ ,]+]] = scf.for {{.*}} step %{{.*}} iter_args({{.*}}) -> (f64, f64, f64, f64) {
// FOUR-COUNT-4:   memref.load
// FOUR:         } {noma.reduction_lanes = 4 : i64}
// FOUR-NEXT:    %[[T0:.*]] = arith.addf %[[F0]], %[[F2]] : f64
// FOUR-NEXT:    %[[T1:.*]] = arith.addf %[[F1]], %[[F3]] : f64
// FOUR-NEXT:    arith.addf %[[T0]], %[[T1]] : f64
// FOUR-NEXT:    scf.for
// FOUR:         } {noma.reduction_remainder}

// OFF-LABEL: func.func @sum
// OFF:         scf.for %k = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f64) {
// OFF-NEXT:      memref.load
// OFF-NEXT:      arith.addf
// OFF-NEXT:      scf.yield
// OFF-NEXT:    }
// OFF-NOT:     noma.reduction

// -----
// A static extent that is a whole number of groups needs no remainder loop;
// an elementwise chain fused into the sum (here x * x, a dot) is cloned
// into each lane.

func.func @dot(%buf: memref<16xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %c16 step %c1 iter_args(%acc = %zero) -> (f64) {
    %x = memref.load %buf[%k] : memref<16xf64>
    %sq = arith.mulf %x, %x : f64
    %s = arith.addf %acc, %sq : f64
    scf.yield %s : f64
  }
  func.return %r : f64
}
// CHECK-LABEL: func.func @dot
// CHECK:         arith.constant 8 : index
// CHECK-NEXT:    %[[END:[^ ]+]] = arith.constant 16 : index
// CHECK:         scf.for %{{.*}} = %c0 to %[[END]] step %{{.*}} iter_args
// CHECK-COUNT-8:   arith.mulf
// CHECK:         } {noma.reduction_lanes = 8 : i64}
// CHECK-COUNT-7: arith.addf
// CHECK-NOT:     scf.for
// CHECK:         func.return

// -----
// max and min start every lane from the initial value (they are
// idempotent), and a product starts lanes 1.. from 1.0; each carried value
// gets its own lanes and its own tree.

func.func @extrema(%buf: memref<?xf64>, %n: index) -> (f64, f64, f64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %inf = arith.constant 0x7FF0000000000000 : f64
  %one = arith.constant 1.0 : f64
  %r:3 = scf.for %k = %c0 to %n step %c1 iter_args(%hi = %ninf, %lo = %inf, %p = %one) -> (f64, f64, f64) {
    %x = memref.load %buf[%k] : memref<?xf64>
    %h = arith.maximumf %hi, %x : f64
    %l = arith.minimumf %x, %lo : f64
    %q = arith.mulf %p, %x : f64
    scf.yield %h, %l, %q : f64, f64, f64
  }
  func.return %r#0, %r#1, %r#2 : f64, f64, f64
}
// CHECK-LABEL: func.func @extrema
// CHECK:         %[[NINF:.*]] = arith.constant 0xfff0000000000000 : f64
// CHECK:         %[[INF:.*]] = arith.constant 0x7ff0000000000000 : f64
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[PID:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    scf.for {{.*}} iter_args(%{{.*}} = %[[NINF]], %{{.*}} = %[[NINF]], {{.*}} = %[[NINF]], %{{.*}} = %[[INF]], {{.*}} = %[[INF]], %{{.*}} = %[[ONE]], %{{.*}} = %[[PID]], {{.*}} = %[[PID]])
// CHECK-COUNT-8:   arith.maximumf
// CHECK:         } {noma.reduction_lanes = 8 : i64}
// CHECK-COUNT-7: arith.maximumf
// CHECK-COUNT-7: arith.minimumf
// CHECK-COUNT-7: arith.mulf
// CHECK:         scf.for {{.*}} -> (f64, f64, f64) {
// CHECK:         } {noma.reduction_remainder}
