// RUN: ax-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @per_tensor_weight(%x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>, %w: tensor<4x3x3x3x!quant.uniform<i8:f32, 0.1:0>>, %b: tensor<4xi32>) {
  %y = quant.conv2d %x, %w, %b : (tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>, tensor<4x3x3x3x!quant.uniform<i8:f32, 0.1:0>>, tensor<4xi32>) -> tensor<1x4x6x6x!quant.uniform<i8:f32, 0.1:0>>
  func.return
}
// CHECK: 'quant.conv2d' op weight must be per-axis on axis 0, got !quant.uniform<i8:f32, 0.1:0>

// -----

func.func @pool_changes_scale(%x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>) {
  %y = quant.max_pool %x {kernel = array<i64: 2, 2>} : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>> -> tensor<1x3x7x7x!quant.uniform<i8:f32, 0.2:0>>
  func.return
}
// CHECK: 'quant.max_pool' op input and result must have the same quantization, got !quant.uniform<i8:f32, 0.1:0> and !quant.uniform<i8:f32, 0.2:0>

// -----

func.func @bad_zero_point(%x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:300>>) {
  func.return
}
// CHECK: quant.uniform zero point must be in [-128, 127], got 300

// -----

func.func @bad_clamp(%x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>) {
  %y = quant.clamp %x {clamp = array<i64: 10, 5>} : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>> -> tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>
  func.return
}
// CHECK: 'quant.clamp' op clamp must satisfy -128 <= lo <= hi <= 127, got [10, 5]

// -----

func.func @bad_lut_table(%x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>) {
  %y = quant.lut %x {table = dense<0> : tensor<128xi8>} : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>> -> tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>
  func.return
}
// CHECK: 'quant.lut' op table must be tensor<256xi8>, got tensor<128xi8>

// -----

func.func @bad_mul_broadcast(%x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>, %g: tensor<1x1x8x8x!quant.uniform<i8:f32, 0.1:0>>) {
  %y = quant.mul %x, %g : (tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>, tensor<1x1x8x8x!quant.uniform<i8:f32, 0.1:0>>) -> tensor<1x3x8x8x!quant.uniform<i8:f32, 0.1:0>>
  func.return
}
// CHECK: 'quant.mul' op rhs must have the shape of lhs [1, 3, 8, 8] or [N, C, 1, 1] of it, got [1, 1, 8, 8]
