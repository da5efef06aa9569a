// RUN: noma-opt %s -p convert-vector-to-llvm | filecheck %s
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | noma-translate - --mlir-to-llvmir | filecheck %s --check-prefix=IR

// The vector ops of the matmul micro-kernel: a load or store of W
// consecutive elements at the address memref.load would use (aligned to the
// element only), a splat by insertelement + shufflevector, fma as the intrinsic.
func.func @kernel(%m: memref<?x?xf64>, %i: index, %j: index, %x: f64) {
  %v = vector.load %m[%i, %j] : memref<?x?xf64>, vector<8xf64>
  %s = vector.broadcast %x : f64 to vector<8xf64>
  %p = arith.mulf %s, %v : vector<8xf64>
  %f = vector.fma %s, %v, %p : vector<8xf64>
  vector.store %f, %m[%i, %j] : memref<?x?xf64>, vector<8xf64>
  func.return
}
// CHECK-LABEL: func.func @kernel(
// CHECK:         %[[LANE0:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK:         %[[ADDR:.*]] = llvm.getelementptr %{{.*}}[%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, f64
// CHECK-NEXT:    %[[V:.*]] = llvm.load %[[ADDR]] {alignment = 8 : i64} : !llvm.ptr -> vector<8xf64>
// CHECK-NEXT:    %[[UNDEF:.*]] = llvm.mlir.undef : vector<8xf64>
// CHECK-NEXT:    %[[ONE:.*]] = llvm.insertelement %{{.*}}, %[[UNDEF]][%[[LANE0]] : i32] : vector<8xf64>
// CHECK-NEXT:    %[[SPLAT:.*]] = llvm.shufflevector %[[ONE]], %[[UNDEF]] [0, 0, 0, 0, 0, 0, 0, 0] : vector<8xf64>
// CHECK:         llvm.intr.fma(%[[SPLAT]], %[[V]], %{{.*}}) : (vector<8xf64>, vector<8xf64>, vector<8xf64>) -> vector<8xf64>
// CHECK:         %[[VADDR:.*]] = llvm.getelementptr %{{.*}}[0] : (!llvm.ptr) -> !llvm.ptr, vector<8xf64>
// CHECK-NEXT:    llvm.store %{{.*}}, %[[VADDR]] {alignment = 8 : i64} : vector<8xf64>, !llvm.ptr
// CHECK-NOT:     vector.

// IR: load <8 x double>, ptr %{{.*}}, align 8
// IR: insertelement <8 x double> {{.*}}, double %{{.*}}, i32 0
// IR: shufflevector <8 x double> %{{.*}}, <8 x double> {{.*}}, <8 x i32> <i32 0, i32 0, i32 0, i32 0, i32 0, i32 0, i32 0, i32 0>
// IR: fmul <8 x double>
// IR: call <8 x double> @"llvm.fma.v8f64"(
// IR: store <8 x double> %{{.*}}, ptr %{{.*}}, align 8
