// REQUIRES: mlir-opt
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s --check-prefix=CLEAN
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts,dce | %mlir-opt | filecheck %s --check-prefix=SAME
// RUN: %mlir-opt %s --finalize-memref-to-llvm --convert-func-to-llvm --convert-arith-to-llvm --reconcile-unrealized-casts | filecheck %s --check-prefix=SAME
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts,dce | %mlir-opt | mlir-translate-22 --mlir-to-llvmir | filecheck %s --check-prefix=LLVMIR

// A memref whose element is a memref: the element is the element memref's
// descriptor struct, stored in memory and loaded or stored as a whole struct,
// and the element size is the struct's (8 * (3 + 2 * rank) bytes: 40 for rank
// 1, 56 for rank 2). This is the mutable "cell" holding a buffer whose shape
// changes at run time (NOMA's `realloc`). The SAME lines hold for NOMA's output
// (verified by upstream mlir-opt) and for upstream's own lowering
// (--finalize-memref-to-llvm) alike; mlir-translate turns NOMA's output into
// LLVM IR.

// CLEAN-NOT: memref.
// CLEAN-NOT: unrealized_conversion_cast

// A cell on the stack: one descriptor-sized, 8-aligned slot; the store and the
// load move the whole descriptor.
// CHECK-LABEL: llvm.func @cell_on_stack
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1) : i64
// CHECK-NEXT: %[[SLOT:.*]] = llvm.alloca %[[ONE]] x !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<2 x i64>, !llvm.array<2 x i64>)> {alignment = 8 : i64} : (i64) -> !llvm.ptr
// CHECK: llvm.call @malloc
// CHECK: %[[BUF:.*]] = llvm.insertvalue %{{.*}}, %{{.*}}[4, 1] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<2 x i64>, !llvm.array<2 x i64>)>
// The cell's pointer is the slot its descriptor was built from: no
// extractvalue from that descriptor.
// CHECK-NEXT: llvm.store %[[BUF]], %[[SLOT]] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<2 x i64>, !llvm.array<2 x i64>)>, !llvm.ptr
// CHECK-NEXT: %[[B:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<2 x i64>, !llvm.array<2 x i64>)>
// CHECK-NEXT: llvm.return %[[B]]
// SAME-LABEL: llvm.func @cell_on_stack
// SAME-SAME: -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// SAME: llvm.alloca %{{.*}} x !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// SAME: llvm.store %{{.*}}, %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, !llvm.ptr
// SAME: llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// LLVMIR-LABEL: define { ptr, ptr, i64, [2 x i64], [2 x i64] } @cell_on_stack(i64 %{{.*}}, i64 %{{.*}})
// LLVMIR: alloca { ptr, ptr, i64, [2 x i64], [2 x i64] }, i64 1, align 8
// LLVMIR: store { ptr, ptr, i64, [2 x i64], [2 x i64] } %{{.*}}, ptr %{{.*}}, align 8
// LLVMIR: load { ptr, ptr, i64, [2 x i64], [2 x i64] }, ptr %{{.*}}, align 8
func.func @cell_on_stack(%rows: index, %cols: index) -> memref<?x?xf64> {
  %cell = memref.alloca() : memref<memref<?x?xf64>>
  %buf = memref.alloc(%rows, %cols) : memref<?x?xf64>
  memref.store %buf, %cell[] : memref<memref<?x?xf64>>
  %b = memref.load %cell[] : memref<memref<?x?xf64>>
  func.return %b : memref<?x?xf64>
}

// A cell on the heap: malloc of one 40-byte descriptor, freed by dealloc.
// CHECK-LABEL: llvm.func @cell_on_heap
// CHECK: %[[SIZE:.*]] = llvm.mlir.constant(40) : i64
// CHECK: %[[RAW:.*]] = llvm.call @malloc(%[[SIZE]]) : (i64) -> !llvm.ptr
// CHECK: llvm.store %{{.*}}, %[[RAW]] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>, !llvm.ptr
// CHECK-NEXT: llvm.load %[[RAW]] : !llvm.ptr -> !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.call @free(%[[RAW]]) : (!llvm.ptr) -> ()
// SAME-LABEL: llvm.func @cell_on_heap
// SAME: llvm.call @malloc
// SAME: llvm.store %{{.*}}, %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, !llvm.ptr
// SAME: llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME: llvm.call @free
// LLVMIR-LABEL: @cell_on_heap(
// LLVMIR: call ptr @malloc(i64 40)
// LLVMIR: call void @free(
func.func @cell_on_heap(%buf: memref<?xf64>) -> memref<?xf64> {
  %cell = memref.alloc() : memref<memref<?xf64>>
  memref.store %buf, %cell[] : memref<memref<?xf64>>
  %b = memref.load %cell[] : memref<memref<?xf64>>
  memref.dealloc %cell : memref<memref<?xf64>>
  func.return %b : memref<?xf64>
}

// A cell passed to a function is a rank-0 memref argument: expanded to
// (allocated, aligned, offset) like any other.
// CHECK-LABEL: llvm.func @cell_argument
// CHECK-SAME: (%{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %{{[^:]+}}: i64)
// CHECK: llvm.load
// CHECK: llvm.store
// SAME-LABEL: llvm.func @cell_argument
// SAME-SAME: (%{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %{{[^:]+}}: i64)
// LLVMIR-LABEL: define { ptr, ptr, i64, [1 x i64], [1 x i64] } @cell_argument(ptr %{{.*}}, ptr %{{.*}}, i64 %{{.*}}, ptr %{{.*}}, ptr %{{.*}}, i64 %{{.*}}, i64 %{{.*}}, i64 %{{.*}})
func.func @cell_argument(%cell: memref<memref<?xf64>>, %buf: memref<?xf64>) -> memref<?xf64> {
  %old = memref.load %cell[] : memref<memref<?xf64>>
  memref.store %buf, %cell[] : memref<memref<?xf64>>
  func.return %old : memref<?xf64>
}

// Rank 1: %n descriptors of 40 bytes; element %i is a getelementptr over the
// descriptor struct.
// CHECK-LABEL: llvm.func @table
// CHECK-SAME: (%[[N:[^:]+]]: i64, %[[I:[^:]+]]: i64
// CHECK: %[[C40:.*]] = llvm.mlir.constant(40 : i128) : i128
// CHECK: %[[WIDE:.*]] = llvm.zext %[[N]] : i64 to i128
// CHECK-NEXT: llvm.mul %[[C40]], %[[WIDE]] : i128
// CHECK: %[[BYTES:.*]] = llvm.select %{{.*}}, %{{.*}}, %{{.*}} : i1, i64
// CHECK-NEXT: llvm.call @malloc(%[[BYTES]])
// CHECK: %[[E:.*]] = llvm.getelementptr %{{.*}}[%[[I]]] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.store %{{.*}}, %[[E]] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>, !llvm.ptr
// CHECK: %[[F:.*]] = llvm.getelementptr %{{.*}}[%[[I]]] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.load %[[F]] : !llvm.ptr -> !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// SAME-LABEL: llvm.func @table
// SAME-SAME: (%{{[^:]+}}: i64, %[[SI:[^:]+]]: i64
// SAME: llvm.getelementptr {{.*}}[%[[SI]]] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME-NEXT: llvm.store %{{.*}}, %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, !llvm.ptr
// SAME: llvm.getelementptr {{.*}}[%[[SI]]] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME-NEXT: llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// LLVMIR-LABEL: @table(
// LLVMIR: getelementptr { ptr, ptr, i64, [1 x i64], [1 x i64] }, ptr %{{.*}}, i64 %{{.*}}
func.func @table(%n: index, %i: index, %row: memref<?xf64>) -> memref<?xf64> {
  %table = memref.alloc(%n) : memref<?xmemref<?xf64>>
  memref.store %row, %table[%i] : memref<?xmemref<?xf64>>
  %r = memref.load %table[%i] : memref<?xmemref<?xf64>>
  memref.dealloc %table : memref<?xmemref<?xf64>>
  func.return %r : memref<?xf64>
}

// Copying a cell copies the descriptor (56 bytes), not the buffer it points to.
// CHECK-LABEL: llvm.func @copy_cell
// CHECK: %[[C56:.*]] = llvm.mlir.constant(56) : i64
// CHECK: llvm.call_intrinsic "llvm.memcpy.p0.p0.i64"(%{{.*}}, %{{.*}}, %[[C56]], %{{.*}})
// LLVMIR-LABEL: @copy_cell(
// LLVMIR: call void @llvm.memcpy.p0.p0.i64(ptr %{{.*}}, ptr %{{.*}}, i64 56, i1 false)
func.func @copy_cell(%a: memref<memref<?x?xf64>>, %b: memref<memref<?x?xf64>>) {
  "memref.copy"(%a, %b) : (memref<memref<?x?xf64>>, memref<memref<?x?xf64>>) -> ()
  func.return
}

// The buffers a cell holds: dynamic rank-2 alloc (8 * d0 * d1 bytes, each
// product in i128 saturated at 2^63), dims read from the descriptor, and a
// copy between two memref<?x?xf64> of the same shape (a memcpy of the
// source's d0 * d1 * 8 bytes).
// The dims are the function's size arguments themselves (no extractvalue
// from the descriptor rebuilt from them); constants are made once, at the
// top of the function.
// CHECK-LABEL: llvm.func @copy_dynamic
// CHECK-SAME: (%{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %[[D0:[^:]+]]: i64, %[[D1:[^:]+]]: i64,
// CHECK-DAG: %[[E8:.*]] = llvm.mlir.constant(8) : i64
// CHECK-DAG: %[[C8:.*]] = llvm.mlir.constant(8 : i128) : i128
// CHECK-DAG: %[[BOUND:.*]] = llvm.mlir.constant(9223372036854775808 : i128) : i128
// CHECK-NOT: llvm.extractvalue
// CHECK: %[[W0:.*]] = llvm.zext %[[D0]] : i64 to i128
// CHECK-NEXT: %[[P0:.*]] = llvm.mul %[[C8]], %[[W0]] : i128
// CHECK-NEXT: %[[O0:.*]] = llvm.icmp "ugt" %[[P0]], %[[BOUND]] : i128
// CHECK-NEXT: %[[S0:.*]] = llvm.select %[[O0]], %[[BOUND]], %[[P0]] : i1, i128
// CHECK-NEXT: %[[W1:.*]] = llvm.zext %[[D1]] : i64 to i128
// CHECK-NEXT: %[[P1:.*]] = llvm.mul %[[S0]], %[[W1]] : i128
// CHECK: %[[BYTES:.*]] = llvm.select %{{.*}}, %{{.*}}, %{{.*}} : i1, i64
// CHECK-NEXT: llvm.call @malloc(%[[BYTES]])
// CHECK: llvm.insertvalue %[[D0]], %{{.*}}[3, 0]
// CHECK-NEXT: llvm.insertvalue %[[D1]], %{{.*}}[3, 1]
// CHECK-NEXT: llvm.insertvalue %[[D1]], %{{.*}}[4, 0]
// CHECK-NOT: llvm.extractvalue
// CHECK: %[[N:.*]] = llvm.mul %[[D0]], %[[D1]] : i64
// CHECK-NEXT: %[[NB:.*]] = llvm.mul %[[N]], %[[E8]] : i64
// CHECK: llvm.call_intrinsic "llvm.memcpy.p0.p0.i64"(%{{.*}}, %{{.*}}, %[[NB]], %{{.*}})
// LLVMIR-LABEL: @copy_dynamic(
// LLVMIR: call void @llvm.memcpy.p0.p0.i64(
func.func @copy_dynamic(%src: memref<?x?xf64>) -> memref<?x?xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = memref.dim %src, %c0 : memref<?x?xf64>
  %d1 = memref.dim %src, %c1 : memref<?x?xf64>
  %dst = memref.alloc(%d0, %d1) : memref<?x?xf64>
  "memref.copy"(%src, %dst) : (memref<?x?xf64>, memref<?x?xf64>) -> ()
  func.return %dst : memref<?x?xf64>
}
