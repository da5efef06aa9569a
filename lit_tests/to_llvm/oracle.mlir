// REQUIRES: mlir-opt
// RUN: noma-opt %s -p noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce | %mlir-opt | filecheck %s
// RUN: noma-opt %s -p noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce | %mlir-opt | mlir-translate-22 --mlir-to-llvmir | filecheck %s --check-prefix=LLVMIR

// Upstream mlir-opt parses and verifies NOMA's llvm-dialect output, and upstream
// mlir-translate turns it into LLVM IR (call_intrinsic included).

// CHECK: llvm.func @noma_print_bytes(!llvm.ptr, !llvm.ptr, i64, i64, i64)
// CHECK: llvm.func @kernel
// CHECK: llvm.func @_noma_packed_kernel(%{{.*}}: !llvm.ptr)

// LLVMIR-DAG: declare void @noma_print_bytes(ptr, ptr, i64, i64, i64)
// LLVMIR-DAG: define double @kernel(ptr %{{.*}}, ptr %{{.*}}, i64 %{{.*}}, i64 %{{.*}}, i64 %{{.*}}, i64 %{{.*}}, i64 %{{.*}}, i64 %{{.*}})
// LLVMIR-DAG: call double @llvm.maximum.f64(
// LLVMIR-DAG: call double @llvm.tanh.f64(
// LLVMIR-DAG: call i64 @llvm.fptosi.sat.i64.f64(
// LLVMIR-DAG: call void @llvm.memcpy.p0.p0.i64(
// LLVMIR-DAG: define void @_noma_packed_kernel(ptr %{{.*}})

"memref.global"() <{constant, initial_value = dense<[104, 105, 0]> : tensor<3xi8>, sym_name = "greeting", sym_visibility = "private", type = memref<3xi8>}> : () -> ()
func.func private @noma_print_bytes(memref<?xi8>)

func.func @kernel(%m: memref<?x?xf64>, %n: index) -> f64 attributes {noma.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %g = memref.get_global @greeting : memref<3xi8>
  %s = "memref.cast"(%g) : (memref<3xi8>) -> memref<?xi8>
  func.call @noma_print_bytes(%s) : (memref<?xi8>) -> ()
  %rows = memref.dim %m, %c0 : memref<?x?xf64>
  %cols = memref.dim %m, %c1 : memref<?x?xf64>
  %copy = memref.alloc(%rows, %cols) : memref<?x?xf64>
  "memref.copy"(%m, %copy) : (memref<?x?xf64>, memref<?x?xf64>) -> ()
  %sum = scf.for %i = %c0 to %rows step %c1 iter_args(%acc = %zero) -> (f64) {
    %row = scf.for %j = %c0 to %cols step %c1 iter_args(%racc = %acc) -> (f64) {
      %v = memref.load %copy[%i, %j] : memref<?x?xf64>
      %t = math.tanh %v : f64
      %big = arith.maximumf %t, %racc : f64
      scf.yield %big : f64
    }
    scf.yield %row : f64
  }
  memref.dealloc %copy : memref<?x?xf64>
  %k = arith.fptosi %sum : f64 to i64
  %cell = memref.alloca() : memref<i64>
  memref.store %k, %cell[] : memref<i64>
  %r:2 = scf.while (%i = %c0, %acc = %sum) : (index, f64) -> (index, f64) {
    %more = arith.cmpi slt, %i, %n : index
    scf.condition(%more) %i, %acc : index, f64
  } do {
  ^bb0(%i2: index, %acc2: f64):
    %half = arith.constant 0.5 : f64
    %a = arith.mulf %acc2, %half : f64
    %next = arith.addi %i2, %c1 : index
    scf.yield %next, %a : index, f64
  }
  func.return %r#1 : f64
}
