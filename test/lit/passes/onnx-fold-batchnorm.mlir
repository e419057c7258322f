// RUN: ax-opt %s -p onnx-fold-batchnorm | filecheck %s

// Conv -> BN with the Conv used only there: a = scale / sqrt(var + eps) = [1, 6],
// W' = W * a, B' = (B - mean) * a + bias. The BN parameters and old weights go.
// CHECK-LABEL: func.func @into_conv
// CHECK-NEXT:    %[[W:.*]] = onnx.Constant {value = dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}1.200000e+01]]]]> : tensor<2x1x1x1xf32>, onnx_name = "c/W"}
// CHECK-NEXT:    %[[B:.*]] = onnx.Constant {value = dense<[5.000000e-01, 1.225000e+01]> : tensor<2xf32>, onnx_name = "c/B"}
// CHECK-NEXT:    %[[Y:.*]] = onnx.Conv %x, %[[W]], %[[B]] {group = 2 : i64, onnx_name = "c"} : (tensor<1x2x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @into_conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = onnx.Constant {value = dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>} : () -> tensor<2x1x1x1xf32>
  %cb = onnx.Constant {value = dense<[1.0, 1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %y = onnx.Conv %x, %w, %cb {group = 2 : i64, onnx_name = "c"} : (tensor<1x2x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %s = onnx.Constant {value = dense<[2.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = onnx.Constant {value = dense<[0.5, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = onnx.Constant {value = dense<[1.0, -1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %v = onnx.Constant {value = dense<[4.0, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %bn = onnx.BatchNormalization %y, %s, %b, %m, %v {epsilon = 0.0 : f32, onnx_name = "bn"} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %bn : tensor<1x2x4x4xf32>
}

// BN after a Concat (DenseNet): a depthwise 1x1 Conv named after the BN.
// CHECK-LABEL: func.func @depthwise
// CHECK:         %[[W:.*]] = onnx.Constant {value = dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}6.000000e+00]]]]> : tensor<2x1x1x1xf32>, onnx_name = "bn/W"}
// CHECK-NEXT:    %[[B:.*]] = onnx.Constant {value = dense<[-5.000000e-01, 6.250000e+00]> : tensor<2xf32>, onnx_name = "bn/B"}
// CHECK-NEXT:    %[[Y:.*]] = onnx.Conv %{{.*}}, %[[W]], %[[B]] {group = 2 : i64, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>, onnx_name = "bn"} : (tensor<1x2x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NOT:     onnx.BatchNormalization
func.func @depthwise(%x: tensor<1x1x4x4xf32>, %z: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %c = onnx.Concat %x, %z {axis = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %s = onnx.Constant {value = dense<[2.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = onnx.Constant {value = dense<[0.5, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = onnx.Constant {value = dense<[1.0, -1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %v = onnx.Constant {value = dense<[4.0, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %bn = onnx.BatchNormalization %c, %s, %b, %m, %v {epsilon = 0.0 : f32, onnx_name = "bn"} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %bn : tensor<1x2x4x4xf32>
}

// A Conv with another user keeps its weights: the BN becomes its own depthwise Conv.
// CHECK-LABEL: func.func @shared_conv
// CHECK:         %[[Y:.*]] = onnx.Conv %x, %{{.*}} {onnx_name = "c"}
// CHECK:         onnx.Conv %[[Y]], %{{.*}}, %{{.*}} {group = 1 : i64, {{.*}}onnx_name = "bn"}
// CHECK-NOT:     onnx.BatchNormalization
func.func @shared_conv(%x: tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %w = onnx.Constant {value = dense<2.0> : tensor<1x1x1x1xf32>} : () -> tensor<1x1x1x1xf32>
  %y = onnx.Conv %x, %w {onnx_name = "c"} : (tensor<1x1x4x4xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x4x4xf32>
  %p = onnx.Constant {value = dense<1.0> : tensor<1xf32>} : () -> tensor<1xf32>
  %bn = onnx.BatchNormalization %y, %p, %p, %p, %p {onnx_name = "bn"} : (tensor<1x1x4x4xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x4x4xf32>
  func.return %bn, %y : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// Parameters that are not constants: the BN stays.
// CHECK-LABEL: func.func @dynamic
// CHECK:         onnx.BatchNormalization
func.func @dynamic(%x: tensor<1x2x4x4xf32>, %s: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %bn = onnx.BatchNormalization %x, %s, %s, %s, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %bn : tensor<1x2x4x4xf32>
}
