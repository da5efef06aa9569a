// RUN: noma-opt %s -p convert-noma-to-loops | filecheck %s
// A load reads the file into a runtime handle, sizes a new buffer from the
// handle's dimensions and has the runtime copy the elements into its flat
// view; a save passes a flat view and the shape. The location of the
// statement goes to the runtime for its error messages.

func.func @load_and_save() -> tensor<?x?xf64> {
  %X = noma.load_csv "x.csv" : tensor<?x?xf64> loc("p.noma":2:5)
  %s = noma.sum %X : tensor<?x?xf64> -> f64
  noma.save_csv %X, "y.csv" : tensor<?x?xf64> loc("p.noma":4:5)
  noma.save_safetensors "w.safetensors" ["X", "s"](%X, %s : tensor<?x?xf64>, f64)
  func.return %X : tensor<?x?xf64>
}
// CHECK-LABEL: func.func @load_and_save()
// CHECK:      %[[H:.*]] = func.call @noma_load_csv(%{{.*}}, %{{.*}}) : (memref<?xi8>, memref<?xi8>) -> i64
// CHECK:      func.call @noma_loaded_dim(%[[H]], %{{.*}}) : (i64, i64) -> i64
// CHECK:      func.call @noma_loaded_dim(%[[H]], %{{.*}}) : (i64, i64) -> i64
// CHECK:      %[[BUF:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xf64>
// CHECK:      %[[FLAT:.*]] = memref.reinterpret_cast %[[BUF]] to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<?x?xf64> to memref<?xf64>
// CHECK-NEXT: func.call @noma_loaded_take(%[[H]], %[[FLAT]]) : (i64, memref<?xf64>) -> ()
// CHECK:      func.call @noma_save_csv(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?xi8>, memref<?xi8>, memref<?xf64>, memref<?xi64>) -> ()
// CHECK:      %[[W:.*]] = func.call @noma_safetensors_writer_new() : () -> i64
// CHECK:      func.call @noma_safetensors_writer_add(%[[W]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK:      func.call @noma_safetensors_writer_add(%[[W]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK:      func.call @noma_safetensors_writer_save(%[[W]], %{{.*}}, %{{.*}}) : (i64, memref<?xi8>, memref<?xi8>) -> ()
// CHECK-NOT:  noma.
// "p.noma:2:5: ", the prefix of the load's error messages:
// CHECK:      sym_name = "__noma_str0", type = memref<12xi8>, initial_value = dense<[112, 46, 110, 111, 109, 97, 58, 50, 58, 53, 58, 32]>
