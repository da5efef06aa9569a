// RUN: noma-opt %s -p convert-noma-scalars-to-loops | filecheck %s
// What bufferization leaves on f64 scalars: elementwise ops become their
// arith/math meaning, scalar parameters rank-0 stack buffers, printing and
// random draws runtime calls; a handle no one uses any more is dropped.

func.func @scalars(%x: f64, %y: f64) -> f64 {
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %w = noma.read %W : !noma.param<f64> -> f64
  %s = noma.add %w, %y : f64, f64 -> f64
  %e = noma.exp %s : f64 -> f64
  noma.write %e, %W : f64, !noma.param<f64>
  noma.print %e : f64
  func.return %e : f64
}
// CHECK-LABEL: func.func @scalars
// CHECK-COUNT-4: memref.alloca() : memref<f64>
// CHECK:         %[[W:.*]] = memref.load
// CHECK-NEXT:    %[[S:.*]] = arith.addf %[[W]], %y : f64
// CHECK-NEXT:    %[[E:.*]] = math.exp %[[S]] : f64
// CHECK-NEXT:    memref.store %[[E]]
// CHECK-NEXT:    func.call @noma_print_f64(%[[E]]) : (f64) -> ()
// CHECK-NOT:     noma.
// CHECK-NOT:     unrealized_conversion_cast
// CHECK:         func.func private @noma_print_f64(f64)
