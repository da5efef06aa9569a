// RUN: noma-opt %s -p noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce | noma-translate - --mlir-to-llvmir | filecheck %s
// RUN: not noma-translate %s --mlir-to-llvmir 2>&1 | filecheck %s --check-prefix=NOTLLVM
// RUN: not noma-translate %s 2>&1 | filecheck %s --check-prefix=USAGE
// RUN: noma-opt %s -p noma-to-llvm | noma-translate --mlir-to-llvmir | filecheck %s
// RUN: not noma-translate %t.missing.mlir --mlir-to-llvmir 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: noma-opt %s -p noma-convert-scf-to-cf,convert-to-llvm,reconcile-unrealized-casts,dce -o %t.mlir
// RUN: noma-translate %t.mlir --mlir-to-llvmir -o %t.ll && filecheck %s < %t.ll

// noma-translate: LLVM dialect in, LLVM IR out (xDSL's backend via llvmlite).
// CHECK: define i64 @"sum"(i64 %{{.*}})
// CHECK: phi i64
// CHECK: icmp sle i64
// CHECK: br i1
// CHECK: ret i64

// A module still in func/arith is rejected with one line naming the op.
// NOTLLVM: translate.mlir:24:1: error: cannot translate 'func.func': only llvm.func and llvm.mlir.global may appear at the top level
// NOTLLVM-NOT: Traceback

// USAGE: noma-translate: error: the following arguments are required: --mlir-to-llvmir

// MISSING: noma-translate: error: cannot read {{.*}}missing.mlir: No such file or directory

func.func @sum(%n: i64) -> i64 {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %r:2 = scf.while (%i = %c1, %acc = %c0) : (i64, i64) -> (i64, i64) {
    %more = arith.cmpi sle, %i, %n : i64
    scf.condition(%more) %i, %acc : i64, i64
  } do {
  ^bb0(%j: i64, %s: i64):
    %s2 = arith.addi %s, %j : i64
    %j2 = arith.addi %j, %c1 : i64
    scf.yield %j2, %s2 : i64, i64
  }
  func.return %r#1 : i64
}
