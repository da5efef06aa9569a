// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s

// Branches keep their block arguments; index arguments become i64 and memref
// arguments the descriptor struct, in the successor and in every branch.
// CHECK-LABEL: llvm.func @pick
// CHECK: llvm.cond_br %{{.*}}, ^[[BB1:.*]](%{{.*}}, %{{.*}} : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>, i64), ^[[BB1]](%{{.*}}, %{{.*}} : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>, i64)
// CHECK: ^[[BB1]](%[[M:.*]]: !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>, %[[K:.*]]: i64):
// CHECK: llvm.extractvalue %[[M]][1]
// CHECK: llvm.getelementptr %{{.*}}[%[[K]]] : (!llvm.ptr, i64) -> !llvm.ptr, f64
// CHECK: llvm.br ^[[BB2:.*]](%{{.*}} : f64)
// CHECK: ^[[BB2]](%[[R:.*]]: f64):
// CHECK-NEXT: llvm.return %[[R]] : f64
// CHECK-NOT: cf.
// CHECK-NOT: unrealized_conversion_cast
func.func @pick(%a: memref<?xf64>, %b: memref<?xf64>, %first: i1, %i: index) -> f64 {
  cf.cond_br %first, ^bb1(%a, %i : memref<?xf64>, index), ^bb1(%b, %i : memref<?xf64>, index)
^bb1(%m: memref<?xf64>, %k: index):
  %v = memref.load %m[%k] : memref<?xf64>
  cf.br ^bb2(%v : f64)
^bb2(%r: f64):
  func.return %r : f64
}

// A loop whose counter is an index block argument, with a back edge.
// CHECK-LABEL: llvm.func @count
// CHECK: llvm.br ^[[HEAD:.*]](%{{.*}} : i64)
// CHECK: ^[[HEAD]](%[[I:.*]]: i64):
// CHECK: llvm.icmp "slt" %[[I]], %{{.*}} : i64
// CHECK: llvm.cond_br %{{.*}}, ^[[BODY:.*]], ^[[EXIT:.*]]
// CHECK: ^[[BODY]]:
// CHECK: llvm.br ^[[HEAD]](%{{.*}} : i64)
// CHECK: ^[[EXIT]]:
// CHECK-NEXT: llvm.return %[[I]] : i64
func.func @count(%n: index) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  cf.br ^head(%c0 : index)
^head(%i: index):
  %more = arith.cmpi slt, %i, %n : index
  cf.cond_br %more, ^body, ^exit
^body:
  %next = arith.addi %i, %c1 : index
  cf.br ^head(%next : index)
^exit:
  func.return %i : index
}
