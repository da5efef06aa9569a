// RUN: noma-opt %s --split-input-file -p noma-hoist-temporaries | filecheck %s
// RUN: noma-opt %s --split-input-file -p 'noma-hoist-temporaries{stack-buffer-bytes=0}' | filecheck %s --check-prefix=HEAP
// RUN: noma-opt %s --split-input-file -p 'noma-hoist-temporaries{stack-function-bytes=40}' | filecheck %s --check-prefix=BUDGET
// RUN: noma-opt %s --split-input-file -p 'noma-hoist-temporaries{reuse-dynamic=false}' | filecheck %s --check-prefix=NOREUSE
// A loop temporary of static shape, freed in its own block, is allocated
// once at the function's entry: on the stack while it is small and the
// function's budget lasts, else on the heap, freed before the return.

func.func @loop(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = memref.alloc() : memref<4xf64>
    %u = memref.alloc() : memref<2xf64>
    func.call @use(%t, %u) : (memref<4xf64>, memref<2xf64>) -> ()
    memref.dealloc %t : memref<4xf64>
    memref.dealloc %u : memref<2xf64>
  }
  func.return
}
// CHECK-LABEL: func.func @loop
// CHECK-NEXT:    memref.alloca() : memref<2xf64>
// CHECK-NEXT:    memref.alloca() : memref<4xf64>
// CHECK:         scf.for
// CHECK-NOT:       memref.alloc
// CHECK-NOT:       memref.dealloc
// CHECK:         func.return
func.func private @use(memref<4xf64>, memref<2xf64>)

// HEAP-LABEL: func.func @loop
// HEAP-NEXT:    %[[U:.*]] = memref.alloc() : memref<2xf64>
// HEAP-NEXT:    %[[T:.*]] = memref.alloc() : memref<4xf64>
// HEAP:         scf.for
// HEAP-NEXT:      func.call @use
// HEAP-NEXT:    }
// HEAP-NEXT:    memref.dealloc %[[T]]
// HEAP-NEXT:    memref.dealloc %[[U]]
// HEAP-NEXT:    func.return

// The 32 bytes of %t fit in 40; the 16 of %u do not fit in what is left.
// BUDGET-LABEL: func.func @loop
// BUDGET-NEXT:    %[[U:.*]] = memref.alloc() : memref<2xf64>
// BUDGET-NEXT:    memref.alloca() : memref<4xf64>
// BUDGET:         memref.dealloc %[[U]]
// BUDGET-NEXT:    func.return

// -----

// Left alone: an allocation outside loops, one freed elsewhere.
func.func @kept(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %outer = memref.alloc() : memref<4xf64>
  scf.for %i = %c0 to %n step %c1 {
    %e = memref.alloc() : memref<4xf64>
    func.call @use_static(%e) : (memref<4xf64>) -> ()
    %true = arith.constant true
    scf.if %true {
      memref.dealloc %e : memref<4xf64>
    }
  }
  memref.dealloc %outer : memref<4xf64>
  func.return
}
// CHECK-LABEL: func.func @kept
// CHECK-NOT:     memref.alloca
// CHECK:         memref.alloc() : memref<4xf64>
// CHECK:         scf.for
// CHECK-NEXT:      memref.alloc() : memref<4xf64>
func.func private @use_static(memref<4xf64>)

// -----

// A temporary of dynamic shape keeps one buffer from one iteration to the
// next, grown when an iteration needs more; freed before the return.
func.func @dynamic(%n: index, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %d = memref.alloc(%m) : memref<?x3xf64>
    func.call @use_dynamic(%d) : (memref<?x3xf64>) -> ()
    memref.dealloc %d : memref<?x3xf64>
  }
  func.return
}
// CHECK-LABEL: func.func @dynamic
// CHECK:         %[[EMPTY:.*]] = memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK-NEXT:    %[[CELL:.*]] = memref.alloca() : memref<memref<?xf64>>
// CHECK-NEXT:    %[[CAP:.*]] = memref.alloca() : memref<index>
// CHECK:         scf.for
// CHECK-NOT:       memref.alloc(%m)
// CHECK:           %[[HAVE:.*]] = memref.load %[[CAP]][]
// CHECK-NEXT:      %[[SMALL:.*]] = arith.cmpi ult, %[[HAVE]]
// CHECK-NEXT:      scf.if %[[SMALL]] {
// CHECK:             memref.dealloc
// CHECK:             memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK:           }
// CHECK:           %[[FLAT:.*]] = memref.load %[[CELL]][]
// CHECK:           %[[VIEW:.*]] = memref.reinterpret_cast %[[FLAT]] to offset: [0], sizes: [%m, 3], strides: [3, 1] : memref<?xf64> to memref<?x3xf64>
// CHECK-NEXT:      func.call @use_dynamic(%[[VIEW]])
// CHECK-NOT:       memref.dealloc
// CHECK:         }
// CHECK:         %[[LAST:.*]] = memref.load %[[CELL]][]
// CHECK-NEXT:    memref.dealloc %[[LAST]]
// CHECK-NEXT:    func.return
// NOREUSE-LABEL: func.func @dynamic
// NOREUSE:         scf.for
// NOREUSE-NEXT:      memref.alloc(%m) : memref<?x3xf64>
func.func private @use_dynamic(memref<?x3xf64>)
