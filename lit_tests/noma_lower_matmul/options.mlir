// RUN: not noma-opt %s -p 'noma-lower-matmul{register-block=3x6 vector-width=4}' 2>&1 | filecheck %s --check-prefix=BLOCK
// RUN: not noma-opt %s -p 'noma-lower-matmul{vector-width=3}' 2>&1 | filecheck %s --check-prefix=WIDTH
// RUN: not noma-opt %s -p 'noma-lower-matmul{register-block=big}' 2>&1 | filecheck %s --check-prefix=SYNTAX
// RUN: noma-opt %s -p 'noma-lower-matmul' | filecheck %s --check-prefix=AUTO
// Bad options are one-line errors; `auto` (the default) takes the host's
// vector width, whatever it is.

func.func @f(%a: memref<?x?xf64>, %b: memref<?x?xf64>, %c: memref<?x?xf64>) {
  noma_linalg.matmul %a, %b into %c : memref<?x?xf64>, memref<?x?xf64> into memref<?x?xf64>
  func.return
}
// BLOCK: register-block 3x6: NR must be a positive multiple of the vector width 4
// WIDTH: vector-width must be a power of two or auto, got 3
// SYNTAX: register-block must be MRxNR (e.g. 4x32) or auto, got 'big'
// AUTO-NOT: noma_linalg.matmul
// AUTO: vector.broadcast %{{.*}} : f64 to vector<{{[248]}}xf64>
