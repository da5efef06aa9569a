// RUN: noma-translate %s --mlir-to-llvmir | filecheck %s
// RUN: noma-translate %s --mlir-to-llvmir | python -c "import sys, llvmlite.binding as l; l.parse_assembly(sys.stdin.read()).verify(); print('VERIFIED')" | filecheck %s --check-prefix=VERIFY

// VERIFY: VERIFIED

// Blocks are translated in reverse post-order, so a block listed before the
// block defining a value it uses still translates.
// CHECK-LABEL: define i64 @"out_of_order"
// CHECK: br label %"[[DEF:[^"]+]]"
// CHECK-NEXT: {{^}}[[DEF]]:
// CHECK-NEXT: %[[Y:[^ ]+]] = add i64
// CHECK: mul i64 %[[Y]], %[[Y]]
llvm.func @out_of_order(%x: i64) -> i64 {
  llvm.br ^bb2
^bb1:
  %z = llvm.mul %y, %y : i64
  llvm.return %z : i64
^bb2:
  %y = llvm.add %x, %x : i64
  llvm.br ^bb1
}

// Both edges of a cond_br to one block with different values: the else edge
// goes through a forwarding block, so the PHI has one value per predecessor.
// CHECK-LABEL: define i64 @"same_successor"
// CHECK: br i1 %{{[^ ]+}}, label %"[[JOIN:[^"]+]]", label %"[[FWD:[^"]+]]"
// CHECK-NEXT: {{^}}[[FWD]]:
// CHECK-NEXT: br label %"[[JOIN]]"
// CHECK-NEXT: {{^}}[[JOIN]]:
// CHECK-NEXT: phi i64
llvm.func @same_successor(%c: i1, %a: i64, %b: i64) -> i64 {
  llvm.cond_br %c, ^bb1(%a : i64), ^bb1(%b : i64)
^bb1(%v: i64):
  llvm.return %v : i64
}
