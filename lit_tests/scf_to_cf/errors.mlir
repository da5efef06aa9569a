// RUN: not noma-opt %s -p convert-scf-to-cf 2>&1 | filecheck %s

// scf ops without a lowering to cf are reported, with their location.
// CHECK: noma-opt: error: convert-scf-to-cf: cannot lower 'scf.execute_region' at loc("prog.noma":7:8): no lowering to cf for this op
// CHECK-NOT: Traceback
func.func @region() -> i64 {
  %r = scf.execute_region -> (i64) {
    %c = arith.constant 1 : i64
    scf.yield %c : i64
  } loc("prog.noma":7:8)
  func.return %r : i64
}
