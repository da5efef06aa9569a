// RUN: not noma-opt %s -p convert-vector-to-llvm 2>&1 | filecheck %s
// Only 1-D vectors of scalars are lowered; anything else is one located line.
func.func @matrix(%m: memref<?x?xf64>, %i: index) {
  %v = vector.load %m[%i, %i] : memref<?x?xf64>, vector<2x4xf64>
  func.return
}
// CHECK: vector_errors.mlir:4:3: error: convert-vector-to-llvm: cannot lower 'vector.load': only 1-D vectors are supported, got vector<2x4xf64>
// CHECK-NOT: Traceback
