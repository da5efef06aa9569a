// RUN: noma-opt %s -p 'noma-expand-math{loops-only=false}' | filecheck %s
// f64 exp, log and tanh become straight-line arith code: no call of libm
// is left, and no branch (selects only), so the loops around them vectorise.

func.func @exp(%x: f64) -> f64 {
  %y = math.exp %x : f64
  func.return %y : f64
}
// CHECK-LABEL: func.func @exp
// The argument is clamped to [-746, 710] by selects (NaN passes through).
// CHECK:         %[[HIGH:.*]] = arith.constant 7.100000e+02 : f64
// CHECK:         arith.cmpf ogt, %x, %[[HIGH]] : f64
// CHECK:         arith.select
// k = round(x/ln2) by the 1.5*2^52 shifter, its bits give k as an integer.
// CHECK:         %[[SHIFTER:.*]] = arith.constant 0x4338000000000000 : f64
// CHECK:         %[[SHIFTED:.*]] = arith.addf %{{.*}}, %[[SHIFTER]] : f64
// CHECK:         arith.bitcast %[[SHIFTED]] : f64 to i64
// Cody-Waite: ln2 in two parts.
// CHECK:         arith.constant 0.69314718246459961 : f64
// CHECK:         arith.constant -1.904654299957768e-09 : f64
// The rational form 1 + r + r*c/(2 - c).
// CHECK:         arith.divf
// 2^k as two factors built from exponent bits.
// CHECK:         arith.shrsi
// CHECK:         arith.shli
// CHECK:         arith.bitcast %{{.*}} : i64 to f64
// CHECK:         arith.mulf
// CHECK:         arith.shli
// CHECK:         arith.bitcast %{{.*}} : i64 to f64
// CHECK-NEXT:    %[[Y:.*]] = arith.mulf
// CHECK-NEXT:    func.return %[[Y]] : f64
// CHECK-NOT:     math.exp
// CHECK-NOT:     scf.if

func.func @log(%x: f64) -> f64 {
  %y = math.log %x : f64
  func.return %y : f64
}
// CHECK-LABEL: func.func @log
// Subnormals scaled by 2^54 first.
// CHECK:         arith.constant 0x4350000000000000 : f64
// The exponent and the mantissa in [sqrt(2)/2, sqrt(2)) from the bits.
// CHECK:         arith.constant 4503599627370495 : i64
// CHECK:         arith.constant 4604544271217802189 : i64
// s = f/(2+f)
// CHECK:         arith.divf
// The special cases, last: +inf, +-0, negative, NaN.
// CHECK:         arith.cmpf oeq, %x, %{{.*}} : f64
// CHECK:         arith.constant 0xfff0000000000000 : f64
// CHECK:         arith.constant 0x7ff8000000000000 : f64
// CHECK:         arith.cmpf olt, %x
// CHECK:         %[[NAN:.*]] = arith.cmpf uno, %x, %x : f64
// CHECK-NEXT:    %[[Y:.*]] = arith.select %[[NAN]], %x, %{{.*}} : f64
// CHECK-NEXT:    func.return %[[Y]] : f64
// CHECK-NOT:     math.log

func.func @tanh(%x: f64) -> f64 {
  %y = math.tanh %x : f64
  func.return %y : f64
}
// CHECK-LABEL: func.func @tanh
// |x| by clearing the sign bit.
// CHECK:         %[[BITS:.*]] = arith.bitcast %x : f64 to i64
// CHECK:         arith.andi %[[BITS]]
// The Pade form below 0.75, 1 - 2/(exp(2|x|) + 1) above (exp inline).
// CHECK:         arith.constant 0x4338000000000000 : f64
// CHECK:         arith.constant 7.500000e-01 : f64
// CHECK:         arith.select
// The sign of x put back.
// CHECK:         arith.ori
// CHECK-NEXT:    %[[Y:.*]] = arith.bitcast %{{.*}} : i64 to f64
// CHECK-NEXT:    func.return %[[Y]] : f64
// CHECK-NOT:     math.tanh
// CHECK-NOT:     math.exp

// Only f64 is expanded: f32 stays a call.
func.func @single(%x: f32) -> f32 {
  %y = math.exp %x : f32
  func.return %y : f32
}
// CHECK-LABEL: func.func @single
// CHECK-NEXT:    math.exp %x : f32
