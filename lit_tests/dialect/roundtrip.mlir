// RUN: noma-opt %s | noma-opt | filecheck %s
// Every noma op prints in a custom form that parses back to the same IR.

func.func @storage_and_training(%init: f64, %tol: f64) -> f64 {
  // CHECK: %[[W:.*]] = noma.learn "W" %{{.*}} : f64 -> !noma.param<f64>
  %W = noma.learn "W" %init : f64 -> !noma.param<f64>
  %n0 = arith.constant 0.0 : f64
  // CHECK: noma.optimize "adam"(%[[W]] : !noma.param<f64>) lr(%{{.*}}) beta1(%{{.*}}) beta2(%{{.*}}) eps(%{{.*}}) max_iterations(%{{.*}}) iter_args(%{{.*}} : f64) {
  // CHECK-NEXT: ^{{.*}}(%[[I:.*]]: f64):
  %r:2 = noma.optimize "adam" (%W : !noma.param<f64>) lr(%tol) beta1(%tol) beta2(%tol) eps(%tol) max_iterations(%tol) iter_args(%n0 : f64) {
  ^bb0(%i : f64):
    // CHECK-NEXT: %[[R:.*]] = noma.read %[[W]] : !noma.param<f64> -> f64
    %w = noma.read %W : !noma.param<f64> -> f64
    // CHECK-NEXT: %[[L:.*]] = noma.mul %[[R]], %[[R]] : f64, f64 -> f64
    %loss = noma.mul %w, %w : f64, f64 -> f64
    // CHECK-NEXT: noma.minimize %[[L]] : f64
    noma.minimize %loss : f64
    // CHECK-NEXT: %[[C:.*]] = noma.cmp "lt", %[[L]], %{{.*}} : f64, f64 -> f64
    %c = noma.cmp "lt", %loss, %tol : f64, f64 -> f64
    // CHECK-NEXT: noma.until %[[C]] next(%[[I]] : f64) exports(%[[L]] : f64)
    noma.until %c next(%i : f64) exports(%loss : f64)
  // CHECK-NEXT: } -> f64, f64
  } -> f64, f64
  // CHECK: noma.minimize %{{.*}} wrt(%[[W]] : !noma.param<f64>) grads(%{{.*}} : f64) : f64
  %r2 = noma.optimize "sgd" () lr(%tol) beta1(%tol) beta2(%tol) eps(%tol) max_iterations(%tol) {
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.minimize %w wrt(%W : !noma.param<f64>) grads(%tol : f64) : f64
    noma.until %w exports(%w : f64)
  } -> f64
  // CHECK: noma.state_read %[[W]] "m" : !noma.param<f64> -> f64
  %m = noma.state_read %W "m" : !noma.param<f64> -> f64
  // CHECK: noma.state_write %{{.*}}, %[[W]] "t" : f64, !noma.param<f64>
  noma.state_write %m, %W "t" : f64, !noma.param<f64>
  // CHECK: noma.write %{{.*}}, %[[W]] : f64, !noma.param<f64>
  noma.write %m, %W : f64, !noma.param<f64>
  // CHECK: noma.reset_optimizer(%[[W]] : !noma.param<f64>)
  noma.reset_optimizer (%W : !noma.param<f64>)
  // CHECK: noma.reset_optimizer()
  noma.reset_optimizer ()
  func.return %r#1 : f64
}

func.func @elementwise(%x: f64, %y: f64) {
  // CHECK: noma.add %{{.*}}, %{{.*}} : f64, f64 -> f64
  %0 = noma.add %x, %y : f64, f64 -> f64
  // CHECK: noma.pow
  %1 = noma.pow %x, %y : f64, f64 -> f64
  // CHECK: noma.rem
  %2 = noma.rem %x, %y : f64, f64 -> f64
  // CHECK: noma.and
  %3 = noma.and %x, %y : f64, f64 -> f64
  // CHECK: noma.sigmoid %{{.*}} : f64 -> f64
  %4 = noma.sigmoid %x : f64 -> f64
  // CHECK: noma.not
  %5 = noma.not %x : f64 -> f64
  func.return
}

func.func @io_tape_buffers(%x: f64) {
  // CHECK: noma.progress_begin
  noma.progress_begin
  // CHECK-NEXT: noma.progress_step %{{.*}} : f64
  noma.progress_step %x : f64
  // CHECK-NEXT: noma.progress_end
  noma.progress_end
  // CHECK: noma.print %{{.*}} : f64
  noma.print %x : f64
  // CHECK: noma.print_string "hello\0A"
  noma.print_string "hello\n"
  // CHECK: noma.warning "limit {0}", %{{.*}} : f64
  noma.warning "limit {0}", %x : f64
  // CHECK: %[[T:.*]] = noma.tape_new : !noma.tape
  %t = noma.tape_new : !noma.tape
  // CHECK: noma.tape_push %[[T]], %{{.*}} : f64
  noma.tape_push %t, %x : f64
  // CHECK: noma.tape_pop %[[T]] : f64
  %p = noma.tape_pop %t : f64
  // CHECK: noma.tape_free %[[T]]
  noma.tape_free %t
  // CHECK: %[[B:.*]] = noma.alloc[%{{.*}}, %{{.*}}] : !noma.buffer<tensor<?x?xf64>>
  %B = noma.alloc [%x, %x] : !noma.buffer<tensor<?x?xf64>>
  // CHECK: noma.realloc %[[B]][%{{.*}}, %{{.*}}] init "default" : !noma.buffer<tensor<?x?xf64>>
  noma.realloc %B [%x, %x] init "default" : !noma.buffer<tensor<?x?xf64>>
  // CHECK: noma.check_alive %[[B]] "B" : !noma.buffer<tensor<?x?xf64>>
  noma.check_alive %B "B" : !noma.buffer<tensor<?x?xf64>>
  // CHECK: noma.free %[[B]] : !noma.buffer<tensor<?x?xf64>>
  noma.free %B : !noma.buffer<tensor<?x?xf64>>
  // CHECK: %[[F:.*]] = noma.fill[%{{.*}}] %{{.*}} : tensor<?xf64>
  %c = noma.fill [%x] %x : tensor<?xf64>
  // CHECK: %[[P:.*]] = noma.learn "P" %{{.*}} : tensor<?xf64> -> !noma.param<tensor<?xf64>>
  %P = noma.learn "P" %c : tensor<?xf64> -> !noma.param<tensor<?xf64>>
  // CHECK: noma.realloc %[[P]][%{{.*}}] init "normal"(%{{.*}}, %{{.*}} : f64, f64) : !noma.param<tensor<?xf64>>
  noma.realloc %P [%x] init "normal" (%x, %x : f64, f64) : !noma.param<tensor<?xf64>>
  // CHECK: noma.realloc %[[P]][%{{.*}}] init "tensor"(%{{.*}} : tensor<?xf64>) : !noma.param<tensor<?xf64>>
  noma.realloc %P [%x] init "tensor" (%c : tensor<?xf64>) : !noma.param<tensor<?xf64>>
  // CHECK: noma.write %{{.*}}, %[[P]] resize : tensor<?xf64>, !noma.param<tensor<?xf64>>
  noma.write %c, %P resize : tensor<?xf64>, !noma.param<tensor<?xf64>>
  // CHECK: noma.state_write %{{.*}}, %[[P]] "m" resize : tensor<?xf64>, !noma.param<tensor<?xf64>>
  noma.state_write %c, %P "m" resize : tensor<?xf64>, !noma.param<tensor<?xf64>>
  // CHECK: noma.assert %{{.*}}, "got {0}"(%{{.*}} : f64)
  %ok = arith.cmpf oeq, %x, %x : f64
  noma.assert %ok, "got {0}" (%x : f64)
  // CHECK: noma.dim %[[F]] 0 : tensor<?xf64>
  %d = noma.dim %c 0 : tensor<?xf64>
  // CHECK: %[[R:.*]] = noma.random "uniform"[%{{.*}}] (%{{.*}}, %{{.*}}) : tensor<?xf64>
  %r = noma.random "uniform" [%d] (%x, %x) : tensor<?xf64>
  // CHECK: noma.insert_overlap %[[F]] into %[[R]] : tensor<?xf64> into tensor<?xf64>
  %g = noma.insert_overlap %c into %r : tensor<?xf64> into tensor<?xf64>
  func.return
}
