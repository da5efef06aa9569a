// RUN: noma-opt %s --split-input-file -p export-parameters | filecheck %s
// Before main's return, its top-level learnt parameters are read and saved
// to the runtime's parameter sink (a path beginning with a NUL byte), in
// declaration order; the last declaration of a name wins.

func.func @fn.main() -> f64 attributes {noma.entry} {
  %0 = arith.constant 1.000000e+00 : f64
  %W = noma.learn "W" %0 : f64 -> !noma.param<f64>
  %1 = arith.constant dense<[1.0, 2.0]> : tensor<2xf64>
  %b = noma.learn "b" %1 : tensor<2xf64> -> !noma.param<tensor<2xf64>>
  %W2 = noma.learn "W" %0 : f64 -> !noma.param<f64>
  %r = noma.read %W2 : !noma.param<f64> -> f64
  func.return %r : f64
}
// CHECK-LABEL: func.func @fn.main
// CHECK:       %[[R:.*]] = noma.read %[[W2:.*]] : !noma.param<f64> -> f64
// CHECK-NEXT:  %[[B:.*]] = noma.read %b : !noma.param<tensor<2xf64>> -> tensor<2xf64>
// CHECK-NEXT:  %[[W:.*]] = noma.read %[[W2]] : !noma.param<f64> -> f64
// CHECK-NEXT:  noma.save_safetensors "\00noma:parameters" ["b", "W"](%[[B]], %[[W]] : tensor<2xf64>, f64)
// CHECK-NEXT:  func.return %[[R]] : f64

// -----

// A parameter that a `free` releases is left out; parameters of nested
// regions and of other functions are not main's to export.
func.func @fn.f(%x: f64) -> f64 {
  %v = noma.learn "v" %x : f64 -> !noma.param<f64>
  %r = noma.read %v : !noma.param<f64> -> f64
  func.return %r : f64
}
func.func @fn.main() -> f64 attributes {noma.entry} {
  %0 = arith.constant 1.000000e+00 : f64
  %gone = noma.learn "gone" %0 : f64 -> !noma.param<f64>
  noma.free %gone : !noma.param<f64>
  %kept = noma.learn "kept" %0 : f64 -> !noma.param<f64>
  %c = arith.constant 1 : i1
  scf.if %c {
    %inner = noma.learn "inner" %0 : f64 -> !noma.param<f64>
    scf.yield
  }
  func.return %0 : f64
}
// CHECK-LABEL: func.func @fn.f
// CHECK-NOT:   noma.save_safetensors
// CHECK:       func.return
// CHECK-LABEL: func.func @fn.main
// CHECK:       %[[K:.*]] = noma.read %kept : !noma.param<f64> -> f64
// CHECK-NEXT:  noma.save_safetensors "\00noma:parameters" ["kept"](%[[K]] : f64)
// CHECK-NEXT:  func.return

// -----

// A main without parameters is left exactly as it was.
func.func @fn.main() -> f64 attributes {noma.entry} {
  %0 = arith.constant 1.000000e+00 : f64
  func.return %0 : f64
}
// CHECK-LABEL: func.func @fn.main
// CHECK-NEXT:  %[[C:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:  func.return %[[C]] : f64
