// RUN: ax-opt %s -p onnx-fold-channel-affine | filecheck %s

// Conv -> Mul [C,1,1] -> Add [1,C,1,1] (DenseNet / Inception v2 after fold-batchnorm): both go
// into the Conv, which keeps its name; the constants go.
// CHECK-LABEL: func.func @mul_add
// CHECK-NEXT:    %[[W:.*]] = onnx.Constant {value = dense<{{\[\[\[\[}}2.000000e+00]], {{\[\[}}4.000000e+00]]], {{\[\[\[}}-3.000000e+00]], {{\[\[}}-3.000000e+00]]]]> : tensor<2x2x1x1xf32>, onnx_name = "c/W"}
// CHECK-NEXT:    %[[B:.*]] = onnx.Constant {value = dense<[3.000000e+00, -4.000000e+00]> : tensor<2xf32>, onnx_name = "c/B"}
// CHECK-NEXT:    %[[Y:.*]] = onnx.Conv %x, %[[W]], %[[B]] {onnx_name = "c"} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @mul_add(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = onnx.Constant {value = dense<[[[[1.0]], [[2.0]]], [[[1.0]], [[1.0]]]]> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %y = onnx.Conv %x, %w {onnx_name = "c"} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %s = onnx.Constant {value = dense<[[[2.0]], [[-3.0]]]> : tensor<2x1x1xf32>} : () -> tensor<2x1x1xf32>
  %m = onnx.Mul %y, %s {onnx_name = "mul"} : (tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %t = onnx.Constant {value = dense<[[[[3.0]], [[-4.0]]]]> : tensor<1x2x1x1xf32>} : () -> tensor<1x2x1x1xf32>
  %a = onnx.Add %t, %m {onnx_name = "add"} : (tensor<1x2x1x1xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %a : tensor<1x2x3x3xf32>
}

// A scalar scale applies to every channel, bias included.
// CHECK-LABEL: func.func @scalar
// CHECK:         onnx.Constant {value = dense<5.000000e-01> : tensor<1x1x1x1xf32>, onnx_name = "c/W"}
// CHECK-NEXT:    onnx.Constant {value = dense<2.000000e+00> : tensor<1xf32>, onnx_name = "c/B"}
// CHECK-NOT:     onnx.Mul
func.func @scalar(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = onnx.Constant {value = dense<1.0> : tensor<1x1x1x1xf32>} : () -> tensor<1x1x1x1xf32>
  %b = onnx.Constant {value = dense<4.0> : tensor<1xf32>} : () -> tensor<1xf32>
  %y = onnx.Conv %x, %w, %b {onnx_name = "c"} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  %h = onnx.Constant {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Mul %y, %h : (tensor<1x1x2x2xf32>, tensor<f32>) -> tensor<1x1x2x2xf32>
  func.return %m : tensor<1x1x2x2xf32>
}

// Not folded: a Conv with another user, a constant that varies over space.
// CHECK-LABEL: func.func @not_folded
// CHECK:         onnx.Mul
// CHECK:         onnx.Add
func.func @not_folded(%x: tensor<1x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %w = onnx.Constant {value = dense<1.0> : tensor<1x1x1x1xf32>} : () -> tensor<1x1x1x1xf32>
  %y = onnx.Conv %x, %w : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %h = onnx.Constant {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Mul %y, %h : (tensor<1x1x2x2xf32>, tensor<f32>) -> tensor<1x1x2x2xf32>
  %y2 = onnx.Conv %x, %w : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %sp = onnx.Constant {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %a = onnx.Add %y2, %sp : (tensor<1x1x2x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2x2xf32>
  func.return %m, %y : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}
