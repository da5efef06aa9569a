// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s

// A private declaration becomes an llvm.func declaration; a memref argument is
// expanded into (allocated, aligned, offset, size, stride), as upstream does.
// CHECK: llvm.func @noma_print_f64(f64) attributes {sym_visibility = "private"}
// CHECK: llvm.func @noma_print_bytes(!llvm.ptr, !llvm.ptr, i64, i64, i64)
func.func private @noma_print_f64(f64)
func.func private @noma_print_bytes(memref<?xi8>)

// The entry block rebuilds the descriptor from the expanded parameters.
// CHECK-LABEL: llvm.func @takes_matrix
// CHECK-SAME: (%[[A:[^:]+]]: !llvm.ptr, %[[B:[^:]+]]: !llvm.ptr, %[[O:[^:]+]]: i64, %[[S0:[^:]+]]: i64, %[[S1:[^:]+]]: i64, %[[T0:[^:]+]]: i64, %[[T1:[^:]+]]: i64, %[[N:[^:]+]]: i64) -> f64
// CHECK-NEXT: %[[U:.*]] = llvm.mlir.undef : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<2 x i64>, !llvm.array<2 x i64>)>
// CHECK-NEXT: llvm.insertvalue %[[A]], %[[U]][0]
// CHECK-NEXT: llvm.insertvalue %[[B]], %{{.*}}[1]
// CHECK-NEXT: llvm.insertvalue %[[O]], %{{.*}}[2]
// CHECK-NEXT: llvm.insertvalue %[[S0]], %{{.*}}[3, 0]
// CHECK-NEXT: llvm.insertvalue %[[S1]], %{{.*}}[3, 1]
// CHECK-NEXT: llvm.insertvalue %[[T0]], %{{.*}}[4, 0]
// CHECK-NEXT: llvm.insertvalue %[[T1]], %{{.*}}[4, 1]
func.func @takes_matrix(%m: memref<?x?xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %v = memref.load %m[%n, %c0] : memref<?x?xf64>
  func.call @noma_print_f64(%v) : (f64) -> ()
  func.return %v : f64
}

// Calls pass each memref field; several results come back in one struct.
// CHECK-LABEL: llvm.func @two_results
// CHECK-SAME: -> !llvm.struct<(f64, i64)>
// CHECK: %[[S:.*]] = llvm.insertvalue %{{.*}}, %{{.*}}[0] : !llvm.struct<(f64, i64)>
// CHECK-NEXT: %[[S2:.*]] = llvm.insertvalue %{{.*}}, %[[S]][1] : !llvm.struct<(f64, i64)>
// CHECK-NEXT: llvm.return %[[S2]] : !llvm.struct<(f64, i64)>
func.func @two_results(%x: f64, %i: index) -> (f64, index) {
  func.return %x, %i : f64, index
}

// A memref the function received is passed on as the fields it came in (no
// extractvalue from the descriptor rebuilt from them).
// CHECK-LABEL: llvm.func @caller
// CHECK-SAME: (%[[A0:[^:]+]]: !llvm.ptr, %[[A1:[^:]+]]: !llvm.ptr, %[[A2:[^:]+]]: i64, %[[A3:[^:]+]]: i64, %[[A4:[^:]+]]: i64,
// CHECK-NOT: llvm.extractvalue
// CHECK: llvm.call @noma_print_bytes(%[[A0]], %[[A1]], %[[A2]], %[[A3]], %[[A4]]) : (!llvm.ptr, !llvm.ptr, i64, i64, i64) -> ()
// CHECK: %[[R:.*]] = llvm.call @two_results(%{{.*}}, %{{.*}}) : (f64, i64) -> !llvm.struct<(f64, i64)>
// CHECK-NEXT: llvm.extractvalue %[[R]][0] : !llvm.struct<(f64, i64)>
// CHECK-NEXT: llvm.extractvalue %[[R]][1] : !llvm.struct<(f64, i64)>
func.func @caller(%s: memref<?xi8>, %x: f64) -> index {
  func.call @noma_print_bytes(%s) : (memref<?xi8>) -> ()
  %c3 = arith.constant 3 : index
  %a, %b = func.call @two_results(%x, %c3) : (f64, index) -> (f64, index)
  func.return %b : index
}

// A memref result is returned as the descriptor struct.
// CHECK-LABEL: llvm.func @make
// CHECK-SAME: (%{{[^:]+}}: i64) -> !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
func.func @make(%n: index) -> memref<?xf64> {
  %m = memref.alloc(%n) : memref<?xf64>
  func.return %m : memref<?xf64>
}

// `noma.entry` adds the packed entry point `void(void**)`: args[i] points to
// argument i (a descriptor struct for a memref), args[n] to the result.
// CHECK-LABEL: llvm.func @entry
// CHECK-SAME: attributes {noma.entry}
// CHECK-LABEL: llvm.func @_noma_packed_entry
// CHECK-SAME: (%[[ARGS:[^:]+]]: !llvm.ptr) {
// CHECK-NEXT: %[[P0:.*]] = llvm.getelementptr %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT: %[[A0:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: %[[D:.*]] = llvm.load %[[A0]] : !llvm.ptr -> !llvm.struct<(!llvm.ptr, !llvm.ptr, i64, !llvm.array<1 x i64>, !llvm.array<1 x i64>)>
// CHECK-COUNT-5: llvm.extractvalue %[[D]]
// CHECK-NEXT: %[[P1:.*]] = llvm.getelementptr %[[ARGS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT: %[[A1:.*]] = llvm.load %[[P1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: %[[K:.*]] = llvm.load %[[A1]] : !llvm.ptr -> f64
// CHECK-NEXT: %[[R:.*]] = llvm.call @entry({{.*}}, %[[K]]) : (!llvm.ptr, !llvm.ptr, i64, i64, i64, f64) -> f64
// CHECK-NEXT: %[[P2:.*]] = llvm.getelementptr %[[ARGS]][2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT: %[[OUT:.*]] = llvm.load %[[P2]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: llvm.store %[[R]], %[[OUT]] : f64, !llvm.ptr
// CHECK-NEXT: llvm.return
func.func @entry(%m: memref<?xf64>, %k: f64) -> f64 attributes {noma.entry} {
  %c0 = arith.constant 0 : index
  %v = memref.load %m[%c0] : memref<?xf64>
  %r = arith.mulf %v, %k : f64
  func.return %r : f64
}

// A function without results stores nothing.
// CHECK-LABEL: llvm.func @_noma_packed_effect(
// CHECK: llvm.call @effect(%{{.*}}) : (i64) -> ()
// CHECK-NEXT: llvm.return
func.func @effect(%i: index) attributes {noma.entry} {
  func.return
}
