// RUN: noma-opt %s -p canonicalize | filecheck %s
// Exact algebraic identities of the elementwise ops fold away.

func.func @identities(%x: f64) -> (f64, f64, f64, f64, f64, f64) {
  %one = arith.constant 1.0 : f64
  %zero = arith.constant 0.0 : f64
  %a = noma.mul %x, %one : f64, f64 -> f64
  %b = noma.mul %one, %x : f64, f64 -> f64
  %c = noma.div %x, %one : f64, f64 -> f64
  %d = noma.sub %x, %zero : f64, f64 -> f64
  %n = noma.neg %x : f64 -> f64
  %e = noma.neg %n : f64 -> f64
  // x + 0.0 is not x when x = -0.0: it stays.
  %f = noma.add %x, %zero : f64, f64 -> f64
  func.return %a, %b, %c, %d, %e, %f : f64, f64, f64, f64, f64, f64
}
// CHECK-LABEL: func.func @identities(%x: f64)
// CHECK-NOT:   noma.mul
// CHECK-NOT:   noma.div
// CHECK-NOT:   noma.sub
// CHECK-NOT:   noma.neg
// CHECK:       %[[F:.*]] = noma.add %x, %{{.*}}
// CHECK-NEXT:  func.return %x, %x, %x, %x, %x, %[[F]] : f64, f64, f64, f64, f64, f64
