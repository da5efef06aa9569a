// RUN: noma-opt %s -p noma-bufferize | filecheck %s
// RUN: noma-opt %s -p 'noma-bufferize{update-in-place=false},noma-deallocate' | filecheck %s --check-prefix=COPY
// A parameter update reads the parameter's own storage and computes the new
// value straight into it; without in-place updates the read is a snapshot
// copy and the new value a temporary copied into the storage.

func.func @step(%init: tensor<3xf64>, %g: tensor<3xf64>) {
  %W = noma.learn "W" %init : tensor<3xf64> -> !noma.param<tensor<3xf64>>
  %w = noma.read %W : !noma.param<tensor<3xf64>> -> tensor<3xf64>
  %u = noma.sub %w, %g : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
  noma.write %u, %W : tensor<3xf64>, !noma.param<tensor<3xf64>>
  func.return
}
// CHECK-LABEL: func.func @step
// CHECK:         %[[VALUE:.*]] = memref.alloc() : memref<3xf64>
// CHECK:         %W = builtin.unrealized_conversion_cast %[[VALUE]],
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.copy
// CHECK:         %[[IN:.*]] = memref.reinterpret_cast %[[VALUE]]
// CHECK:         %[[OUT:.*]] = memref.reinterpret_cast %[[VALUE]]
// CHECK:         scf.for
// CHECK:           memref.load %[[IN]]
// CHECK:           arith.subf
// CHECK:           memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT:     memref.copy
// CHECK:         func.return

// COPY-LABEL: func.func @step
// COPY:         %[[VALUE:.*]] = memref.alloc() : memref<3xf64>
// COPY:         %W = builtin.unrealized_conversion_cast %[[VALUE]],
// COPY:         %[[SNAPSHOT:.*]] = memref.alloc() : memref<3xf64>
// COPY:         "memref.copy"(%[[VALUE]], %[[SNAPSHOT]])
// COPY:         %[[NEW:.*]] = memref.alloc() : memref<3xf64>
// COPY:         scf.for
// COPY:           arith.subf
// COPY:         memref.dealloc %[[SNAPSHOT]]
// COPY:         "memref.copy"(%[[NEW]], %[[VALUE]])
// COPY:         memref.dealloc %[[NEW]]

func.func @read_used_after_update(%init: tensor<3xf64>, %g: tensor<3xf64>) -> f64 {
  %W = noma.learn "W" %init : tensor<3xf64> -> !noma.param<tensor<3xf64>>
  %w = noma.read %W : !noma.param<tensor<3xf64>> -> tensor<3xf64>
  %u = noma.sub %w, %g : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
  %s = noma.sum %w : tensor<3xf64> -> f64
  noma.write %u, %W : tensor<3xf64>, !noma.param<tensor<3xf64>>
  func.return %s : f64
}
// The read (which borrows the storage) is used after the update is
// computed: the update goes to a temporary, copied in at the write, so the
// sum reads the old values.
// CHECK-LABEL: func.func @read_used_after_update
// CHECK:         %[[VALUE:.*]] = memref.alloc() : memref<3xf64>
// CHECK:         "memref.copy"(%{{.*}}, %[[VALUE]])
// CHECK:         %[[NEW:.*]] = memref.alloc() : memref<3xf64>
// CHECK:         %[[OUT:.*]] = memref.reinterpret_cast %[[NEW]]
// CHECK:         scf.for
// CHECK:           arith.subf
// CHECK:           memref.store %{{.*}}, %[[OUT]]
// CHECK:         %[[S:.*]] = scf.for
// CHECK:         "memref.copy"(%[[NEW]], %[[VALUE]])
// CHECK:         func.return %[[S]]
