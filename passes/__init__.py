"""axc passes: the lazy registry of every pass and conversion.

``ALL_PASSES`` maps a pass name to a factory that imports the pass class on demand, as xDSL's own
``xdsl/transforms/__init__.py`` does. The registry is exposed to ``xdsl-opt`` through the
``xdsl.universe`` entry point (``axc.tools.universe``) and used by ``ax-opt``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

#: pass name -> (module, class name). Passes live in passes/ (inside a level) and lowering/
#: (level-to-level conversions).
_PASSES: dict[str, tuple[str, str]] = {
    "onnx-fold-constants": ("axc.passes.onnx_fold_constants", "OnnxFoldConstantsPass"),
    "onnx-remove-identity": ("axc.passes.onnx_remove_identity", "OnnxRemoveIdentityPass"),
    "onnx-sum-to-add": ("axc.passes.onnx_sum_to_add", "OnnxSumToAddPass"),
    "onnx-fold-batchnorm": ("axc.passes.onnx_fold_batchnorm", "OnnxFoldBatchnormPass"),
    "onnx-fold-channel-affine": ("axc.passes.onnx_fold_channel_affine", "OnnxFoldChannelAffinePass"),
    "onnx-rewrite-dense-to-conv2d": (
        "axc.passes.onnx_rewrite_dense_to_conv2d",
        "OnnxRewriteDenseToConv2dPass",
    ),
    "onnx-rewrite-conv-transpose": ("axc.passes.onnx_rewrite_conv_transpose", "OnnxRewriteConvTransposePass"),
    "onnx-calibrate": ("axc.passes.onnx_calibrate", "OnnxCalibratePass"),
    "onnx-place": ("axc.lowering.onnx_place", "OnnxPlacePass"),
    "convert-onnx-to-quant": ("axc.lowering.convert_onnx_to_quant", "ConvertOnnxToQuantPass"),
    "convert-quant-to-tile": ("axc.lowering.convert_quant_to_tile", "ConvertQuantToTilePass"),
    "tile-plan-memory": ("axc.passes.tile_plan_memory", "TilePlanMemoryPass"),
    "convert-tile-to-aipu": ("axc.lowering.convert_tile_to_aipu", "ConvertTileToAipuPass"),
}


def _factory(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        return getattr(importlib.import_module(module), cls)

    return load


ALL_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    name: _factory(mod, cls) for name, (mod, cls) in _PASSES.items()
}
