// RUN: noma-opt %s --split-input-file -p convert-noma-to-loops | filecheck %s
// Storage of dynamic shape lives in cells (rank-0 memrefs of memrefs) on the
// stack, with a flag saying whether it holds buffers; a resizing write
// allocates the new shape, copies, frees the old buffer and stores the new
// one in the cell. The function releases what is left when it returns.

func.func @resize(%t: tensor<2xf64>, %g: tensor<?xf64>) -> tensor<?xf64> {
  %W = noma.learn "W" %t : tensor<2xf64> -> !noma.param<tensor<?xf64>>
  noma.write %g, %W resize : tensor<?xf64>, !noma.param<tensor<?xf64>>
  %w = noma.read %W : !noma.param<tensor<?xf64>> -> tensor<?xf64>
  func.return %w : tensor<?xf64>
}
// CHECK-LABEL: func.func @resize
// CHECK-SAME:    (%{{.*}}: memref<2xf64>, %[[G:.*]]: memref<?xf64>) -> memref<?xf64>
// CHECK-NEXT:    %[[VALUE:.*]] = memref.alloca() : memref<memref<?xf64>>
// CHECK-NEXT:    %[[M:.*]] = memref.alloca() : memref<memref<?xf64>>
// CHECK-NEXT:    %[[V:.*]] = memref.alloca() : memref<memref<?xf64>>
// CHECK-NEXT:    %[[T:.*]] = memref.alloca() : memref<f64>
// CHECK-NEXT:    %[[ALIVE:.*]] = memref.alloca() : memref<i1>
// The learn: value copied, zero moments, step count 0.
// CHECK:         %[[INIT:.*]] = memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK:         memref.store %[[INIT]], %[[VALUE]][] : memref<memref<?xf64>>
// CHECK:         memref.store %{{.*}}, %[[M]][] : memref<memref<?xf64>>
// CHECK:         memref.store %{{.*}}, %[[V]][] : memref<memref<?xf64>>
// CHECK:         memref.store %{{.*}}, %[[T]][] : memref<f64>
// The resizing write.
// CHECK:         %[[DIM:.*]] = memref.dim %[[G]], %{{.*}} : memref<?xf64>
// CHECK-NEXT:    %[[NEW:.*]] = memref.alloc(%[[DIM]]) : memref<?xf64>
// CHECK-NEXT:    "memref.copy"(%[[G]], %[[NEW]])
// CHECK-NEXT:    %[[OLD:.*]] = memref.load %[[VALUE]][] : memref<memref<?xf64>>
// CHECK-NEXT:    memref.dealloc %[[OLD]] : memref<?xf64>
// CHECK-NEXT:    memref.store %[[NEW]], %[[VALUE]][] : memref<memref<?xf64>>
// The read loads the current buffer.
// CHECK-NEXT:    %[[NOW:.*]] = memref.load %[[VALUE]][] : memref<memref<?xf64>>
// At the return, what the storage holds is released.
// CHECK:         %[[HOLDS:.*]] = memref.load %[[ALIVE]][] : memref<i1>
// CHECK-NEXT:    scf.if %[[HOLDS]] {
// CHECK-COUNT-3:   memref.dealloc
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// -----

// A buffer: zero-filled at `alloc`, released by `free`; `check_alive` tests
// the flag. Before any f64 dimension becomes an index, one runtime call
// checks them all (at least 1, finite, within the size limit), from an f64
// array on the stack at the function's entry (a loop does not grow it).
func.func @buffer(%n: f64) {
  %B = noma.alloc [%n] : !noma.buffer<tensor<?xf64>>
  noma.free %B : !noma.buffer<tensor<?xf64>>
  noma.check_alive %B "B" : !noma.buffer<tensor<?xf64>>
  func.return
}
// CHECK-LABEL: func.func @buffer
// CHECK-SAME:    (%[[N:.*]]: f64)
// CHECK-NEXT:    %[[DIMS:.*]] = memref.alloca() : memref<1xf64>
// CHECK-NEXT:    %[[CELL:.*]] = memref.alloca() : memref<memref<?xf64>>
// CHECK-NEXT:    %[[ALIVE:.*]] = memref.alloca() : memref<i1>
// CHECK:         memref.store %[[N]], %[[DIMS]][%{{.*}}] : memref<1xf64>
// CHECK-NEXT:    %[[FLAT:.*]] = "memref.cast"(%[[DIMS]]) : (memref<1xf64>) -> memref<?xf64>
// CHECK-NOT:     scf.if
// CHECK:         func.call @noma_check_dims(%{{.*}}, %[[FLAT]]) : (memref<?xi8>, memref<?xf64>) -> ()
// CHECK-NEXT:    %[[I:.*]] = arith.fptosi %[[N]] : f64 to i64
// CHECK-NEXT:    %[[D:.*]] = arith.index_cast %[[I]] : i64 to index
// CHECK-NEXT:    %[[B:.*]] = memref.alloc(%[[D]]) : memref<?xf64>
// CHECK:         scf.for
// CHECK:         memref.store %[[B]], %[[CELL]][]
// CHECK:         %[[NOW:.*]] = memref.load %[[CELL]][]
// CHECK-NEXT:    memref.dealloc %[[NOW]]
// CHECK-NEXT:    %[[FALSE:.*]] = arith.constant false
// CHECK-NEXT:    memref.store %[[FALSE]], %[[ALIVE]][]
// CHECK-NEXT:    %[[HOLDS:.*]] = memref.load %[[ALIVE]][] : memref<i1>
// CHECK:         scf.if
// CHECK:           func.call @noma_runtime_error
// CHECK:       func.func private @noma_check_dims(memref<?xi8>, memref<?xf64>)
