// REQUIRES: mlir-opt
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | %mlir-opt | filecheck %s --check-prefix=SAME
// RUN: %mlir-opt %s --finalize-memref-to-llvm --convert-func-to-llvm --convert-arith-to-llvm --reconcile-unrealized-casts | filecheck %s --check-prefix=SAME
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts,dce | %mlir-opt | mlir-translate-22 --mlir-to-llvmir | filecheck %s --check-prefix=LLVMIR

// memref.reinterpret_cast is a view: a new descriptor over the source's
// allocated and aligned pointers with the op's offset, sizes and strides.
// Upstream mlir-opt verifies NOMA's output and prints it, and the SAME lines
// hold for that and for upstream's own lowering (--finalize-memref-to-llvm)
// alike; mlir-translate turns NOMA's output into LLVM IR.

// An N-d identity buffer seen as a flat memref<?xf64>: offset 0, size %n,
// stride 1, the pointers copied from the source.
// NOMA's output uses the source's pointers as they came (here the function's
// own arguments) and the constants made once at the top of the function.
// CHECK-LABEL: llvm.func @flatten
// CHECK-SAME: (%[[ALLOC:[^:]+]]: !llvm.ptr, %[[ALIGNED:[^:]+]]: !llvm.ptr,
// CHECK-DAG: %[[ZERO:.*]] = llvm.mlir.constant(0) : i64
// CHECK-DAG: %[[ONE:.*]] = llvm.mlir.constant(1) : i64
// CHECK: llvm.insertvalue %[[ALLOC]], %{{.*}}[0] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.insertvalue %[[ALIGNED]], %{{.*}}[1] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.insertvalue %[[ZERO]], %{{.*}}[2] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.insertvalue %{{.*}}, %{{.*}}[3, 0] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-NEXT: llvm.insertvalue %[[ONE]], %{{.*}}[4, 0] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// SAME-LABEL: llvm.func @flatten
// SAME: llvm.insertvalue %{{.*}}, %{{.*}}[0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME-NEXT: llvm.insertvalue %{{.*}}, %{{.*}}[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME: llvm.insertvalue %{{.*}}, %{{.*}}[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME: llvm.insertvalue %{{.*}}, %{{.*}}[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// SAME: llvm.insertvalue %{{.*}}, %{{.*}}[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK-NOT: memref.
func.func @flatten(%m: memref<4x2xf64>, %n: index) -> memref<?xf64> {
  %flat = memref.reinterpret_cast %m to offset: [0], sizes: [%n], strides: [1] : memref<4x2xf64> to memref<?xf64>
  func.return %flat : memref<?xf64>
}

// Dynamic offset and stride (column %j of a row-major matrix): the new
// descriptor holds the operands, and a load uses those operands (not an
// extractvalue from the descriptor just built from them).
// CHECK-LABEL: llvm.func @column
// CHECK-SAME: (%{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %[[J:[^:]+]]: i64, %[[ROWS:[^:]+]]: i64, %[[COLS:[^:]+]]: i64)
// CHECK: %[[O:.*]] = llvm.insertvalue %[[J]], %{{.*}}[2]
// CHECK-NEXT: %[[S:.*]] = llvm.insertvalue %[[ROWS]], %[[O]][3, 0]
// CHECK-NEXT: %[[V:.*]] = llvm.insertvalue %[[COLS]], %[[S]][4, 0]
// CHECK-NOT: llvm.extractvalue
// CHECK: llvm.add %[[J]], %[[COLS]] : i64
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> f64
func.func @column(%m: memref<?x?xf64>, %j: index, %rows: index, %cols: index) -> f64 {
  %col = memref.reinterpret_cast %m to offset: [%j], sizes: [%rows], strides: [%cols] : memref<?x?xf64> to memref<?xf64, strided<[?], offset: ?>>
  %c1 = arith.constant 1 : index
  %v = memref.load %col[%c1] : memref<?xf64, strided<[?], offset: ?>>
  func.return %v : f64
}

// A static 2-d view with a static offset, and rank 0.
// CHECK-LABEL: llvm.func @static_views
// CHECK-DAG: %[[C2:.*]] = llvm.mlir.constant(2) : i64
// CHECK: llvm.insertvalue %[[C2]], %{{.*}}[2] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<2 x i64>, !llvm.array<2 x i64>)>
// SAME-LABEL: llvm.func @static_views
// SAME: llvm.insertvalue %{{.*}}, %{{.*}}[2] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// SAME: llvm.insertvalue %{{.*}}[4, 1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// SAME: llvm.insertvalue %{{.*}}[2] : !llvm.struct<(ptr, ptr, i64)>
func.func @static_views(%m: memref<8xf64>) -> f64 {
  %v = memref.reinterpret_cast %m to offset: [2], sizes: [3, 2], strides: [2, 1] : memref<8xf64> to memref<3x2xf64, strided<[2, 1], offset: 2>>
  %s = memref.reinterpret_cast %m to offset: [5], sizes: [], strides: [] : memref<8xf64> to memref<f64, strided<[], offset: 5>>
  %c1 = arith.constant 1 : index
  %a = memref.load %v[%c1, %c1] : memref<3x2xf64, strided<[2, 1], offset: 2>>
  %b = memref.load %s[] : memref<f64, strided<[], offset: 5>>
  %r = arith.addf %a, %b : f64
  func.return %r : f64
}

// memref.alloca with a dynamic size: %n elements on the stack (small shape
// arrays passed to the runtime).
// CHECK-LABEL: llvm.func @stack_dims
// CHECK-SAME: (%[[N:[^:]+]]: i64,
// CHECK: llvm.alloca %[[N]] x i64 {alignment = 8 : i64} : (i64) -> !llvm.ptr
// SAME-LABEL: llvm.func @stack_dims
// SAME: llvm.alloca %arg0 x i64 {{.*}}: (i64) -> !llvm.ptr
func.func @stack_dims(%n: index, %x: i64) -> i64 {
  %dims = memref.alloca(%n) : memref<?xi64>
  %c0 = arith.constant 0 : index
  memref.store %x, %dims[%c0] : memref<?xi64>
  %v = memref.load %dims[%c0] : memref<?xi64>
  func.return %v : i64
}

// LLVMIR-LABEL: define { ptr, ptr, i64, [1 x i64], [1 x i64] } @flatten(
// LLVMIR: insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %{{.*}}, i64 0, 2
// LLVMIR: insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %{{.*}}, i64 1, 4, 0
// LLVMIR-LABEL: define double @column(
// LLVMIR-LABEL: define i64 @stack_dims(
// LLVMIR: alloca i64, i64 %{{.*}}, align 8
