// RUN: ax-opt %s -p 'onnx-place{split-pre-post=true}' | filecheck %s --check-prefix=SPLIT
// RUN: ax-opt %s -p 'onnx-place{cleaner-node="Clip" cleaner-condition="maximum_weight_tensor_size" cleaner-threshold=0}' | filecheck %s --check-prefix=CLEAN
// RUN: ax-opt %s -p 'onnx-place{cleaner-node="Clip" cleaner-condition="maximum_weight_tensor_size" cleaner-threshold=1}' | filecheck %s --check-prefix=KEEP
// RUN: not ax-opt %s -p 'onnx-place{cleaner-node="Gemm"}' 2>&1 | filecheck %s --check-prefix=HALF
// RUN: not ax-opt %s -p 'onnx-place{cleaner-node="Gemm" cleaner-condition="biggest"}' 2>&1 | filecheck %s --check-prefix=COND
// RUN: not ax-opt %s -p 'onnx-place{cpu-fallback-ops="Conv,Cnv"}' 2>&1 | filecheck %s --check-prefix=TYPO
// COND: onnx-place: cleaner-condition must be one of maximum_weight_tensor_size, maximum_weight_tensor_first_dimension_size, got 'biggest'
// TYPO: onnx-place: cpu-fallback-ops names unknown ONNX op type(s) Cnv

// graph_cleaner_split_pre_post_processing: the input scaling before the first Conv and the Relu
// after the last MAC op are pre / post-processing: host. The Relu between the MAC ops stays.
// SPLIT-LABEL: func.func @pre_post
// SPLIT:         onnx.Mul {{.*}}axc.placement = "host"
// SPLIT:         onnx.Conv {{.*}}axc.placement = "aipu"
// SPLIT:         onnx.Relu {{.*}}axc.placement = "aipu"
// SPLIT:         onnx.Conv {{.*}}axc.placement = "aipu"
// SPLIT:         onnx.Relu {{.*}}axc.placement = "host"
// graph_cleaner_node / condition / threshold: a Clip whose largest constant operand has more
// elements than the threshold runs on the host.
// CLEAN-LABEL: func.func @clip
// CLEAN:         onnx.Clip {{.*}}axc.placement = "host"
// KEEP-LABEL:  func.func @clip
// KEEP:          onnx.Clip {{.*}}axc.placement = "aipu"
// HALF: onnx-place: cleaner-node and cleaner-condition go together (got node 'Gemm', condition '')
func.func @pre_post(%x: tensor<1x3x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %s = onnx.Constant {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Mul %x, %s : (tensor<1x3x4x4xf32>, tensor<f32>) -> tensor<1x3x4x4xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<4x3x1x1xf32>} : () -> tensor<4x3x1x1xf32>
  %c = onnx.Conv %m, %w : (tensor<1x3x4x4xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x4x4xf32>
  %r = onnx.Relu %c : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %w2 = onnx.Constant {value = dense<0.5> : tensor<4x4x1x1xf32>} : () -> tensor<4x4x1x1xf32>
  %c2 = onnx.Conv %r, %w2 : (tensor<1x4x4x4xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x4x4xf32>
  %r2 = onnx.Relu %c2 : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  func.return %r2 : tensor<1x4x4x4xf32>
}
func.func @clip(%x: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<4x4x1x1xf32>} : () -> tensor<4x4x1x1xf32>
  %c = onnx.Conv %x, %w : (tensor<1x4x2x2xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x2x2xf32>
  %lo = onnx.Constant {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %k = onnx.Clip %c, %lo : (tensor<1x4x2x2xf32>, tensor<f32>) -> tensor<1x4x2x2xf32>
  %c2 = onnx.Conv %k, %w : (tensor<1x4x2x2xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x2x2xf32>
  func.return %c2 : tensor<1x4x2x2xf32>
}
