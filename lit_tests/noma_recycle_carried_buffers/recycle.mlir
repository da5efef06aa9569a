// RUN: noma-opt %s -p noma-recycle-carried-buffers | filecheck %s

// A tensor carried by a loop: the next iteration's buffer comes from the
// slot the freed carried buffer went to.
// CHECK-LABEL: func.func @carried
// CHECK:         %[[SLOT:.*]] = memref.alloca() : memref<memref<?xf64>>
// CHECK-NEXT:    %[[CAPACITY:.*]] = memref.alloca() : memref<index>
// CHECK:         scf.for {{.*}} iter_args(%[[H:.*]] = %{{.*}}) -> (memref<?xf64>) {
// CHECK:           %[[TAKEN:.*]] = scf.if %{{.*}} -> (memref<?xf64>) {
// CHECK-NEXT:        %[[HELD:.*]] = memref.load %[[SLOT]][]
// CHECK-NEXT:        scf.yield %[[HELD]]
// CHECK-NEXT:      } else {
// CHECK:             memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK:           memref.store %{{.*}}, %[[CAPACITY]][]
// CHECK:           %[[NEW:.*]] = memref.reinterpret_cast %[[TAKEN]]
// CHECK:           scf.if %{{.*}} {
// CHECK:             memref.store %{{.*}}, %[[SLOT]][]
// CHECK:           } else {
// CHECK-NEXT:        memref.dealloc %[[H]]
// CHECK:           scf.yield %[[NEW]]
// CHECK:         memref.dealloc %{{.*}} : memref<?xf64>
// The slot's buffer is freed before the return.
// CHECK:         scf.if
// CHECK:           memref.dealloc
// CHECK:         func.return
func.func @carried(%n: index, %init: memref<?xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %r = scf.for %i = %c0 to %c10 step %c1 iter_args(%h = %init) -> (memref<?xf64>) {
    %next = memref.alloc(%n) : memref<?xf64>
    scf.for %j = %c0 to %n step %c1 {
      %x = memref.load %h[%j] : memref<?xf64>
      memref.store %x, %next[%j] : memref<?xf64>
    }
    memref.dealloc %h : memref<?xf64>
    scf.yield %next : memref<?xf64>
  }
  memref.dealloc %r : memref<?xf64>
  func.return
}

// A carried buffer not freed in the body (the loop does not own it) is left alone.
// CHECK-LABEL: func.func @not_owned
// CHECK-NOT:     memref.alloca() : memref<memref<?xf64>>
// CHECK:         memref.alloc(%{{.*}}) : memref<?xf64>
func.func @not_owned(%n: index, %init: memref<?xf64>) -> memref<?xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %r = scf.for %i = %c0 to %c10 step %c1 iter_args(%h = %init) -> (memref<?xf64>) {
    %next = memref.alloc(%n) : memref<?xf64>
    scf.yield %next : memref<?xf64>
  }
  func.return %r : memref<?xf64>
}
