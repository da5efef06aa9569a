// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// An operand whose size along an axis is known only at run time may
// broadcast along it: its index is `select(dim == 1, 0, i)`, marked
// noma.broadcast for noma-unswitch-broadcasts, with the condition computed
// once before the loops. A fused product of two such operands has its
// shape checked at run time like a stored one (operands of one dynamic type
// may still disagree), and its loops run over the broadcast shape.

func.func @rows(%a: tensor<?x?xf64>, %b: tensor<?x?xf64>) -> f64 {
  %p = noma.mul %a, %b : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64>
  %s = noma.sum %p : tensor<?x?xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @rows(
// CHECK-SAME:    %[[A:.*]]: memref<?x?xf64>, %[[B:.*]]: memref<?x?xf64>)
// The rows must agree, or one of them be 1: else a located run-time error.
// CHECK:         %[[ROWS:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK:         scf.if
// CHECK:           func.call @noma_shape_error(
// CHECK:         %[[COLS:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK:         scf.if
// CHECK:           func.call @noma_shape_error(
// The conditions, before the loops:
// CHECK:         %[[A0:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:         %[[A1:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:         %[[B0:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:         %[[B1:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %[[ROWS]] step
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %[[COLS]] step
// CHECK:             %[[AI:.*]] = arith.select %[[A0]], %{{.*}}, %[[I]] {noma.broadcast} : index
// CHECK:             %[[AJ:.*]] = arith.select %[[A1]], %{{.*}}, %[[J]] {noma.broadcast} : index
// CHECK-NEXT:        memref.load %[[A]][%[[AI]], %[[AJ]]] : memref<?x?xf64>
// CHECK:             %[[BI:.*]] = arith.select %[[B0]], %{{.*}}, %[[I]] {noma.broadcast} : index
// CHECK:             %[[BJ:.*]] = arith.select %[[B1]], %{{.*}}, %[[J]] {noma.broadcast} : index
// CHECK-NEXT:        memref.load %[[B]][%[[BI]], %[[BJ]]] : memref<?x?xf64>

// A loop that runs below the operand's own dimension needs no select: were
// that dimension 1, the index would be 0 anyway.
func.func @total(%a: tensor<?xf64>) -> f64 {
  %s = noma.sum %a : tensor<?xf64> -> f64
  func.return %s : f64
}
// CHECK-LABEL: func.func @total(
// CHECK-SAME:    %[[V:.*]]: memref<?xf64>)
// CHECK:         %[[N:.*]] = memref.dim %[[V]], %{{.*}} : memref<?xf64>
// CHECK:         scf.for %[[K:.*]] = %{{.*}} to %[[N]] step
// CHECK-NEXT:      memref.load %[[V]][%[[K]]] : memref<?xf64>
// CHECK-NOT:     arith.select
