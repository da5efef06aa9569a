// RUN: noma-opt %s -p 'noma-lower-matmul{register-block=2x4 vector-width=2}' | filecheck %s
// RUN: noma-opt %s -p 'noma-lower-matmul{register-block=2x4 vector-width=2 fma=true}' | filecheck %s --check-prefix=FMA

// Transposed operands are read in place, their indices swapped: A^T by the
// kernels' broadcasts, B^T by the packing.
func.func @transposed(%at: memref<?x?xf64>, %bt: memref<?x?xf64>, %c: memref<?x?xf64>) {
  noma_linalg.matmul %at, %bt into %c {transpose_a, transpose_b} : memref<?x?xf64>, memref<?x?xf64> into memref<?x?xf64>
  func.return
}
// CHECK-LABEL: func.func @transposed(
// CHECK:         func.call @__noma_matmul_tt(
// CHECK-LABEL: func.func private @__noma_matmul_tt(
// CHECK-SAME:    %[[AT:.*]]: memref<?x?xf64>, %[[BT:.*]]: memref<?x?xf64>, %[[C:.*]]: memref<?x?xf64>)
// Sizes come from the buffers at run time: M and N from C, K from A^T's rows.
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[M:.*]] = memref.dim %[[C]], %[[C0]]
// CHECK-NEXT:    %[[N:.*]] = memref.dim %[[C]], %[[C1]]
// CHECK-NEXT:    %[[K:.*]] = memref.dim %[[AT]], %[[C0]]
// Packing reads B^T[jr + c, pc + k].
// CHECK:         scf.for %[[PC:.*]] = %{{.*}} to %[[K]] step
// CHECK:         %[[KK:.*]] = arith.addi %[[PC]], %{{.*}} : index
// CHECK-NEXT:    %[[JJ:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    memref.load %[[BT]][%[[JJ]], %[[KK]]]
// The kernel broadcasts A^T[k, i].
// CHECK:         %[[X:.*]] = memref.load %[[AT]][%{{.*}}, %{{.*}}] : memref<?x?xf64>
// CHECK-NEXT:    vector.broadcast %[[X]] : f64 to vector<2xf64>
// The edge kernel packs B^T and broadcasts A^T alike.
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[N]] step
// CHECK:         memref.load %[[BT]][%{{.*}}, %{{.*}}]
// CHECK:         %[[EX:.*]] = memref.load %[[AT]][%{{.*}}, %{{.*}}] : memref<?x?xf64>
// CHECK-NEXT:    vector.broadcast %[[EX]] : f64 to vector<2xf64>

// FMA-LABEL: func.func private @__noma_matmul_tt(
// FMA:         vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<2xf64>
// FMA-NOT:     arith.mulf %{{.*}} : vector<2xf64>
