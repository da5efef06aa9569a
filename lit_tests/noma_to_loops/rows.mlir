// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// A block of rows is copied out of its tensor into a buffer of its own; its
// adjoint is copied into zeros of the tensor's shape. Both check at run time
// that the block lies inside the tensor.

func.func @rows(%x: tensor<6x2xf64>, %start: f64, %count: f64) -> tensor<?x2xf64> {
  %b = noma.rows %x [%start, %count] : tensor<6x2xf64> -> tensor<?x2xf64>
  func.return %b : tensor<?x2xf64>
}
// CHECK-LABEL: func.func @rows(
// CHECK-SAME:    %[[X:[^:]*]]: memref<6x2xf64>, %[[START:[^:]*]]: f64, %[[COUNT:[^:]*]]: f64) -> memref<?x2xf64>
// CHECK-DAG:     %[[SIX:.*]] = arith.constant 6 : index
// CHECK-DAG:     %[[TWO:.*]] = arith.constant 2 : index
// CHECK:         %[[S64:.*]] = arith.fptosi %[[START]] : f64 to i64
// CHECK-NEXT:    %[[S:.*]] = arith.index_cast %[[S64]] : i64 to index
// CHECK-NEXT:    %[[C64:.*]] = arith.fptosi %[[COUNT]] : f64 to i64
// CHECK-NEXT:    %[[C:.*]] = arith.index_cast %[[C64]] : i64 to index
// CHECK:         %[[FROM_ZERO:.*]] = arith.cmpi sge, %[[S]], %{{.*}} : index
// CHECK:         scf.if %{{.*}} {
// CHECK:           func.call @noma_runtime_error
// CHECK:         %[[END:.*]] = arith.addi %[[S]], %[[C]] : index
// CHECK:         %[[INSIDE:.*]] = arith.cmpi sle, %[[END]], %[[SIX]] : index
// CHECK:         scf.if %{{.*}} {
// CHECK:           func.call @noma_runtime_error
// CHECK:         %[[OUT:.*]] = memref.alloc(%[[C]]) : memref<?x2xf64>
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %[[C]] step %{{.*}} {
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %[[TWO]] step %{{.*}} {
// CHECK-NEXT:        %[[ROW:.*]] = arith.addi %[[S]], %[[I]] : index
// CHECK-NEXT:        %[[E:.*]] = memref.load %[[X]][%[[ROW]], %[[J]]] : memref<6x2xf64>
// CHECK-NEXT:        memref.store %[[E]], %[[OUT]][%[[I]], %[[J]]] : memref<?x2xf64>
// CHECK:         func.return %[[OUT]] : memref<?x2xf64>

// A block of a static row count checks that the count is that one.
func.func @static_block(%v: tensor<?xf64>, %start: f64, %count: f64) -> tensor<3xf64> {
  %b = noma.rows %v [%start, %count] : tensor<?xf64> -> tensor<3xf64>
  func.return %b : tensor<3xf64>
}
// CHECK-LABEL: func.func @static_block(
// CHECK:         %[[ROWS:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?xf64>
// CHECK:         arith.cmpi sle, %{{.*}}, %[[ROWS]] : index
// CHECK:         %[[THREE:.*]] = arith.constant 3 : index
// CHECK-NEXT:    %[[SAME:.*]] = arith.cmpi eq, %{{.*}}, %[[THREE]] : index
// CHECK:         scf.if %{{.*}} {
// CHECK:           func.call @noma_runtime_error
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<3xf64>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[THREE]] step

func.func @rows_adjoint(%g: tensor<?x2xf64>, %start: f64, %x: tensor<6x2xf64>) -> tensor<6x2xf64> {
  %d = noma.rows_adjoint %g [%start] like %x : tensor<?x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>
  func.return %d : tensor<6x2xf64>
}
// CHECK-LABEL: func.func @rows_adjoint(
// CHECK-SAME:    %[[G:[^:]*]]: memref<?x2xf64>
// CHECK:         %[[N:.*]] = memref.dim %[[G]], %{{.*}} : memref<?x2xf64>
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<6x2xf64>
// CHECK:         memref.store %{{.*}}, %[[OUT]][%{{.*}}, %{{.*}}] : memref<6x2xf64>
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} {
// CHECK-NEXT:      scf.for %[[J:.*]] = {{.*}} {
// CHECK-NEXT:        %[[ROW:.*]] = arith.addi %{{.*}}, %[[I]] : index
// CHECK-NEXT:        %[[E:.*]] = memref.load %[[G]][%[[I]], %[[J]]] : memref<?x2xf64>
// CHECK-NEXT:        memref.store %[[E]], %[[OUT]][%[[ROW]], %[[J]]] : memref<6x2xf64>
// CHECK:         func.return %[[OUT]] : memref<6x2xf64>
