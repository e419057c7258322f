// RUN: ax-opt %s -p onnx-fold-constants | filecheck %s

// ConstantOfShape of a constant shape, Unsqueeze of it and a Mul of constants all fold; the dead
// shape and operand constants go. The Add with a function argument stays.
// CHECK-LABEL: func.func @weights
// CHECK-NEXT:    %[[C:.*]] = onnx.Constant {value = dense<1.000000e+00> : tensor<2x1x1xf32>, onnx_name = "scale"} : () -> tensor<2x1x1xf32>
// CHECK-NEXT:    %[[Y:.*]] = onnx.Add %x, %[[C]] {onnx_name = "add"} : (tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NEXT:    func.return %[[Y]] : tensor<1x2x3x3xf32>
func.func @weights(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %shape = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %w = onnx.ConstantOfShape %shape {value = dense<0.5> : tensor<1xf32>, onnx_name = "cos"} : (tensor<1xi64>) -> tensor<2xf32>
  %u = onnx.Unsqueeze %w {axes = array<i64: 1, 2>, onnx_name = "unsq"} : (tensor<2xf32>) -> tensor<2x1x1xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %s = onnx.Mul %u, %two {onnx_name = "scale"} : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %unused = onnx.Constant {value = dense<7.0> : tensor<4xf32>} : () -> tensor<4xf32>
  %y = onnx.Add %x, %s {onnx_name = "add"} : (tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// A Reshape of a constant weight (Inception v1's classifier) folds to a constant of the new shape.
// CHECK-LABEL: func.func @reshape_weight
// CHECK-NEXT:    %[[W:.*]] = onnx.Constant {value = dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>, onnx_name = "rw"} : () -> tensor<2x3xf32>
// CHECK-NEXT:    onnx.Gemm %a, %[[W]] {transB = 1 : i64}
func.func @reshape_weight(%a: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %w = onnx.Constant {value = dense<[[[[1.0]], [[2.0]], [[3.0]]], [[[4.0]], [[5.0]], [[6.0]]]]> : tensor<2x3x1x1xf32>} : () -> tensor<2x3x1x1xf32>
  %s = onnx.Constant {value = dense<[2, 3]> : tensor<2xi64>} : () -> tensor<2xi64>
  %rw = onnx.Reshape %w, %s {onnx_name = "rw"} : (tensor<2x3x1x1xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  %y = onnx.Gemm %a, %rw {transB = 1 : i64} : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}

// A graph output that is computed from constants only becomes a constant.
// CHECK-LABEL: func.func @constant_output
// CHECK-NEXT:    %[[R:.*]] = onnx.Constant {value = dense<[0.000000e+00, 3.000000e+00]> : tensor<2xf32>, onnx_name = "r"} : () -> tensor<2xf32>
// CHECK-NEXT:    func.return %[[R]]
func.func @constant_output() -> tensor<2xf32> {
  %c = onnx.Constant {value = dense<[-1.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %r = onnx.Relu %c {onnx_name = "r"} : (tensor<2xf32>) -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}
