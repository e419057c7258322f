// RUN: ax-opt %s -p convert-onnx-to-quant --split-input-file | filecheck %s

// Conv + Relu fuse (result qparams from the Relu's range, clamp lo = zero point), Add, MaxPool
// keeps its input's qparams, graph input quantized once, graph output dequantized.
// Range [0, 1] -> (1/255, -128); [0, 2] -> (2/255, -128); [-1, 2] -> (3/255, -43).

// CHECK-LABEL: func.func @conv_relu_add_pool(
// CHECK-SAME:      %x: tensor<1x2x4x4xf32> {{.*}}) -> tensor<1x4x2x2xf32>
// CHECK-NEXT:    %[[XQ:.*]] = quant.quantize %x : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[W:.*]] = quant.constant {value = dense<{{\[\[\[\[}}127]], {{\[\[}}-64]]], {{\[\[\[}}127]], {{\[\[}}16]]], {{\[\[\[}}127]], {{\[\[}}85]]], {{\[\[\[}}-85]], {{\[\[}}127]]]]> : tensor<4x2x1x1xi8>} : tensor<4x2x1x1x!quant.uniform_per_axis<i8:f32:0, {0.003937007859349251, 0.007874015718698502, 0.0023622047156095505, 0.004724409431219101}>>
// CHECK-NEXT:    %[[B:.*]] = quant.constant {value = dense<[6477, -3238, 0, 10795]> : tensor<4xi32>} : tensor<4xi32>
// CHECK-NEXT:    %[[C:.*]] = quant.conv2d %[[XQ]], %[[W]], %[[B]] {onnx_name = "conv1", strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, clamp = array<i64: -128, 127>}
// CHECK-SAME:      -> tensor<1x4x4x4x!quant.uniform<i8:f32, 0.007843137718737125:-128>>
// CHECK-NEXT:    %[[A:.*]] = quant.add %[[C]], %[[C]] {onnx_name = "add1"}
// CHECK-SAME:      -> tensor<1x4x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
// CHECK-NEXT:    %[[M:.*]] = quant.max_pool %[[A]] {onnx_name = "pool1", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64}
// CHECK-SAME:      -> tensor<1x4x2x2x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
// CHECK-NEXT:    %[[F:.*]] = quant.dequantize %[[M]] : {{.*}} -> tensor<1x4x2x2xf32>
// CHECK-NEXT:    func.return %[[F]] : tensor<1x4x2x2xf32>
// CHECK-NOT:     onnx.
// CHECK-NOT:     unrealized_conversion_cast
func.func @conv_relu_add_pool(%x: tensor<1x2x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x4x2x2xf32> {
  %w = onnx.Constant {value = dense<[[[[0.5]], [[-0.25]]], [[[1.0]], [[0.125]]], [[[0.3]], [[0.2]]], [[[-0.4]], [[0.6]]]]> : tensor<4x2x1x1xf32>} : () -> tensor<4x2x1x1xf32>
  %b = onnx.Constant {value = dense<[0.1, -0.1, 0.0, 0.2]> : tensor<4xf32>} : () -> tensor<4xf32>
  %c = onnx.Conv %x, %w, %b {onnx_name = "conv1", calibration = array<f32: -1.0, 2.0>} : (tensor<1x2x4x4xf32>, tensor<4x2x1x1xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  %r = onnx.Relu %c {onnx_name = "relu1", calibration = array<f32: 0.0, 2.0>} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %a = onnx.Add %r, %r {onnx_name = "add1", calibration = array<f32: -1.0, 2.0>} : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %m = onnx.MaxPool %a {onnx_name = "pool1", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, calibration = array<f32: -1.0, 2.0>} : (tensor<1x4x4x4xf32>) -> tensor<1x4x2x2xf32>
  func.return %m : tensor<1x4x2x2xf32>
}

// -----

// Add absorbs its Relu (clamp lo = zero point of the result); a Relu whose producer has other users
// becomes quant.clamp [zp, 127] with its input's qparams.

// CHECK-LABEL: func.func @add_relu_and_clamp(
// CHECK-NEXT:    %[[XQ:.*]] = quant.quantize %x : {{.*}} -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
// CHECK-NEXT:    %[[YQ:.*]] = quant.quantize %y : {{.*}} -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[S:.*]] = quant.add %[[XQ]], %[[YQ]] {onnx_name = "add", clamp = array<i64: -128, 127>}
// CHECK-SAME:      -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.01568627543747425:-128>>
// CHECK:         %[[R:.*]] = quant.clamp %[[XQ]] {onnx_name = "relu_x", clamp = array<i64: -43, 127>}
// CHECK-SAME:      tensor<1x3x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>> -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
// CHECK-NOT:     onnx.
func.func @add_relu_and_clamp(%x: tensor<1x3x4x4xf32> {calibration = array<f32: -1.0, 2.0>}, %y: tensor<1x3x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) {
  %s = onnx.Add %x, %y {onnx_name = "add", calibration = array<f32: -1.0, 3.0>} : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %sr = onnx.Relu %s {onnx_name = "relu_add", calibration = array<f32: 0.0, 4.0>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %r = onnx.Relu %x {onnx_name = "relu_x", calibration = array<f32: 0.0, 2.0>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  func.return %sr, %r : tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>
}

// -----

// Average pools: ONNX pads [t, l, b, r], ceil_mode and count_include_pad are kept; the global pool
// is the HxW kernel; the result qparams come from the pool's own calibration. (N, C, 1, 1) <-> (N, C)
// Flatten / Reshape are quant.reshape (the shape constant goes away).

// CHECK-LABEL: func.func @pools(
// CHECK:         quant.avg_pool %{{.*}} {onnx_name = "ap", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 1, 1, 0>, ceil_mode = 1 : i64, count_include_pad = 1 : i64}
// CHECK-SAME:      tensor<1x2x6x6x!quant.uniform<i8:f32, 0.003921568859368563:-128>> -> tensor<1x2x3x3x!quant.uniform<i8:f32, 0.0019607844296842813:-128>>
// CHECK:         quant.avg_pool %{{.*}} {onnx_name = "gap", kernel = array<i64: 6, 6>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = 0 : i64, count_include_pad = 0 : i64}
// CHECK-SAME:      -> tensor<1x2x1x1x!quant.uniform<i8:f32, 0.0019607844296842813:-128>>
// CHECK-NEXT:    quant.reshape %{{.*}} {onnx_name = "flat"} : tensor<1x2x1x1x!quant.uniform<i8:f32, 0.0019607844296842813:-128>> -> tensor<1x2x!quant.uniform<i8:f32, 0.0019607844296842813:-128>>
// CHECK-NEXT:    quant.reshape %{{.*}} {onnx_name = "back"} : tensor<1x2x!quant.uniform<i8:f32, 0.0019607844296842813:-128>> -> tensor<1x2x1x1x!quant.uniform<i8:f32, 0.0019607844296842813:-128>>
// CHECK-NOT:     onnx.
func.func @pools(%x: tensor<1x2x6x6xf32> {calibration = array<f32: 0.0, 1.0>}) -> (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>) {
  %a = onnx.AveragePool %x {onnx_name = "ap", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 1, 1, 0>, ceil_mode = 1 : i64, count_include_pad = 1 : i64, calibration = array<f32: 0.0, 0.5>} : (tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32>
  %g = onnx.GlobalAveragePool %x {onnx_name = "gap", calibration = array<f32: 0.0, 0.5>} : (tensor<1x2x6x6xf32>) -> tensor<1x2x1x1xf32>
  %f = onnx.Flatten %g {onnx_name = "flat", axis = 1 : i64, calibration = array<f32: 0.0, 0.5>} : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  %shape = onnx.Constant {value = dense<[1, 2, 1, 1]> : tensor<4xi64>} : () -> tensor<4xi64>
  %r = onnx.Reshape %f, %shape {onnx_name = "back", calibration = array<f32: 0.0, 0.5>} : (tensor<1x2xf32>, tensor<4xi64>) -> tensor<1x2x1x1xf32>
  func.return %a, %r : tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>
}

// -----

// A dilated average pool (opset >= 19) keeps its dilations.

// CHECK-LABEL: func.func @dilated_pool(
// CHECK:         quant.avg_pool %{{.*}} {onnx_name = "dap", kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 1, 0, 0, 1>, ceil_mode = 0 : i64, count_include_pad = 1 : i64, dilations = array<i64: 2, 3>}
// CHECK-SAME:      -> tensor<1x2x5x4x!quant.uniform<i8:f32, 0.0019607844296842813:-128>>
func.func @dilated_pool(%x: tensor<1x2x6x6xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x2x5x4xf32> {
  %a = onnx.AveragePool %x {onnx_name = "dap", kernel_shape = array<i64: 2, 2>, dilations = array<i64: 2, 3>, pads = array<i64: 1, 0, 0, 1>, count_include_pad = 1 : i64, calibration = array<f32: 0.0, 0.5>} : (tensor<1x2x6x6xf32>) -> tensor<1x2x5x4xf32>
  func.return %a : tensor<1x2x5x4xf32>
}

// -----

// Channel concat: the result range is the union of the inputs' ([-1, 2] and [0, 1] -> [-1, 2]), so
// only the input with other qparams is requantized.

// CHECK-LABEL: func.func @concat(
// CHECK:         %[[P:.*]] = quant.max_pool {{.*}} -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
// CHECK-NEXT:    %[[Q:.*]] = quant.max_pool {{.*}} -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[RQ:.*]] = quant.requantize %[[Q]] {onnx_name = "cat"} : tensor<1x3x4x4x!quant.uniform<i8:f32, 0.003921568859368563:-128>> -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
// CHECK-NEXT:    %{{.*}} = quant.concat %[[P]], %[[RQ]] {onnx_name = "cat", axis = 1 : i64}
// CHECK-SAME:      -> tensor<1x5x4x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>>
func.func @concat(%x: tensor<1x2x4x4xf32> {calibration = array<f32: -1.0, 2.0>}, %y: tensor<1x3x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x5x4x4xf32> {
  %p = onnx.MaxPool %x {onnx_name = "px", kernel_shape = array<i64: 1, 1>, calibration = array<f32: -1.0, 2.0>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %q = onnx.MaxPool %y {onnx_name = "py", kernel_shape = array<i64: 1, 1>, calibration = array<f32: 0.0, 1.0>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %c = onnx.Concat %p, %q {onnx_name = "cat", axis = 1 : i64, calibration = array<f32: -1.0, 2.0>} : (tensor<1x2x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x5x4x4xf32>
  func.return %c : tensor<1x5x4x4xf32>
}

// -----

// Host ops: consecutive host ops (Transpose, Softmax) share one dequantize / quantize boundary; a host
// op on a graph input needs no quantize before it; a host result feeding an AIPU op is quantized with
// its calibration, and a host result that is a graph output stays f32.

// CHECK-LABEL: func.func @host(
// CHECK-NEXT:    %[[T0:.*]] = onnx.Transpose %x {{.*}} : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK-NEXT:    %[[T0Q:.*]] = quant.quantize %[[T0]] : tensor<1x4x2x2xf32> -> tensor<1x4x2x2x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[G:.*]] = quant.avg_pool %[[T0Q]]
// CHECK-NEXT:    %[[FL:.*]] = quant.reshape %[[G]]
// CHECK-NEXT:    %[[DQ:.*]] = quant.dequantize %[[FL]] : tensor<1x4x!quant.uniform<i8:f32, 0.0117647061124444:-43>> -> tensor<1x4xf32>
// CHECK-NEXT:    %[[T1:.*]] = onnx.Transpose %[[DQ]] {{.*}} : (tensor<1x4xf32>) -> tensor<1x4xf32>
// CHECK-NEXT:    %[[S:.*]] = onnx.Softmax %[[T1]] {{.*}} : (tensor<1x4xf32>) -> tensor<1x4xf32>
// CHECK-NEXT:    %[[SQ:.*]] = quant.quantize %[[S]] : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.003921568859368563:-128>>
// CHECK-NEXT:    %[[CL:.*]] = quant.clamp %[[SQ]]
// CHECK-NEXT:    %[[CF:.*]] = quant.dequantize %[[CL]]
// CHECK-NEXT:    func.return %[[S]], %[[CF]] : tensor<1x4xf32>, tensor<1x4xf32>
func.func @host(%x: tensor<1x4x2x2xf32> {calibration = array<f32: 0.0, 1.0>}) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  %t0 = onnx.Transpose %x {onnx_name = "t0", perm = array<i64: 0, 1, 3, 2>, calibration = array<f32: 0.0, 1.0>} : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  %g = onnx.GlobalAveragePool %t0 {onnx_name = "gap", calibration = array<f32: -1.0, 2.0>} : (tensor<1x4x2x2xf32>) -> tensor<1x4x1x1xf32>
  %f = onnx.Flatten %g {onnx_name = "flat", calibration = array<f32: -1.0, 2.0>} : (tensor<1x4x1x1xf32>) -> tensor<1x4xf32>
  %t1 = onnx.Transpose %f {onnx_name = "t1", perm = array<i64: 0, 1>, calibration = array<f32: -1.0, 2.0>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %s = onnx.Softmax %t1 {onnx_name = "sm", axis = 1 : i64, calibration = array<f32: 0.0, 1.0>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %r = onnx.Relu %s {onnx_name = "r", calibration = array<f32: 0.0, 1.0>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %s, %r : tensor<1x4xf32>, tensor<1x4xf32>
}

// -----

// A Flatten that changes the element order in HWC ((N, C, H, W) -> (N, C*H*W), H*W > 1) is a host op.

// CHECK-LABEL: func.func @flatten_host(
// CHECK:         %[[D:.*]] = quant.dequantize
// CHECK-NEXT:    %[[F:.*]] = onnx.Flatten %[[D]] {{.*}} : (tensor<1x2x2x2xf32>) -> tensor<1x8xf32>
// CHECK-NEXT:    %[[Q:.*]] = quant.quantize %[[F]]
// CHECK-NEXT:    quant.clamp %[[Q]]
func.func @flatten_host(%x: tensor<1x2x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x8xf32> {
  %m = onnx.MaxPool %x {onnx_name = "p", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, calibration = array<f32: 0.0, 1.0>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %f = onnx.Flatten %m {onnx_name = "flat", axis = 1 : i64, calibration = array<f32: 0.0, 1.0>} : (tensor<1x2x2x2xf32>) -> tensor<1x8xf32>
  %r = onnx.Relu %f {onnx_name = "r", calibration = array<f32: 0.0, 1.0>} : (tensor<1x8xf32>) -> tensor<1x8xf32>
  func.return %r : tensor<1x8xf32>
}
