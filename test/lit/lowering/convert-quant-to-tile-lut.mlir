// RUN: ax-opt %s -p 'convert-quant-to-tile{force-h-tiling=2 force-oc-tiling=2}' | filecheck %s
// RUN: ax-opt %s -p 'convert-quant-to-tile,tile-plan-memory,convert-tile-to-aipu{schedule=false}' | filecheck %s --check-prefix=AIPU

// quant.lut of 70 channels: the table is one 256-byte constant, loaded into L1 once per channel tile
// (two channel tiles of 64 + 6 channels) and kept across its height tiles; every tile.lut waits for
// the table load and its input rows. At the aipu level it is `dpu op = lut` with the table's L1
// address.

// CHECK:       %[[T:.*]] = tile.constant {name = "sig/lut", src = "sig", value = dense<"0xC0C0C1C1{{[0-9A-F]*}}3E3E3F3F"> : tensor<256xi8>} : memref<256xi8, "ddr">
// CHECK:       %[[L0:.*]] = tile.alloc {kind = "scratch", name = "sig/lut"} : memref<256xi8, "l1">
// CHECK-NEXT:  %[[D0:.*]] = tile.dma %[[T]], %[[L0]] {src_offsets = array<i64: 0>, dst_offsets = array<i64: 0>, sizes = array<i64: 256>, src = "sig"}
// CHECK:       tile.lut %{{.*}}, %[[L0]], %{{.*}} [after %[[D0]], %{{.*}}] {channels = array<i64: 64>, src = "sig"} : memref<2x4x64xi8, "l1">, memref<256xi8, "l1">, memref<2x4x64xi8, "l1">
// CHECK:       tile.lut %{{.*}}, %[[L0]], %{{.*}} [after %[[D0]], %{{.*}}] {channels = array<i64: 64>, src = "sig"}
// CHECK:       %[[L1:.*]] = tile.alloc {kind = "scratch", name = "sig/lut"} : memref<256xi8, "l1">
// CHECK-NEXT:  %[[D1:.*]] = tile.dma %[[T]], %[[L1]]
// CHECK:       tile.lut %{{.*}}, %[[L1]], %{{.*}} [after %[[D1]], %{{.*}}] {channels = array<i64: 6>, src = "sig"}
// CHECK:       tile.lut %{{.*}}, %[[L1]], %{{.*}} [after %[[D1]], %{{.*}}] {channels = array<i64: 6>, src = "sig"}
// CHECK-NOT:   tile.lut

// AIPU:        aipu.data name = "sig/lut", at = ddr[0x1000], value = dense<"0xC0C0C1C1{{[0-9A-F]*}}3E3E3F3F"> : tensor<256xi8>
// AIPU:        aipu.dma from = ddr[0x1000], to = l1[0x0], sizes = [256], channel = 1, signal = 0, src = "sig"
// AIPU:        aipu.dpu op = lut, in = l1[0x100], in_shape = [4, 4, 128], table = l1[0x0], out = l1[0x900], out_shape = [4, 4, 128], channels = 70, signal = 2, src = "sig"

// table[k] = (k - 128) // 2
!x = tensor<1x70x4x4x!quant.uniform<i8:f32, 0.5:-3>>
!y = tensor<1x70x4x4x!quant.uniform<i8:f32, 0.25:1>>
func.func @main(%x: tensor<1x70x4x4xf32>) -> tensor<1x70x4x4xf32> attributes {axc.input_names = ["image"], axc.output_names = ["out"]} {
  %q = quant.quantize %x : tensor<1x70x4x4xf32> -> !x
  %y = quant.lut %q {table = dense<"0xC0C0C1C1C2C2C3C3C4C4C5C5C6C6C7C7C8C8C9C9CACACBCBCCCCCDCDCECECFCFD0D0D1D1D2D2D3D3D4D4D5D5D6D6D7D7D8D8D9D9DADADBDBDCDCDDDDDEDEDFDFE0E0E1E1E2E2E3E3E4E4E5E5E6E6E7E7E8E8E9E9EAEAEBEBECECEDEDEEEEEFEFF0F0F1F1F2F2F3F3F4F4F5F5F6F6F7F7F8F8F9F9FAFAFBFBFCFCFDFDFEFEFFFF00000101020203030404050506060707080809090A0A0B0B0C0C0D0D0E0E0F0F10101111121213131414151516161717181819191A1A1B1B1C1C1D1D1E1E1F1F20202121222223232424252526262727282829292A2A2B2B2C2C2D2D2E2E2F2F30303131323233333434353536363737383839393A3A3B3B3C3C3D3D3E3E3F3F"> : tensor<256xi8>, onnx_name = "sig"} : !x -> !y
  %d = quant.dequantize %y : !y -> tensor<1x70x4x4xf32>
  func.return %d : tensor<1x70x4x4xf32>
}
