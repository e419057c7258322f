// RUN: ax-opt %s -p convert-onnx-to-quant | filecheck %s

// Mul of two activations becomes quant.mul, the larger operand first: same shape (Swish-like), or
// (1, C, H, W) by a (1, C, 1, 1) gate (squeeze-excitation), whatever the onnx operand order. A
// broadcast over other axes, here (1, 1, H, W), stays a host op; x * x is a table (quant.lut).

// CHECK-LABEL: func.func @muls(
// CHECK-NEXT:    %[[XQ:.*]] = quant.quantize %x : tensor<1x2x2x2xf32> -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0313725508749485:-1>>
// CHECK-NEXT:    %[[YQ:.*]] = quant.quantize %y : tensor<1x2x2x2xf32> -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[GQ:.*]] = quant.quantize %g : tensor<1x2x1x1xf32> -> tensor<1x2x1x1x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[M:.*]] = quant.mul %[[XQ]], %[[YQ]] {onnx_name = "swish"} : (tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0313725508749485:-1>>, tensor<1x2x2x2x!quant.uniform<i8:f32, 0.003921568859368563:-128>>) -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0313725508749485:-1>>
// CHECK-NEXT:    %[[S:.*]] = quant.mul %[[M]], %[[GQ]] {onnx_name = "se"} : (tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0313725508749485:-1>>, tensor<1x2x1x1x!quant.uniform<i8:f32, 0.003921568859368563:-128>>) -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0313725508749485:-1>>
// CHECK-NEXT:    %[[SQ:.*]] = quant.lut %[[S]] {onnx_name = "sq"
// CHECK-NEXT:    %[[HF:.*]] = quant.dequantize %[[SQ]]
// CHECK-NEXT:    %{{.*}} = onnx.Mul %[[HF]], %h {onnx_name = "host"
func.func @muls(%x: tensor<1x2x2x2xf32> {calibration = array<f32: -4.0, 4.0>},
                %y: tensor<1x2x2x2xf32> {calibration = array<f32: 0.0, 1.0>},
                %g: tensor<1x2x1x1xf32> {calibration = array<f32: 0.0, 1.0>},
                %h: tensor<1x1x2x2xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x2x2x2xf32> {
  %m = onnx.Mul %x, %y {onnx_name = "swish", calibration = array<f32: -4.0, 4.0>} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %s = onnx.Mul %g, %m {onnx_name = "se", calibration = array<f32: -4.0, 4.0>} : (tensor<1x2x1x1xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %q = onnx.Mul %s, %s {onnx_name = "sq", calibration = array<f32: 0.0, 16.0>} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %r = onnx.Mul %q, %h {onnx_name = "host", calibration = array<f32: 0.0, 16.0>} : (tensor<1x2x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32>
  func.return %r : tensor<1x2x2x2xf32>
}
