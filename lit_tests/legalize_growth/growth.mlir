// RUN: noma-opt %s --split-input-file -p legalize-growth | filecheck %s
// Each noma.realloc becomes tensor work on the storage: new elements by the
// init policy, the old block copied in place (index preserving), a resizing
// write; a parameter's moments m and v are resized the same way (old moments
// at their indices, new ones zero) and its step count t is left alone.

// Growth of a parameter with Adam state, new elements from an init tensor.
func.func @grow_param(%t: tensor<2x2xf64>, %init: tensor<2x16xf64>) {
  %W = noma.learn "W" %t : tensor<2x2xf64> -> !noma.param<tensor<?x?xf64>>
  %r = arith.constant 2.000000e+00 : f64
  %c = arith.constant 1.600000e+01 : f64
  noma.realloc %W [%r, %c] init "tensor"(%init : tensor<2x16xf64>) : !noma.param<tensor<?x?xf64>>
  func.return
}
// CHECK-LABEL: func.func @grow_param
// CHECK-NOT:   noma.realloc
// CHECK:       %[[R:.*]] = noma.floor %{{.*}} : f64 -> f64
// CHECK-NEXT:  %[[C:.*]] = noma.floor %{{.*}} : f64 -> f64
// CHECK-NEXT:  %[[OLD:.*]] = noma.read %[[W:.*]] : !noma.param<tensor<?x?xf64>> -> tensor<?x?xf64>
// CHECK-NEXT:  %[[D0:.*]] = noma.dim %[[OLD]] 0
// CHECK-NEXT:  %[[S0:.*]] = arith.cmpf oeq, %[[R]], %[[D0]] : f64
// CHECK-NEXT:  %[[D1:.*]] = noma.dim %[[OLD]] 1
// CHECK-NEXT:  %[[S1:.*]] = arith.cmpf oeq, %[[C]], %[[D1]] : f64
// CHECK-NEXT:  %[[SAME:.*]] = arith.andi %[[S0]], %[[S1]] : i1
// CHECK-NEXT:  scf.if %[[SAME]] {
// CHECK-NEXT:  } else {
// The init tensor must have the new shape: checked at run time.
// CHECK:         noma.assert %{{.*}}, "the init tensor has size {0} along axis 0, the new shape {1}"
// CHECK:         noma.assert %{{.*}}, "the init tensor has size {0} along axis 1, the new shape {1}"
// CHECK-NEXT:    %[[NEW:.*]] = noma.insert_overlap %[[OLD]] into %[[INIT:.*]] : tensor<?x?xf64> into tensor<2x16xf64>
// CHECK-NEXT:    noma.write %[[NEW]], %[[W]] resize : tensor<2x16xf64>, !noma.param<tensor<?x?xf64>>
// CHECK-NEXT:    %[[M:.*]] = noma.state_read %[[W]] "m"
// CHECK:         %[[ZM:.*]] = noma.fill[%[[R]], %[[C]]] %{{.*}} : tensor<?x?xf64>
// CHECK-NEXT:    %[[M2:.*]] = noma.insert_overlap %[[M]] into %[[ZM]]
// CHECK-NEXT:    noma.state_write %[[M2]], %[[W]] "m" resize
// CHECK-NEXT:    %[[V:.*]] = noma.state_read %[[W]] "v"
// CHECK:         %[[ZV:.*]] = noma.fill[%[[R]], %[[C]]] %{{.*}} : tensor<?x?xf64>
// CHECK-NEXT:    %[[V2:.*]] = noma.insert_overlap %[[V]] into %[[ZV]]
// CHECK-NEXT:    noma.state_write %[[V2]], %[[W]] "v" resize
// CHECK-NOT:     "t"
// CHECK:       }

// -----

// Shrinking is the same work: the leading block is kept. The default policy
// draws normal(0, 0.3) from the program's generator.
func.func @shrink_param(%t: tensor<4xf64>) {
  %W = noma.learn "W" %t : tensor<4xf64> -> !noma.param<tensor<?xf64>>
  %n = arith.constant 2.000000e+00 : f64
  noma.realloc %W [%n] init "default" : !noma.param<tensor<?xf64>>
  func.return
}
// CHECK-LABEL: func.func @shrink_param
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[STD:.*]] = arith.constant 3.000000e-01 : f64
// CHECK-NEXT:    %[[FRESH:.*]] = noma.random "normal"[%{{.*}}] (%[[ZERO]], %[[STD]]) : tensor<?xf64>
// CHECK-NEXT:    %[[NEW:.*]] = noma.insert_overlap %{{.*}} into %[[FRESH]] : tensor<?xf64> into tensor<?xf64>
// CHECK-NEXT:    noma.write %[[NEW]], %{{.*}} resize
// CHECK:         noma.state_write %{{.*}}, %{{.*}} "m" resize
// CHECK:         noma.state_write %{{.*}}, %{{.*}} "v" resize

// -----

// A plain buffer has no optimizer state; its new elements are zero.
func.func @grow_buffer(%n: f64, %m: f64) {
  %B = noma.alloc [%n] : !noma.buffer<tensor<?xf64>>
  noma.realloc %B [%m] init "default" : !noma.buffer<tensor<?xf64>>
  func.return
}
// CHECK-LABEL: func.func @grow_buffer
// CHECK-NOT:     noma.realloc
// CHECK:         %[[Z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[FRESH:.*]] = noma.fill[%{{.*}}] %[[Z]] : tensor<?xf64>
// CHECK-NEXT:    %[[NEW:.*]] = noma.insert_overlap %{{.*}} into %[[FRESH]]
// CHECK-NEXT:    noma.write %[[NEW]], %{{.*}} resize : tensor<?xf64>, !noma.buffer<tensor<?xf64>>
// CHECK-NOT:     noma.state_write
// CHECK:       func.return

// -----

// The other policies: zeros, uniform(lo, hi), normal(mean, std).
func.func @policies(%t: tensor<2xf64>, %n: f64, %a: f64, %b: f64) {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<?xf64>>
  noma.realloc %W [%n] init "zeros" : !noma.param<tensor<?xf64>>
  noma.realloc %W [%n] init "uniform"(%a, %b : f64, f64) : !noma.param<tensor<?xf64>>
  noma.realloc %W [%n] init "normal"(%a, %b : f64, f64) : !noma.param<tensor<?xf64>>
  func.return
}
// CHECK-LABEL: func.func @policies
// CHECK:         noma.fill[%{{.*}}] %{{.*}} : tensor<?xf64>
// CHECK:         noma.random "uniform"[%{{.*}}] (%{{.*}}, %{{.*}}) : tensor<?xf64>
// CHECK:         noma.random "normal"[%{{.*}}] (%{{.*}}, %{{.*}}) : tensor<?xf64>
