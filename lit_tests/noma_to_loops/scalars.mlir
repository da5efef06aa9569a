// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// Scalar noma ops become arith/math through each op's lower_scalar hook;
// parameters become rank-0 buffers; printing becomes runtime calls.

func.func @arith(%x: f64, %y: f64) -> f64 {
  %0 = noma.add %x, %y : f64, f64 -> f64
  %1 = noma.pow %0, %y : f64, f64 -> f64
  %2 = noma.sigmoid %1 : f64 -> f64
  %3 = noma.cmp "lt", %2, %x : f64, f64 -> f64
  %4 = noma.rem %3, %y : f64, f64 -> f64
  func.return %4 : f64
}
// CHECK-LABEL: func.func @arith
// CHECK-NOT:  noma.
// CHECK:      %[[S:.*]] = arith.addf %{{.*}}, %{{.*}} : f64
// CHECK-NEXT: %[[P:.*]] = math.powf %[[S]], %{{.*}} : f64
// CHECK-NEXT: %[[N:.*]] = arith.negf %[[P]] : f64
// CHECK:      math.exp %[[N]] : f64
// CHECK:      %[[SIG:.*]] = arith.divf
// CHECK-NEXT: %[[C:.*]] = arith.cmpf olt, %[[SIG]], %{{.*}} : f64
// CHECK-NEXT: %[[F:.*]] = arith.uitofp %[[C]] : i1 to f64
// CHECK-NEXT: %[[Q:.*]] = arith.divf %[[F]], %{{.*}} : f64
// CHECK-NEXT: %[[FL:.*]] = math.floor %[[Q]] : f64
// CHECK:      func.return

func.func @params(%x: f64) -> f64 {
  %c = arith.constant 1.0 : f64
  %W = noma.learn "W" %x : f64 -> !noma.param<f64>
  %w = noma.read %W : !noma.param<f64> -> f64
  %t = noma.state_read %W "t" : !noma.param<f64> -> f64
  noma.state_write %c, %W "m" : f64, !noma.param<f64>
  noma.write %t, %W : f64, !noma.param<f64>
  noma.print %w : f64
  noma.print_string "done"
  func.return %w : f64
}
// CHECK-LABEL: func.func @params
// CHECK-NEXT: %[[V:.*]] = memref.alloca() : memref<f64>
// CHECK-NEXT: %[[M:.*]] = memref.alloca() : memref<f64>
// CHECK-NEXT: %[[VV:.*]] = memref.alloca() : memref<f64>
// CHECK-NEXT: %[[T:.*]] = memref.alloca() : memref<f64>
// CHECK:      memref.store %{{.*}}, %[[V]][] : memref<f64>
// CHECK:      %[[w:.*]] = memref.load %[[V]][] : memref<f64>
// CHECK-NEXT: %[[t:.*]] = memref.load %[[T]][] : memref<f64>
// CHECK-NEXT: memref.store %{{.*}}, %[[M]][] : memref<f64>
// CHECK-NEXT: memref.store %[[t]], %[[V]][] : memref<f64>
// CHECK-NEXT: func.call @noma_print_f64(%[[w]]) : (f64) -> ()
// CHECK-NEXT: %[[G:.*]] = memref.get_global @__noma_str0 : memref<4xi8>
// CHECK-NEXT: %[[S:.*]] = "memref.cast"(%[[G]]) : (memref<4xi8>) -> memref<?xi8>
// CHECK-NEXT: func.call @noma_print_str(%[[S]]) : (memref<?xi8>) -> ()
// CHECK-NOT:  unrealized_conversion_cast

func.func @tape(%x: f64) -> f64 {
  %t = noma.tape_new : !noma.tape
  noma.tape_push %t, %x : f64
  %y = noma.tape_pop %t : f64
  noma.tape_free %t
  func.return %y : f64
}
// CHECK-LABEL: func.func @tape
// CHECK-NEXT: %[[H:.*]] = func.call @noma_tape_new() : () -> i64
// CHECK-NEXT: func.call @noma_tape_push(%[[H]], %{{.*}}) : (i64, f64) -> ()
// CHECK-NEXT: %[[Y:.*]] = func.call @noma_tape_pop(%[[H]]) : (i64) -> f64
// CHECK-NEXT: func.call @noma_tape_free(%[[H]]) : (i64) -> ()
// CHECK-NEXT: func.return %[[Y]] : f64

// The runtime functions are declared once, and strings are byte constants.
// CHECK-DAG:  func.func private @noma_print_f64(f64)
// CHECK-DAG:  func.func private @noma_print_str(memref<?xi8>)
// CHECK-DAG:  "memref.global"() <{sym_name = "__noma_str0", type = memref<4xi8>, initial_value = dense<[100, 111, 110, 101]> : tensor<4xi8>, sym_visibility = "private", constant}>
