// REQUIRES: mlir-opt
// RUN: noma-opt %s -p 'noma-lower-matmul{register-block=4x16 vector-width=8}' | %mlir-opt | filecheck %s
// RUN: noma-opt %s -p 'noma-lower-matmul{register-block=4x16 vector-width=8},noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts' | %mlir-opt | filecheck %s --check-prefix=LLVM
// The pass's output is upstream MLIR (func, arith, scf, memref, vector) that
// upstream mlir-opt verifies; so is NOMA's lowering of it to the llvm dialect.
func.func @f(%a: memref<?x?xf64>, %b: memref<?x?xf64>, %c: memref<?x?xf64>) {
  noma_linalg.matmul %a, %b into %c {transpose_a} : memref<?x?xf64>, memref<?x?xf64> into memref<?x?xf64>
  func.return
}
// CHECK: call @__noma_matmul_tn(
// CHECK: func.func private @__noma_matmul_tn
// CHECK: vector.broadcast %{{.*}} : f64 to vector<8xf64>
// LLVM: llvm.func @f(
// LLVM: llvm.shufflevector
