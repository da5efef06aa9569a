// RUN: noma-opt %s --verify-diagnostics -p noma-convert-scf-to-cf
// RUN: not noma-opt %s -p noma-convert-scf-to-cf 2>&1 | filecheck %s

// scf ops without a lowering to cf are reported, with their location.
// CHECK: prog.noma:7:8: error: noma-convert-scf-to-cf: cannot lower 'scf.execute_region': no lowering to cf for this op
// CHECK-NOT: Traceback
func.func @region() -> i64 {
  // expected-error@+1 {{noma-convert-scf-to-cf: cannot lower 'scf.execute_region': no lowering to cf for this op}}
  %r = scf.execute_region -> (i64) {
    %c = arith.constant 1 : i64
    scf.yield %c : i64
  } loc("prog.noma":7:8)
  func.return %r : i64
}
