// RUN: noma-opt %s -p 'noma-expand-math{functions=log loops-only=false}' | filecheck %s --check-prefix=LOG
// RUN: noma-opt %s -p 'noma-expand-math{functions=exp,tanh loops-only=false}' | filecheck %s --check-prefix=EXPTANH
// RUN: noma-opt %s -p 'noma-expand-math{enabled=false loops-only=false}' | filecheck %s --check-prefix=OFF
// RUN: not noma-opt %s -p 'noma-expand-math{functions=exp,sin}' 2>&1 | filecheck %s --check-prefix=UNKNOWN
// `functions` picks what is expanded; `enabled=false` leaves everything to libm.

func.func @all(%x: f64) -> (f64, f64, f64) {
  %a = math.exp %x : f64
  %b = math.log %x : f64
  %c = math.tanh %x : f64
  func.return %a, %b, %c : f64, f64, f64
}
// LOG:           math.exp %x : f64
// LOG-NOT:       math.log
// LOG:           math.tanh %x : f64

// EXPTANH-NOT:   math.exp
// EXPTANH:       math.log %x : f64
// EXPTANH-NOT:   math.tanh
// EXPTANH-NOT:   math.exp

// OFF:           math.exp %x : f64
// OFF-NEXT:      math.log %x : f64
// OFF-NEXT:      math.tanh %x : f64

// UNKNOWN: noma-expand-math: unknown function 'sin'; expected some of exp, log, tanh
