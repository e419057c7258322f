// RUN: ax-opt %s -p convert-onnx-to-quant --split-input-file --verify-diagnostics | filecheck %s
// RUN: not ax-opt %s -p convert-onnx-to-quant 2>&1 | filecheck %s --check-prefix=STATUS

// Without --verify-diagnostics the first failure is one line and the exit status is 1.
// STATUS: ax-opt: error: 'onnx.Conv' node "conv_without_range" has no 'calibration' range

// An op whose range is needed has no calibration: the error names the op and its ONNX node.

func.func @missing_op_calibration(%x: tensor<1x2x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x2x4x4xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %c = onnx.Conv %x, %w {onnx_name = "conv_without_range"} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  func.return %c : tensor<1x2x4x4xf32>
}
// CHECK: 'onnx.Conv' node "conv_without_range" has no 'calibration' range (expected array<f32: lo, hi>; run onnx-calibrate first)

// -----

// A graph input without calibration in the arg_attrs: the error names the ONNX input.

func.func @missing_input_calibration(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> attributes {axc.input_names = ["image"], axc.output_names = ["out"]} {
  %r = onnx.Relu %x {onnx_name = "relu", calibration = array<f32: 0.0, 1.0>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  func.return %r : tensor<1x2x4x4xf32>
}
// CHECK: graph input "image" has no 'calibration' range in the arg_attrs of @missing_input_calibration (run onnx-calibrate first)

// -----

// The Relu absorbed by a Conv gives the result range: it must be calibrated too.

func.func @missing_relu_calibration(%x: tensor<1x2x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x2x4x4xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %c = onnx.Conv %x, %w {onnx_name = "conv", calibration = array<f32: -1.0, 1.0>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %r = onnx.Relu %c {onnx_name = "relu_without_range"} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  func.return %r : tensor<1x2x4x4xf32>
}
// CHECK: 'onnx.Relu' node "relu_without_range" has no 'calibration' range
