"""Named pass pipelines of axc (xdsl-opt ``-p`` syntax) and a helper to run them."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline

#: The onnx-level graph passes, in the order the compile driver runs them. Constants are folded
#: first (light-zoo weights are ConstantOfShape, DenseNet's scales are Unsqueeze'd initializers),
#: BatchNormalization is folded before the per-channel Mul / Add that follow it, and the last
#: fold cleans up after the dense rewrite (the reshape shapes it creates).
ONNX_GRAPH_PASSES = (
    "onnx-fold-constants,"
    "onnx-remove-identity,"
    "onnx-sum-to-add,"
    "onnx-fold-batchnorm,"
    "onnx-fold-channel-affine,"
    "onnx-rewrite-dense-to-conv2d,"
    "onnx-rewrite-conv-transpose,"
    "onnx-fold-constants"
)


def onnx_context() -> Context:
    """A context with the dialects the onnx level uses (builtin, func, onnx)."""
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func

    from axc.dialects.onnx import ONNX

    ctx = Context()
    for d in (Builtin, Func, ONNX):
        ctx.load_dialect(d)
    return ctx


def run_pipeline(module: ModuleOp, spec: str, ctx: Context | None = None) -> ModuleOp:
    """Apply a ``-p``-style pipeline (``a,b{x=1}``) of axc passes to ``module`` in place."""
    from axc.passes import ALL_PASSES

    PassPipeline.parse_spec(ALL_PASSES, spec).apply(ctx or onnx_context(), module)
    return module
