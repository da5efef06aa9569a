// RUN: noma-opt %s -p 'noma-lower-matmul{register-block=2x4 vector-width=2}' | filecheck %s
// RUN: noma-opt %s -p 'noma-lower-matmul{register-block=2x4 vector-width=2 inline-below=0}' | filecheck %s --check-prefix=NOINLINE

// Matmuls of one layout share one function, whatever their shapes; another
// layout has its own.
func.func @shared(%a: memref<64x64xf64>, %b: memref<64x64xf64>, %x: memref<?x?xf64>, %y: memref<?x?xf64>) {
  %c = memref.alloc() : memref<64x64xf64>
  noma_linalg.matmul %a, %b into %c : memref<64x64xf64>, memref<64x64xf64> into memref<64x64xf64>
  noma_linalg.matmul %x, %y into %x : memref<?x?xf64>, memref<?x?xf64> into memref<?x?xf64>
  noma_linalg.matmul %a, %b into %c {transpose_b} : memref<64x64xf64>, memref<64x64xf64> into memref<64x64xf64>
  func.return
}
// CHECK-LABEL: func.func @shared(
// CHECK:         func.call @__noma_matmul_nn(
// CHECK-NOT:     "memref.cast"
// CHECK:         func.call @__noma_matmul_nn(%{{.*}}, %{{.*}}, %{{.*}}) :
// CHECK:         func.call @__noma_matmul_nt(

// A small matmul of static shape (M * K * N < inline-below, default 32768)
// stays in place as scalar i-k-j loops, which LLVM vectorises over j knowing
// the trip counts: no call, no packing, no vector ops.
func.func @small(%a: memref<5x3xf64>, %b: memref<3x20xf64>, %c: memref<5x20xf64>) {
  noma_linalg.matmul %a, %b into %c : memref<5x3xf64>, memref<3x20xf64> into memref<5x20xf64>
  func.return
}
// CHECK-LABEL: func.func @small(
// CHECK-NOT:     func.call
// CHECK-NOT:     vector.
// CHECK:         memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : memref<5x20xf64>
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        %[[X:.*]] = memref.load %{{.*}}[%[[I]], %[[K]]] : memref<5x3xf64>
// CHECK-NEXT:        scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:               arith.mulf %[[X]], %{{.*}} : f64
// CHECK:         func.return
// NOINLINE-LABEL: func.func @small(
// NOINLINE:         func.call @__noma_matmul_nn(

// Each layout's function once, after the functions calling it.
// CHECK:         func.func private @__noma_matmul_nn(
// CHECK-NOT:     func.func private @__noma_matmul_nn(
// CHECK:         func.func private @__noma_matmul_nt(
// CHECK-NOT:     func.func private @__noma_matmul_n
