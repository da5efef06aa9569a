// RUN: noma-opt %s -p noma-deallocate | filecheck %s
// RUN: noma-opt %s -p noma-deallocate,noma-deallocate | filecheck %s
// A block frees the buffers it owns (allocations, call and region results,
// loop-carried arguments) after their last use, and only those: arguments,
// globals and what it hands on stay. Running the pass twice frees nothing
// twice.

"memref.global"() <{constant, initial_value = dense<[1.0, 2.0]> : tensor<2xf64>, sym_name = "table", sym_visibility = "private", type = memref<2xf64>}> : () -> ()
func.func private @make() -> memref<2xf64>
func.func private @use(memref<2xf64>) -> ()

// CHECK-LABEL: func.func @straight
func.func @straight(%arg: memref<2xf64>) -> memref<2xf64> {
  %a = memref.alloc() : memref<2xf64>
  %b = memref.alloc() : memref<2xf64>
  %unused = memref.alloc() : memref<2xf64>
  %g = memref.get_global @table : memref<2xf64>
  %c = func.call @make() : () -> memref<2xf64>
  func.call @use(%a) : (memref<2xf64>) -> ()
  func.call @use(%c) : (memref<2xf64>) -> ()
  func.call @use(%g) : (memref<2xf64>) -> ()
  func.call @use(%arg) : (memref<2xf64>) -> ()
  func.return %b : memref<2xf64>
}
// CHECK:         %a = memref.alloc()
// CHECK:         %b = memref.alloc()
// CHECK:         %unused = memref.alloc()
// CHECK-NEXT:    memref.dealloc %unused
// CHECK:         %c = func.call @make()
// CHECK-NEXT:    func.call @use(%a)
// CHECK-NEXT:    memref.dealloc %a
// CHECK-NEXT:    func.call @use(%c)
// CHECK-NEXT:    memref.dealloc %c
// CHECK-NEXT:    func.call @use(%g)
// CHECK-NEXT:    func.call @use(%arg)
// CHECK-NEXT:    func.return %b
// CHECK-NOT:     memref.dealloc

// The last use of a buffer is the last use of any view of it.
// CHECK-LABEL: func.func @view
func.func @view() {
  %a = memref.alloc() : memref<2xf64>
  %v = memref.reinterpret_cast %a to offset: [0], sizes: [2], strides: [1] : memref<2xf64> to memref<2xf64>
  func.call @use(%v) : (memref<2xf64>) -> ()
  func.return
}
// CHECK:         memref.reinterpret_cast %a
// CHECK-NEXT:    func.call @use(%v)
// CHECK-NEXT:    memref.dealloc %a
// CHECK-NEXT:    func.return

// A loop owns the copy it starts from and what it carries; each iteration
// frees its own temporaries and hands the new carried buffer on; the block
// around the loop owns its result.
// CHECK-LABEL: func.func @loop
func.func @loop(%n: index) {
  %lo = arith.constant 0 : index
  %one = arith.constant 1 : index
  %init = memref.alloc() : memref<2xf64>
  %r = scf.for %i = %lo to %n step %one iter_args(%h = %init) -> (memref<2xf64>) {
    %t = memref.alloc() : memref<2xf64>
    func.call @use(%t) : (memref<2xf64>) -> ()
    %next = memref.alloc() : memref<2xf64>
    func.call @use(%h) : (memref<2xf64>) -> ()
    scf.yield %next : memref<2xf64>
  }
  func.call @use(%r) : (memref<2xf64>) -> ()
  func.return
}
// CHECK:         %init = memref.alloc()
// CHECK-NOT:     memref.dealloc %init
// CHECK:         %r = scf.for {{.*}} iter_args(%h = %init)
// CHECK:           func.call @use(%t)
// CHECK-NEXT:      memref.dealloc %t
// CHECK-NEXT:      %next = memref.alloc()
// CHECK-NEXT:      func.call @use(%h)
// CHECK-NEXT:      memref.dealloc %h
// CHECK-NEXT:      scf.yield %next
// CHECK:         func.call @use(%r)
// CHECK-NEXT:    memref.dealloc %r
// CHECK-NEXT:    func.return

// A branch's result is owned by the block around it.
// CHECK-LABEL: func.func @branch
func.func @branch(%c: i1) {
  %r = scf.if %c -> (memref<2xf64>) {
    %x = memref.alloc() : memref<2xf64>
    scf.yield %x : memref<2xf64>
  } else {
    %y = func.call @make() : () -> memref<2xf64>
    scf.yield %y : memref<2xf64>
  }
  func.call @use(%r) : (memref<2xf64>) -> ()
  func.return
}
// CHECK:         %r = scf.if
// CHECK-NOT:       memref.dealloc
// CHECK:         func.call @use(%r)
// CHECK-NEXT:    memref.dealloc %r
// CHECK-NEXT:    func.return

// A buffer freed already, or stored into a cell that owns it, is left alone.
// CHECK-LABEL: func.func @managed
func.func @managed(%cell: memref<memref<2xf64>>) {
  %a = memref.alloc() : memref<2xf64>
  %b = memref.alloc() : memref<2xf64>
  memref.store %b, %cell[] : memref<memref<2xf64>>
  func.call @use(%a) : (memref<2xf64>) -> ()
  memref.dealloc %a : memref<2xf64>
  func.return
}
// CHECK:         memref.store %b, %cell[]
// CHECK-NEXT:    func.call @use(%a)
// CHECK-NEXT:    memref.dealloc %a
// CHECK-NEXT:    func.return

// A while loop's regions hand their arguments on through `scf.condition`
// and `scf.yield`; what the after region makes and does not yield is freed.
// CHECK-LABEL: func.func @while_loop
func.func @while_loop(%c: i1) {
  %init = memref.alloc() : memref<2xf64>
  %r = scf.while (%x = %init) : (memref<2xf64>) -> memref<2xf64> {
    scf.condition(%c) %x : memref<2xf64>
  } do {
  ^bb0(%y: memref<2xf64>):
    %t = memref.alloc() : memref<2xf64>
    func.call @use(%y) : (memref<2xf64>) -> ()
    scf.yield %y : memref<2xf64>
  }
  func.return
}
// CHECK:         %r = scf.while
// CHECK-NOT:       memref.dealloc %x
// CHECK:           scf.condition(%c) %x
// CHECK:           %t = memref.alloc()
// CHECK-NEXT:      memref.dealloc %t
// CHECK-NEXT:      func.call @use(%y)
// CHECK-NEXT:      scf.yield %y
// CHECK:         memref.dealloc %r
// CHECK-NEXT:    func.return
