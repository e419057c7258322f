// RUN: ax-opt %s -p onnx-remove-identity --split-input-file --verify-diagnostics | filecheck %s
// RUN: not ax-opt %s -p onnx-remove-identity 2>&1 | filecheck %s --check-prefix=STATUS

// Without --verify-diagnostics the first training-mode Dropout fails the pass in one line, exit 1.
// STATUS: ax-opt: error: 'onnx.Dropout' node "drop_train": training-mode Dropout (training_mode = true) is random and not supported: export the model for inference

// CHECK-LABEL: func.func @chain
// CHECK-NEXT:    %[[R:.*]] = onnx.Relu %x
// CHECK-NEXT:    %[[S:.*]] = onnx.Softmax %[[R]]
// CHECK-NEXT:    func.return %[[S]]
func.func @chain(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {
  %r = onnx.Relu %x : (tensor<1x10xf32>) -> tensor<1x10xf32>
  %i = onnx.Identity %r : (tensor<1x10xf32>) -> tensor<1x10xf32>
  %d = onnx.Dropout %i {ratio = 5.000000e-01 : f32} : (tensor<1x10xf32>) -> tensor<1x10xf32>
  %s = onnx.Softmax %d : (tensor<1x10xf32>) -> tensor<1x10xf32>
  func.return %s : tensor<1x10xf32>
}

// -----

// Opset-12 Dropout with a ratio input: the constant goes too. A removed op that was a graph
// output returns its input.
// CHECK-LABEL: func.func @output
// CHECK-NOT:     onnx.
// CHECK:         func.return %x, %x
func.func @output(%x: tensor<1x10xf32>) -> (tensor<1x10xf32>, tensor<1x10xf32>) {
  %ratio = onnx.Constant {value = dense<0.3> : tensor<f32>} : () -> tensor<f32>
  %d = onnx.Dropout %x, %ratio : (tensor<1x10xf32>, tensor<f32>) -> tensor<1x10xf32>
  %i = onnx.Identity %x : (tensor<1x10xf32>) -> tensor<1x10xf32>
  func.return %d, %i : tensor<1x10xf32>, tensor<1x10xf32>
}

// -----

// training_mode = false (and is_test = 1) is inference: removed, with its constants.
// CHECK-LABEL: func.func @inference_mode
// CHECK-NOT:     onnx.
// CHECK:         func.return %x, %x
func.func @inference_mode(%x: tensor<1x10xf32>) -> (tensor<1x10xf32>, tensor<1x10xf32>) {
  %ratio = onnx.Constant {value = dense<0.3> : tensor<f32>} : () -> tensor<f32>
  %f = onnx.Constant {value = dense<false> : tensor<i1>} : () -> tensor<i1>
  %d = onnx.Dropout %x, %ratio, %f : (tensor<1x10xf32>, tensor<f32>, tensor<i1>) -> tensor<1x10xf32>
  %e = onnx.Dropout %x {is_test = 1 : i64} : (tensor<1x10xf32>) -> tensor<1x10xf32>
  func.return %d, %e : tensor<1x10xf32>, tensor<1x10xf32>
}

// -----

// Training-mode Dropout is random: refused, naming the node (the interpreter refuses it too).
func.func @train(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {
  %ratio = onnx.Constant {value = dense<0.3> : tensor<f32>} : () -> tensor<f32>
  %t = onnx.Constant {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %d = onnx.Dropout %x, %ratio, %t {onnx_name = "drop_train"} : (tensor<1x10xf32>, tensor<f32>, tensor<i1>) -> tensor<1x10xf32>
  func.return %d : tensor<1x10xf32>
}
// CHECK: 'onnx.Dropout' node "drop_train": training-mode Dropout (training_mode = true) is random and not supported: export the model for inference

// -----

func.func @train_old(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {
  %d = onnx.Dropout %x {onnx_name = "drop_is_test", is_test = 0 : i64} : (tensor<1x10xf32>) -> tensor<1x10xf32>
  func.return %d : tensor<1x10xf32>
}
// CHECK: 'onnx.Dropout' node "drop_is_test": training-mode Dropout (is_test = 0) is random and not supported: export the model for inference

// -----

func.func @train_unknown(%x: tensor<1x10xf32>, %t: tensor<i1>) -> tensor<1x10xf32> {
  %ratio = onnx.Constant {value = dense<0.3> : tensor<f32>} : () -> tensor<f32>
  %d = onnx.Dropout %x, %ratio, %t {onnx_name = "drop_input"} : (tensor<1x10xf32>, tensor<f32>, tensor<i1>) -> tensor<1x10xf32>
  func.return %d : tensor<1x10xf32>
}
// CHECK: 'onnx.Dropout' node "drop_input": training_mode is not a constant, so Dropout may be random: export the model for inference
