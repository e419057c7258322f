// RUN: ax-opt %s -p onnx-remove-identity | filecheck %s

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
