// RUN: noma-opt %s --split-input-file -p noma-hoist-temporaries | filecheck %s
// RUN: noma-opt %s --split-input-file -p 'noma-hoist-temporaries{stack-buffer-bytes=0}' | filecheck %s --check-prefix=HEAP
// RUN: noma-opt %s --split-input-file -p 'noma-hoist-temporaries{stack-function-bytes=40}' | filecheck %s --check-prefix=BUDGET
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

// Left alone: a dynamic shape, an allocation outside loops, one freed
// elsewhere.
func.func @kept(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %outer = memref.alloc() : memref<4xf64>
  scf.for %i = %c0 to %n step %c1 {
    %d = memref.alloc(%n) : memref<?xf64>
    %e = memref.alloc() : memref<4xf64>
    func.call @use_dynamic(%d, %e) : (memref<?xf64>, memref<4xf64>) -> ()
    memref.dealloc %d : memref<?xf64>
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
// CHECK-NEXT:      memref.alloc(%n) : memref<?xf64>
// CHECK-NEXT:      memref.alloc() : memref<4xf64>
func.func private @use_dynamic(memref<?xf64>, memref<4xf64>)
