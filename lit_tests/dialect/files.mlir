// RUN: noma-opt %s | noma-opt | filecheck %s
// The file ops print in a custom form that parses back to the same IR.

func.func @files(%s: f64) -> tensor<?x?xf64> {
  // CHECK: %[[X:.*]] = noma.load_csv "data/x.csv" : tensor<?x?xf64>
  %X = noma.load_csv "data/x.csv" : tensor<?x?xf64>
  // CHECK-NEXT: %[[B:.*]] = noma.load_safetensors "w.safetensors" "b" : tensor<?xf64>
  %b = noma.load_safetensors "w.safetensors" "b" : tensor<?xf64>
  // CHECK-NEXT: noma.check_checkpoint "c.safetensors"
  noma.check_checkpoint "c.safetensors"
  // CHECK-NEXT: noma.load_safetensors "c.safetensors" "b.m" exact : tensor<?xf64>
  %m = noma.load_safetensors "c.safetensors" "b.m" exact : tensor<?xf64>
  // CHECK-NEXT: %[[Y:.*]] = noma.load_arg "Y" : tensor<?x?xf64>
  %Y = noma.load_arg "Y" : tensor<?x?xf64>
  // CHECK-NEXT: noma.save_csv %[[B]], "b.csv" : tensor<?xf64>
  noma.save_csv %b, "b.csv" : tensor<?xf64>
  // CHECK-NEXT: noma.save_safetensors "out.safetensors" ["X", "s"](%[[X]], %{{.*}} : tensor<?x?xf64>, f64)
  noma.save_safetensors "out.safetensors" ["X", "s"](%X, %s : tensor<?x?xf64>, f64)
  // CHECK-NEXT: noma.random "uniform"[] (%{{.*}}, %{{.*}}) : f64
  %u = noma.random "uniform"[] (%s, %s) : f64
  func.return %Y : tensor<?x?xf64>
}
