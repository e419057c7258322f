// RUN: ax-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @bad_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %y = onnx.Conv %x, %w {onnx_name = "conv_bad"} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}
// CHECK: 'onnx.Conv' node "conv_bad": input channels 3 must equal weight channels 2 x group 1

// -----

func.func @bad_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<5xf32>) -> tensor<1x4x6x6xf32> {
  %y = onnx.Conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<5xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}
// CHECK: 'onnx.Conv' node "onnx.Conv": bias must have shape [4], got [5]
