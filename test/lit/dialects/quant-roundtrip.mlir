// RUN: ax-opt %s | ax-opt | filecheck %s
// RUN: ax-opt %s --print-op-generic | ax-opt | filecheck %s

!x = tensor<1x3x8x8x!quant.uniform<i8:f32, 0.0078125:-1>>
!w = tensor<4x3x3x3x!quant.uniform_per_axis<i8:f32:0, {0.01, 0.02, 0.03, 0.04}>>
!y = tensor<1x4x8x8x!quant.uniform<i8:f32, 0.05:-3>>
// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: quant.quantize %{{.*}} : tensor<1x3x8x8xf32> -> tensor<1x3x8x8x!quant.uniform<i8:f32, 0.0078125:-1>>
  %q = quant.quantize %x : tensor<1x3x8x8xf32> -> !x
  // CHECK: quant.constant {value = dense<3> : tensor<4x3x3x3xi8>} : tensor<4x3x3x3x!quant.uniform_per_axis<i8:f32:0, {0.01, 0.02, 0.03, 0.04}>>
  %w = quant.constant {value = dense<3> : tensor<4x3x3x3xi8>} : !w
  %b = quant.constant {value = dense<7> : tensor<4xi32>} : tensor<4xi32>
  // CHECK: quant.conv2d %{{.*}}, %{{.*}}, %{{.*}} {pads = array<i64: 1, 1, 1, 1>, clamp = array<i64: -3, 127>}
  %y = quant.conv2d %q, %w, %b {pads = array<i64: 1, 1, 1, 1>, clamp = array<i64: -3, 127>} : (!x, !w, tensor<4xi32>) -> !y
  // CHECK: quant.max_pool
  %m = quant.max_pool %y {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : !y -> tensor<1x4x4x4x!quant.uniform<i8:f32, 0.05:-3>>
  // CHECK: quant.add
  %a = quant.add %y, %y : (!y, !y) -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-3>>
  // CHECK: quant.mul %{{.*}}, %{{.*}} : (tensor<1x4x8x8x!quant.uniform<i8:f32, 0.05:-3>>, tensor<1x4x1x1x!quant.uniform<i8:f32, 0.05:-3>>) -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-3>>
  %gp = quant.avg_pool %y {kernel = array<i64: 8, 8>} : !y -> tensor<1x4x1x1x!quant.uniform<i8:f32, 0.05:-3>>
  %mu = quant.mul %y, %gp : (!y, tensor<1x4x1x1x!quant.uniform<i8:f32, 0.05:-3>>) -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-3>>
  // CHECK: quant.concat %{{.*}}, %{{.*}} {axis = 1 : i64}
  %c = quant.concat %y, %y {axis = 1 : i64} : (!y, !y) -> tensor<1x8x8x8x!quant.uniform<i8:f32, 0.05:-3>>
  // CHECK: quant.lut %{{.*}} {table = dense<7> : tensor<256xi8>} : tensor<1x4x8x8x!quant.uniform<i8:f32, 0.05:-3>> -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-3>>
  %l = quant.lut %y {table = dense<7> : tensor<256xi8>} : !y -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-3>>
  // CHECK: quant.dequantize
  %d = quant.dequantize %a : tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-3>> -> tensor<1x4x8x8xf32>
  // CHECK: onnx.Softmax
  %s = onnx.Softmax %d {axis = 1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  func.return %s : tensor<1x4x8x8xf32>
}
