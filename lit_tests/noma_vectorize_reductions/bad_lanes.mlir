// RUN: not noma-opt %s -p 'noma-vectorize-reductions{lanes=0}' 2>&1 | filecheck %s
// A lane count below 1 is an error, not a silent no-op.
// CHECK: noma-opt: error: noma-vectorize-reductions: lanes must be at least 1, got 0
func.func @f() {
  func.return
}
