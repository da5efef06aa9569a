// RUN: noma-opt %s -p autodiff | filecheck %s
// Hand-written upstream IR differentiates: arith and math float ops have
// derivative rules registered like any foreign op's, and their adjoint code
// is arith/math too (only the sweep's accumulation is a noma.add).

// A function of arith/math on f64, called from an optimize body: its
// vector-Jacobian product is generated from the arith/math rules.
func.func @f(%x: f64, %y: f64) -> f64 {
  %p = arith.mulf %x, %y : f64
  %e = math.exp %p : f64
  %s = math.sin %x : f64
  %q = arith.divf %e, %s : f64
  %m = arith.maximumf %q, %y : f64
  func.return %m : f64
}
func.func @calls_upstream(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %loss = func.call @f(%w, %lr) : (f64, f64) -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @calls_upstream
// CHECK:         %[[g:.*]], %{{.*}} = func.call @f__vjp(
// CHECK-NEXT:    noma.minimize %{{.*}} wrt(%{{.*}} : !noma.param<f64>) grads(%[[g]] : f64) : f64

// Upstream ops directly in the optimize body: select passes the adjoint to
// the value it chose (none to its i1 condition), tanh uses 1 - z*z, and
// the comparison and the constant get no adjoint code.
func.func @inline_upstream(%lr: f64) {
  %W = noma.learn "W" %lr : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%W : !noma.param<f64>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %w = noma.read %W : !noma.param<f64> -> f64
    %t = math.tanh %w : f64
    %half = arith.constant 0.5 : f64
    %c = arith.cmpf ogt, %t, %half : f64
    %sel = arith.select %c, %t, %w : f64
    %sq = math.powf %sel, %half : f64
    noma.minimize %sq : f64
    noma.until %sq
  }
  func.return
}
// CHECK-LABEL: func.func @inline_upstream
// CHECK:         %[[w:.*]] = noma.read
// CHECK-NEXT:    %[[t:.*]] = math.tanh %[[w]] : f64
// CHECK-NEXT:    %[[half:.*]] = arith.constant 5.000000e-01 : f64
// CHECK-NEXT:    %[[c:.*]] = arith.cmpf ogt, %[[t]], %[[half]] : f64
// CHECK-NEXT:    %[[sel:.*]] = arith.select %[[c]], %[[t]], %[[w]] : f64
// CHECK-NEXT:    %[[sq:.*]] = math.powf %[[sel]], %[[half]] : f64
// CHECK-NEXT:    %[[one:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[one_b:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[exponent:.*]] = arith.subf %[[half]], %[[one_b]] : f64
// CHECK-NEXT:    %[[pow:.*]] = math.powf %[[sel]], %[[exponent]] : f64
// CHECK-NEXT:    %[[slope:.*]] = arith.mulf %[[half]], %[[pow]] : f64
// CHECK-NEXT:    %[[dsel:.*]] = arith.mulf %[[one]], %[[slope]] : f64
// CHECK-NOT:     math.log
// CHECK-NEXT:    %[[zero:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[dt:.*]] = arith.select %[[c]], %[[dsel]], %[[zero]] : f64
// CHECK-NEXT:    %[[dw_sel:.*]] = arith.select %[[c]], %[[zero]], %[[dsel]] : f64
// CHECK-NEXT:    %[[one_t:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[tt:.*]] = arith.mulf %[[t]], %[[t]] : f64
// CHECK-NEXT:    %[[dtanh:.*]] = arith.subf %[[one_t]], %[[tt]] : f64
// CHECK-NEXT:    %[[dw_tanh:.*]] = arith.mulf %[[dt]], %[[dtanh]] : f64
// CHECK-NEXT:    %[[g:.*]] = noma.add %[[dw_sel]], %[[dw_tanh]] : f64, f64 -> f64
// CHECK-NEXT:    noma.minimize %[[sq]] wrt(%{{.*}} : !noma.param<f64>) grads(%[[g]] : f64) : f64

// The generated function comes last in the module.
// max routes the adjoint to the operand it chose (the left one at a tie),
// x/s gives dz/s and -(dz/s)*q, sin gives cos, x*y gives dz*y and dz*x,
// exp reuses its result.
// CHECK-LABEL: func.func @f__vjp(
// CHECK-SAME:    %[[x:[^:]*]]: f64, %[[y:[^:]*]]: f64, %[[dm:[^:]*]]: f64) -> (f64, f64)
// CHECK:         %[[e:.*]] = math.exp
// CHECK-NEXT:    %[[s:.*]] = math.sin %[[x]]
// CHECK-NEXT:    %[[q:.*]] = arith.divf %[[e]], %[[s]]
// CHECK-NEXT:    arith.maximumf
// CHECK-NEXT:    %[[left:.*]] = arith.cmpf oge, %[[q]], %[[y]] : f64
// CHECK-NEXT:    %[[zero:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[dq:.*]] = arith.select %[[left]], %[[dm]], %[[zero]] : f64
// CHECK-NEXT:    %[[dy_max:.*]] = arith.select %[[left]], %[[zero]], %[[dm]] : f64
// CHECK-NEXT:    %[[de:.*]] = arith.divf %[[dq]], %[[s]] : f64
// CHECK-NEXT:    %[[t:.*]] = arith.mulf %[[de]], %[[q]] : f64
// CHECK-NEXT:    %[[ds:.*]] = arith.negf %[[t]] : f64
// CHECK-NEXT:    %[[cos:.*]] = math.cos %[[x]] : f64
// CHECK-NEXT:    %[[dx_sin:.*]] = arith.mulf %[[ds]], %[[cos]] : f64
// CHECK-NEXT:    %[[dp:.*]] = arith.mulf %[[de]], %[[e]] : f64
// CHECK-NEXT:    %[[dx_mul:.*]] = arith.mulf %[[dp]], %[[y]] : f64
// CHECK-NEXT:    %[[dy_mul:.*]] = arith.mulf %[[dp]], %[[x]] : f64
// CHECK-NEXT:    %[[dx:.*]] = noma.add %[[dx_sin]], %[[dx_mul]]
// CHECK-NEXT:    %[[dy:.*]] = noma.add %[[dy_max]], %[[dy_mul]]
// CHECK-NEXT:    func.return %[[dx]], %[[dy]] : f64, f64
