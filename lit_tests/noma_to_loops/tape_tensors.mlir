// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// A tensor on the tape is kept by value: its elements are copied onto the
// runtime tape from a flat view of its buffer, then its dynamic dimensions
// as f64. A pop takes the dimensions back first, allocates a buffer of its
// own (freed after its last use) and has the runtime copy the elements in.
// The tape handle comes from bufferization, which lowers tape_new.

func.func @static(%v: tensor<2x3xf64>) -> f64 {
  %t = noma.tape_new : !noma.tape
  noma.tape_push %t, %v : tensor<2x3xf64>
  %w = noma.tape_pop %t : tensor<2x3xf64>
  noma.tape_free %t
  %s = noma.sum %w : tensor<2x3xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @static(%{{.*}}: memref<2x3xf64>) -> f64 {
// CHECK:      %[[H:.*]] = func.call @noma_tape_new() : () -> i64
// CHECK-NOT:  unrealized_conversion_cast
// CHECK:      %[[FLAT:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<2x3xf64> to memref<?xf64>
// CHECK-NEXT: func.call @noma_tape_push_array(%[[H]], %[[FLAT]]) : (i64, memref<?xf64>) -> ()
// CHECK:      %[[W:.*]] = memref.alloc() : memref<2x3xf64>
// CHECK:      %[[OUT:.*]] = memref.reinterpret_cast %[[W]] to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<2x3xf64> to memref<?xf64>
// CHECK-NEXT: func.call @noma_tape_pop_array(%[[H]], %[[OUT]]) : (i64, memref<?xf64>) -> ()
// CHECK:      func.call @noma_tape_free(%[[H]]) : (i64) -> ()
// CHECK:      memref.dealloc %[[W]] : memref<2x3xf64>
// CHECK-NEXT: func.return

func.func @dynamic(%v: tensor<?x3x?xf64>) -> f64 {
  %t = noma.tape_new : !noma.tape
  noma.tape_push %t, %v : tensor<?x3x?xf64>
  %w = noma.tape_pop %t : tensor<?x3x?xf64>
  noma.tape_free %t
  %s = noma.sum %w : tensor<?x3x?xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @dynamic(%{{.*}}: memref<?x3x?xf64>) -> f64 {
// CHECK:      %[[H:.*]] = func.call @noma_tape_new() : () -> i64
// CHECK:      %[[D0:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x3x?xf64>
// CHECK:      %[[D2:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x3x?xf64>
// CHECK:      func.call @noma_tape_push_array(%[[H]], %{{.*}}) : (i64, memref<?xf64>) -> ()
// CHECK-NEXT: %[[I0:.*]] = arith.index_cast %[[D0]] : index to i64
// CHECK-NEXT: %[[F0:.*]] = arith.sitofp %[[I0]] : i64 to f64
// CHECK-NEXT: func.call @noma_tape_push(%[[H]], %[[F0]]) : (i64, f64) -> ()
// CHECK-NEXT: %[[I2:.*]] = arith.index_cast %[[D2]] : index to i64
// CHECK-NEXT: %[[F2:.*]] = arith.sitofp %[[I2]] : i64 to f64
// CHECK-NEXT: func.call @noma_tape_push(%[[H]], %[[F2]]) : (i64, f64) -> ()
// Popped in the opposite order: the last axis first.
// CHECK:      %[[P2:.*]] = func.call @noma_tape_pop(%[[H]]) : (i64) -> f64
// CHECK-NEXT: %[[J2:.*]] = arith.fptosi %[[P2]] : f64 to i64
// CHECK-NEXT: %[[N2:.*]] = arith.index_cast %[[J2]] : i64 to index
// CHECK-NEXT: %[[P0:.*]] = func.call @noma_tape_pop(%[[H]]) : (i64) -> f64
// CHECK-NEXT: %[[J0:.*]] = arith.fptosi %[[P0]] : f64 to i64
// CHECK-NEXT: %[[N0:.*]] = arith.index_cast %[[J0]] : i64 to index
// CHECK:      %[[W:.*]] = memref.alloc(%[[N0]], %[[N2]]) : memref<?x3x?xf64>
// CHECK:      func.call @noma_tape_pop_array(%[[H]], %{{.*}}) : (i64, memref<?xf64>) -> ()
// CHECK:      func.call @noma_tape_free(%[[H]]) : (i64) -> ()
// CHECK:      memref.dealloc %[[W]] : memref<?x3x?xf64>
// CHECK-NEXT: func.return

// CHECK-DAG:  func.func private @noma_tape_push_array(i64, memref<?xf64>)
// CHECK-DAG:  func.func private @noma_tape_pop_array(i64, memref<?xf64>)
