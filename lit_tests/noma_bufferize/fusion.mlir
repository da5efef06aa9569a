// RUN: noma-opt %s -p noma-bufferize | filecheck %s
// RUN: noma-opt %s -p 'noma-bufferize{fuse-elementwise=false},noma-deallocate' | filecheck %s --check-prefix=UNFUSED
// An elementwise chain ending in a reduction is one loop, nothing stored;
// without fusion each op stores its own buffer, freed after its last use.
// Scalar noma ops are left for convert-noma-scalars-to-loops.

func.func @chain(%a: tensor<4xf64>, %b: tensor<4xf64>, %n: f64) -> f64 {
  %x = noma.mul %a, %b : tensor<4xf64>, tensor<4xf64> -> tensor<4xf64>
  %y = noma.exp %x : tensor<4xf64> -> tensor<4xf64>
  %s = noma.sum %y : tensor<4xf64> -> f64
  %t = noma.add %s, %n : f64, f64 -> f64
  func.return %t : f64
}
// CHECK-LABEL: func.func @chain(%0: memref<4xf64>, %1: memref<4xf64>, %n: f64) -> f64
// CHECK-NOT:     memref.alloc
// CHECK:         %s = scf.for
// CHECK:           arith.mulf
// CHECK-NEXT:      math.exp
// CHECK-NEXT:      arith.addf
// CHECK:         noma.add %s, %n : f64, f64 -> f64
// CHECK-NOT:     memref.dealloc

// UNFUSED-LABEL: func.func @chain
// UNFUSED:         %[[X:.*]] = memref.alloc() : memref<4xf64>
// UNFUSED:         scf.for
// UNFUSED:           arith.mulf
// UNFUSED:         %[[Y:.*]] = memref.alloc() : memref<4xf64>
// UNFUSED:         scf.for
// UNFUSED:           math.exp
// UNFUSED:         memref.dealloc %[[X]]
// UNFUSED:         %s = scf.for
// UNFUSED:         memref.dealloc %[[Y]]
// UNFUSED:         noma.add
