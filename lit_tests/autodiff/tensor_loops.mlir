// RUN: noma-opt %s --split-input-file -p autodiff | filecheck %s
// scf.while loops carrying tensors (a recurrent network unrolled over time):
// the forward loop pushes each iteration's carried tensor and scalar onto
// the tape; the reverse scf.for pops them (last pushed first), recomputes
// the body and carries the adjoint of the state and the running sum of the
// adjoint of the captured parameter, both tensors.

func.func @rnn(%lr: f64, %X: tensor<3x2xf64>) {
  %init = arith.constant dense<0.5> : tensor<2x2xf64>
  %W = noma.learn "W" %init : tensor<2x2xf64> -> !noma.param<tensor<2x2xf64>>
  noma.optimize "sgd" (%W : !noma.param<tensor<2x2xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %h0 = arith.constant dense<0.0> : tensor<1x2xf64>
    %t0 = arith.constant 0.0 : f64
    %h, %t = scf.while (%hb = %h0, %tb = %t0) : (tensor<1x2xf64>, f64) -> (tensor<1x2xf64>, f64) {
      %three = arith.constant 3.0 : f64
      %more = arith.cmpf olt, %tb, %three : f64
      scf.condition(%more) %hb, %tb : tensor<1x2xf64>, f64
    } do {
    ^bb0(%ha: tensor<1x2xf64>, %ta: f64):
      %w = noma.read %W : !noma.param<tensor<2x2xf64>> -> tensor<2x2xf64>
      %m = noma.matmul %ha, %w : tensor<1x2xf64>, tensor<2x2xf64> -> tensor<1x2xf64>
      %x = noma.index %X, %ta : tensor<3x2xf64>, f64 -> tensor<2xf64>
      %s = noma.add %m, %x : tensor<1x2xf64>, tensor<2xf64> -> tensor<1x2xf64>
      %hn = noma.tanh %s : tensor<1x2xf64> -> tensor<1x2xf64>
      %one = arith.constant 1.0 : f64
      %tn = noma.add %ta, %one : f64, f64 -> f64
      scf.yield %hn, %tn : tensor<1x2xf64>, f64
    }
    %loss = noma.sum %h : tensor<1x2xf64> -> f64
    noma.minimize %loss : f64
    noma.until %loss
  }
  func.return
}
// CHECK-LABEL: func.func @rnn
// CHECK:      %[[tape:.*]] = noma.tape_new : !noma.tape
// CHECK-NEXT: %[[zero:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[h:.*]], %[[t:.*]], %[[count:.*]] = scf.while (%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %[[zero]]) : (tensor<1x2xf64>, f64, index) -> (tensor<1x2xf64>, f64, index) {
// CHECK:      } do {
// CHECK-NEXT: ^{{.*}}(%[[ha:.*]]: tensor<1x2xf64>, %[[ta:.*]]: f64, %[[i:.*]]: index):
// CHECK-NEXT:   noma.tape_push %[[tape]], %[[ha]] : tensor<1x2xf64>
// CHECK-NEXT:   noma.tape_push %[[tape]], %[[ta]] : f64
// CHECK-NEXT:   noma.read
// CHECK-NEXT:   noma.matmul %[[ha]]
// CHECK:        arith.addi %[[i]]
// CHECK:      %[[loss:.*]] = noma.sum %[[h]]
// The adjoint of the state starts from that of the result (the sum's
// broadcast seed), the sum for W from zeros; t is not varied: no adjoint.
// CHECK:      %[[dW0:.*]] = arith.constant dense<0.000000e+00> : tensor<2x2xf64>
// CHECK:      %[[dh:.*]], %[[dW:.*]] = scf.for %{{.*}} = %{{.*}} to %[[count]] step %{{.*}} iter_args(%[[dhi:.*]] = %{{.*}}, %[[dWi:.*]] = %[[dW0]]) -> (tensor<1x2xf64>, tensor<2x2xf64>) {
// CHECK-NEXT:   %[[tp:.*]] = noma.tape_pop %[[tape]] : f64
// CHECK-NEXT:   %[[hp:.*]] = noma.tape_pop %[[tape]] : tensor<1x2xf64>
// CHECK-NEXT:   %[[wr:.*]] = noma.read
// CHECK-NEXT:   noma.matmul %[[hp]], %[[wr]]
// CHECK-NEXT:   noma.index %{{.*}}, %[[tp]]
// CHECK:        %[[sum:.*]] = noma.add %[[dWi]], %{{.*}} : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
// CHECK-NEXT:   scf.yield %{{.*}}, %[[sum]] : tensor<1x2xf64>, tensor<2x2xf64>
// CHECK-NEXT: }
// CHECK-NEXT: noma.tape_free %[[tape]]
// CHECK-NEXT: noma.minimize %[[loss]] wrt(%{{.*}} : !noma.param<tensor<2x2xf64>>) grads(%[[dW]] : tensor<2x2xf64>) : f64

// -----

// Dynamic shapes: where a value has no adjoint, its zeros take the run-time
// shape of a value at hand: the sum for W starts from zeros shaped like W's
// current value, and the state's adjoint (the objective uses only the
// counter's value) from zeros shaped like the loop's result.
func.func @dynamic(%lr: f64, %init: tensor<?x?xf64>, %h0: tensor<?x?xf64>) {
  %W = noma.learn "W" %init : tensor<?x?xf64> -> !noma.param<tensor<?x?xf64>>
  noma.optimize "sgd" (%W : !noma.param<tensor<?x?xf64>>) lr(%lr) beta1(%lr) beta2(%lr) eps(%lr) max_iterations(%lr) {
    %zero = arith.constant 0.0 : f64
    %h, %acc = scf.while (%hb = %h0, %ab = %zero) : (tensor<?x?xf64>, f64) -> (tensor<?x?xf64>, f64) {
      %big = arith.cmpf olt, %ab, %lr : f64
      scf.condition(%big) %hb, %ab : tensor<?x?xf64>, f64
    } do {
    ^bb0(%ha: tensor<?x?xf64>, %aa: f64):
      %w = noma.read %W : !noma.param<tensor<?x?xf64>> -> tensor<?x?xf64>
      %m = noma.matmul %ha, %w : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64>
      %hn = noma.tanh %m : tensor<?x?xf64> -> tensor<?x?xf64>
      %s = noma.sum %hn : tensor<?x?xf64> -> f64
      %an = noma.add %aa, %s : f64, f64 -> f64
      scf.yield %hn, %an : tensor<?x?xf64>, f64
    }
    noma.minimize %acc : f64
    noma.until %acc
  }
  func.return
}
// CHECK-LABEL: func.func @dynamic
// CHECK:      %[[h:.*]], %[[acc:.*]], %[[count:.*]] = scf.while
// CHECK:        noma.tape_push %{{.*}}, %{{.*}} : tensor<?x?xf64>
// CHECK-NEXT:   noma.tape_push %{{.*}}, %{{.*}} : f64
// CHECK:      %[[dh0:.*]] = noma.broadcast_to %{{.*}}, %[[h]] : f64, tensor<?x?xf64> -> tensor<?x?xf64>
// CHECK-NEXT: %[[w:.*]] = noma.read %{{.*}} : !noma.param<tensor<?x?xf64>> -> tensor<?x?xf64>
// CHECK-NEXT: %{{.*}} = arith.constant 0.000000e+00 : f64
// CHECK-NEXT: %[[dW0:.*]] = noma.broadcast_to %{{.*}}, %[[w]] : f64, tensor<?x?xf64> -> tensor<?x?xf64>
// CHECK-NEXT: %{{.*}}, %{{.*}}, %[[dW:.*]] = scf.for %{{.*}} = %{{.*}} to %[[count]] step %{{.*}} iter_args(%{{.*}} = %[[dh0]], %{{.*}} = %{{.*}}, %{{.*}} = %[[dW0]]) -> (tensor<?x?xf64>, f64, tensor<?x?xf64>) {
// CHECK-NEXT:   noma.tape_pop %{{.*}} : f64
// CHECK-NEXT:   noma.tape_pop %{{.*}} : tensor<?x?xf64>
// CHECK:        scf.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?xf64>, f64, tensor<?x?xf64>
// CHECK-NEXT: }
// CHECK-NEXT: noma.tape_free
// CHECK-NEXT: noma.minimize %[[acc]] wrt(%{{.*}} : !noma.param<tensor<?x?xf64>>) grads(%[[dW]] : tensor<?x?xf64>) : f64
