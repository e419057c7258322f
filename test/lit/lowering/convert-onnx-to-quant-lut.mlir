// RUN: ax-opt %s -p convert-onnx-to-quant | filecheck %s

// Element-wise functions of one activation become quant.lut: the table is the op itself (run by
// onnxruntime on the 256 dequantized inputs) quantized to the result's range. Sigmoid on [-4, 4]
// (s = 8/255, zp = -1) to [0, 1]: entry 0 is round(sigmoid(-127 * 8/255) * 255) - 128 = -123 (0x85).
// Clip with constant min / max (opset 11+), Div by a constant scalar; Erf stays a host op.

// CHECK-LABEL: func.func @luts(
// CHECK-NEXT:    %[[XQ:.*]] = quant.quantize %x : tensor<1x2x2x2xf32> -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0313725508749485:-1>>
// CHECK-NEXT:    %[[S:.*]] = quant.lut %[[XQ]] {onnx_name = "sig", table = dense<"0x8585858585858686{{[0-9A-F]*}}797A7A7A7A7A7A7A"> : tensor<256xi8>}
// CHECK-SAME:      -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[C:.*]] = quant.lut %[[S]] {onnx_name = "clip", table = dense<"0x80828486888A8C8E{{[0-9A-F]*}}7F7F7F7F7F7F7F7F"> : tensor<256xi8>}
// CHECK-SAME:      -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.0019607844296842813:-128>>
// CHECK-NEXT:    %[[CF:.*]] = quant.dequantize %[[C]]
// CHECK-NEXT:    %[[D:.*]] = quant.lut %[[XQ]] {onnx_name = "div", table = dense<"0xAAABACACADAEAEAF{{[0-9A-F]*}}5050515252535454"> : tensor<256xi8>}
// CHECK-SAME:      -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.007843137718737125:-1>>
// CHECK-NEXT:    %[[DF:.*]] = quant.dequantize %[[D]]
// CHECK-NEXT:    %[[E:.*]] = onnx.Erf %[[DF]]
// CHECK-NEXT:    func.return %[[CF]], %[[E]]
func.func @luts(%x: tensor<1x2x2x2xf32> {calibration = array<f32: -4.0, 4.0>}) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %s = onnx.Sigmoid %x {onnx_name = "sig", calibration = array<f32: 0.0, 1.0>} : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %lo = onnx.Constant {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %hi = onnx.Constant {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %c = onnx.Clip %s, %lo, %hi {onnx_name = "clip", calibration = array<f32: 0.0, 0.5>} : (tensor<1x2x2x2xf32>, tensor<f32>, tensor<f32>) -> tensor<1x2x2x2xf32>
  %six = onnx.Constant {value = dense<6.0> : tensor<1xf32>} : () -> tensor<1xf32>
  %d = onnx.Div %x, %six {onnx_name = "div", calibration = array<f32: -1.0, 1.0>} : (tensor<1x2x2x2xf32>, tensor<1xf32>) -> tensor<1x2x2x2xf32>
  %e = onnx.Erf %d {onnx_name = "erf", calibration = array<f32: -1.0, 1.0>} : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  func.return %c, %e : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}
