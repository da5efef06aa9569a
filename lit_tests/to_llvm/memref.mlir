// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s
// RUN: noma-opt %s -p convert-to-llvm,reconcile-unrealized-casts | filecheck %s --check-prefix=CLEAN

// CLEAN-NOT: memref.
// CLEAN-NOT: unrealized_conversion_cast

// malloc and free are declared once, on first use.
// CHECK-DAG: llvm.func @malloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @free(!llvm.ptr)
// CHECK-DAG: llvm.func @noma_alloc_failed(i64, !llvm.ptr, i64)

// Globals are flattened to one array of the element type.
// CHECK-DAG: llvm.mlir.global private constant @greeting(dense<[104, 105, 0]> : tensor<3xi8>) {addr_space = 0 : i32} : !llvm.array<3 x i8>
// CHECK-DAG: llvm.mlir.global private constant @table(dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00]> : tensor<6xf64>) {addr_space = 0 : i32} : !llvm.array<6 x f64>
"memref.global"() <{constant, initial_value = dense<[104, 105, 0]> : tensor<3xi8>, sym_name = "greeting", sym_visibility = "private", type = memref<3xi8>}> : () -> ()
"memref.global"() <{constant, initial_value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf64>, sym_name = "table", sym_visibility = "private", type = memref<2x3xf64>}> : () -> ()

// Dynamic size: bytes = n * 3 * 8, computed in i128 and saturated at 2^63 so
// that it never wraps; a count beyond i64 becomes -1, which malloc refuses.
// Strides [3, 1]; offset 0.
// CHECK-LABEL: llvm.func @alloc_dynamic
// CHECK-SAME: (%[[N:[^:]+]]: i64)
// The constants are made once, at the top of the function.
// CHECK-DAG: %[[BOUND:.*]] = llvm.mlir.constant(9223372036854775808 : i128) : i128
// CHECK-DAG: %[[C24:.*]] = llvm.mlir.constant(24 : i128) : i128
// CHECK-DAG: %[[MAX:.*]] = llvm.mlir.constant(9223372036854775807 : i128) : i128
// CHECK-DAG: %[[NONE:.*]] = llvm.mlir.constant(-1) : i64
// CHECK: %[[WIDE:.*]] = llvm.zext %[[N]] : i64 to i128
// CHECK-NEXT: %[[PROD:.*]] = llvm.mul %[[C24]], %[[WIDE]] : i128
// CHECK-NEXT: %[[OVER:.*]] = llvm.icmp "ugt" %[[PROD]], %[[BOUND]] : i128
// CHECK-NEXT: %[[SAT:.*]] = llvm.select %[[OVER]], %[[BOUND]], %[[PROD]] : i1, i128
// CHECK-NEXT: %[[BIG:.*]] = llvm.icmp "ugt" %[[SAT]], %[[MAX]] : i128
// CHECK-NEXT: %[[LOW:.*]] = llvm.trunc %[[SAT]] : i128 to i64
// CHECK-NEXT: %[[BYTES:.*]] = llvm.select %[[BIG]], %[[NONE]], %[[LOW]] : i1, i64
// CHECK-NEXT: %[[P:.*]] = llvm.call @malloc(%[[BYTES]]) : (i64) -> !llvm.ptr
// A NULL result (for a non-zero count) branches to the runtime's
// out-of-memory error; the function goes on in a new block.
// CHECK-NEXT: %[[ADDRESS:.*]] = llvm.ptrtoint %[[P]] : !llvm.ptr to i64
// CHECK-NEXT: %[[ZERO:.*]] = llvm.mlir.constant(0) : i64
// CHECK-NEXT: %[[NULL:.*]] = llvm.icmp "eq" %[[ADDRESS]], %[[ZERO]] : i64
// CHECK-NEXT: %[[WANTED:.*]] = llvm.icmp "ne" %[[BYTES]], %[[ZERO]] : i64
// CHECK-NEXT: %[[FAILED:.*]] = llvm.and %[[NULL]], %[[WANTED]] : i1
// CHECK-NEXT: llvm.cond_br %[[FAILED]], ^[[FAIL:.*]], ^[[GOT:[^ ]*]]
// CHECK-NEXT: ^[[GOT]]:
// CHECK: llvm.insertvalue %[[P]], %{{.*}}[0]
// CHECK-NEXT: llvm.insertvalue %[[P]], %{{.*}}[1]
// CHECK: llvm.insertvalue %[[N]], %{{.*}}[3, 0]
// CHECK: %[[D:.*]] = llvm.insertvalue %{{.*}}, %{{.*}}[4, 1]
// Load [i, 2] = aligned[i * 3 + 2], with the pointer malloc gave (no
// extractvalue from the descriptor built from it):
// CHECK-NOT: llvm.extractvalue
// CHECK: %[[ROW:.*]] = llvm.mul %[[N]], %{{.*}} : i64
// CHECK: %[[LIN:.*]] = llvm.add %[[ROW]], %{{.*}} : i64
// CHECK-NEXT: %[[ADDR:.*]] = llvm.getelementptr %[[P]][%[[LIN]]] : (!llvm.ptr, i64) -> !llvm.ptr, f64
// CHECK-NEXT: llvm.load %[[ADDR]] : !llvm.ptr -> f64
// CHECK-NEXT: llvm.call @free(%[[P]]) : (!llvm.ptr) -> ()
// CHECK-NEXT: llvm.return
// The report names the allocation's place (here none: an empty string).
// CHECK-NEXT: ^[[FAIL]]:
// CHECK-NEXT: %[[WHERE:.*]] = llvm.mlir.addressof @[[PLACE:__noma_alloc_where[0-9]+]] : !llvm.ptr
// CHECK-NEXT: %[[LEN:.*]] = llvm.mlir.constant(0) : i64
// CHECK-NEXT: llvm.call @noma_alloc_failed(%[[BYTES]], %[[WHERE]], %[[LEN]]) : (i64, !llvm.ptr, i64) -> ()
// CHECK-NEXT: llvm.unreachable
func.func @alloc_dynamic(%n: index) -> f64 {
  %m = memref.alloc(%n) : memref<?x3xf64>
  %c2 = arith.constant 2 : index
  %v = memref.load %m[%n, %c2] : memref<?x3xf64>
  memref.dealloc %m : memref<?x3xf64>
  func.return %v : f64
}

// Rank 0 on the stack: a descriptor without size/stride arrays; element 0 is
// the aligned pointer itself.
// CHECK-LABEL: llvm.func @scalar_on_stack
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x f64 {alignment = 8 : i64} : (i64) -> !llvm.ptr
// CHECK: %[[D0:.*]] = llvm.insertvalue %{{.*}}, %{{.*}}[2] : !llvm.struct<(!llvm.ptr, !llvm.ptr, i64)>
// CHECK-NOT: llvm.extractvalue
// CHECK: llvm.store %{{.*}}, %[[SLOT]] : f64, !llvm.ptr
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> f64
func.func @scalar_on_stack(%x: f64) -> f64 {
  %s = memref.alloca() : memref<f64>
  memref.store %x, %s[] : memref<f64>
  %v = memref.load %s[] : memref<f64>
  func.return %v : f64
}

// Static dims are constants, dynamic ones come from the descriptor, and a
// non-constant dim index selects among the sizes.
// CHECK-LABEL: llvm.func @dims
// CHECK-SAME: (%{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: !llvm.ptr, %{{[^:]+}}: i64, %{{[^:]+}}: i64, %[[SIZE1:[^:]+]]: i64,
// CHECK-NOT: llvm.extractvalue
// CHECK: llvm.icmp "eq"
// CHECK: llvm.select
// CHECK: llvm.icmp "eq"
// CHECK: llvm.select
func.func @dims(%m: memref<4x?xf64>, %k: index) -> index {
  %c1 = arith.constant 1 : index
  %d1 = memref.dim %m, %c1 : memref<4x?xf64>
  %dk = memref.dim %m, %k : memref<4x?xf64>
  %r = arith.addi %d1, %dk : index
  func.return %r : index
}

// get_global: aligned pointer = address of the global, allocated = 0xdeadbeef;
// cast to a dynamic shape keeps the descriptor; copy is a memcpy of n * 8 bytes.
// CHECK-LABEL: llvm.func @globals
// CHECK-DAG: %[[MARK:.*]] = llvm.mlir.constant(3735928559) : i64
// CHECK: %[[G:.*]] = llvm.mlir.addressof @greeting : !llvm.ptr
// CHECK: llvm.inttoptr %[[MARK]]
// CHECK: llvm.insertvalue %[[G]], %{{.*}}[1]
// CHECK: llvm.mlir.addressof @table : !llvm.ptr
// CHECK: llvm.call @malloc
// CHECK: llvm.call_intrinsic "llvm.memcpy.p0.p0.i64"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64, i1) -> ()
func.func @globals() -> i8 {
  %g = memref.get_global @greeting : memref<3xi8>
  %d = "memref.cast"(%g) : (memref<3xi8>) -> memref<?xi8>
  %c1 = arith.constant 1 : index
  %ch = memref.load %d[%c1] : memref<?xi8>
  %t = memref.get_global @table : memref<2x3xf64>
  %copy = memref.alloc() : memref<2x3xf64>
  "memref.copy"(%t, %copy) : (memref<2x3xf64>, memref<2x3xf64>) -> ()
  memref.dealloc %copy : memref<2x3xf64>
  func.return %ch : i8
}

// alignment = 64: 16 * 8 + 64 bytes, aligned pointer rounded up.
// CHECK-LABEL: llvm.func @aligned
// CHECK-DAG: %[[SZ:.*]] = llvm.mlir.constant(192) : i64
// CHECK-DAG: %[[MASK:.*]] = llvm.mlir.constant(-64) : i64
// CHECK: llvm.call @malloc(%[[SZ]])
// CHECK: llvm.ptrtoint
// CHECK: llvm.and %{{.*}}, %[[MASK]]
// CHECK: llvm.getelementptr %{{.*}}[%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, i8
func.func @aligned() -> memref<16xf64> {
  %m = memref.alloc() {alignment = 64 : i64} : memref<16xf64>
  func.return %m : memref<16xf64>
}

// A located allocation: its place ("p.noma:2:3: ") is a constant string,
// added after the functions, for the report.
// CHECK-LABEL: llvm.func @located
// CHECK: llvm.call @malloc
// CHECK: llvm.mlir.addressof @[[AT:__noma_alloc_where[0-9]+]] : !llvm.ptr
// CHECK-NEXT: llvm.mlir.constant(12) : i64
// CHECK-NEXT: llvm.call @noma_alloc_failed
// CHECK: llvm.mlir.global private constant @[[AT]](dense<[112, 46, 110, 111, 109, 97, 58, 50, 58, 51, 58, 32]> : tensor<12xi8>) {addr_space = 0 : i32} : !llvm.array<12 x i8>
func.func @located(%n: index) -> memref<?xf64> {
  %m = memref.alloc(%n) : memref<?xf64> loc("p.noma":2:3)
  func.return %m : memref<?xf64>
}
