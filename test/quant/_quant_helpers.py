"""Shared helpers of the quant-level tests: parsing, quantizing, SQNR, small ONNX models."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from axc.dialects import ALL_DIALECTS
from axc.lowering.convert_onnx_to_quant import ConvertOnnxToQuantPass


def context() -> Context:
    ctx = Context()
    ctx.load_dialect(builtin.Builtin)
    ctx.load_dialect(func.Func)
    for name in ("onnx", "quant"):
        ctx.load_dialect(ALL_DIALECTS[name]())
    return ctx


def parse(text: str) -> ModuleOp:
    return Parser(context(), text).parse_module()


def convert(module: ModuleOp) -> ModuleOp:
    """A converted copy of ``module`` (verified)."""
    q = module.clone()
    ConvertOnnxToQuantPass().apply(context(), q)
    q.verify()
    return q


def sqnr_db(ref: np.ndarray, test: np.ndarray) -> float:
    """Signal to quantization-noise ratio of ``test`` against ``ref`` in dB."""
    ref = np.asarray(ref, np.float64)
    noise = np.sum((ref - np.asarray(test, np.float64)) ** 2)
    signal = np.sum(ref**2)
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise))


# -- small ONNX models built with onnx.helper -----------------------------------------------------


class GraphBuilder:
    """A tiny builder of single-input ONNX graphs with random weights."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def _name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def init(self, arr: np.ndarray, kind: str = "w") -> str:
        name = self._name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out + "_node", **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int = 3, group: int = 1, bias: bool = True, **attrs) -> str:
        fan_in = cin // group * k * k
        w = (self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        ins = [x, self.init(w)]
        if bias:
            ins.append(self.init((self.rng.standard_normal(cout) * 0.1).astype(np.float32), "b"))
        return self.node("Conv", ins, kernel_shape=[k, k], group=group, **attrs)

    def gemm(self, x: str, cin: int, cout: int) -> str:
        w = (self.rng.standard_normal((cout, cin)) * np.sqrt(2.0 / cin)).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.1).astype(np.float32)
        return self.node("Gemm", [x, self.init(w), self.init(b, "b")], transB=1)

    def model(self, x_shape: list[int], outputs: list[str], opset: int = 13) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
            self.inits,
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return onnx.shape_inference.infer_shapes(m)


# -- the compile flow up to the quant level ---------------------------------------------------------

GRAPH_PASSES = (
    "onnx-fold-constants",
    "onnx-remove-identity",
    "onnx-sum-to-add",
    "onnx-fold-batchnorm",
    "onnx-fold-channel-affine",
    "onnx-rewrite-dense-to-conv2d",
    "onnx-fold-constants",
)


def to_quant(model, calibration_data: str | None = None, frames: int = 16,
             scheme: str = "per_tensor_min_max") -> tuple[ModuleOp, ModuleOp]:
    """(float module after the graph passes and calibration, its quant-level conversion)."""
    from axc.lowering.onnx_importer import import_onnx
    from axc.passes import ALL_PASSES

    ctx = context()
    module = import_onnx(model)
    for name in GRAPH_PASSES:
        ALL_PASSES[name]()().apply(ctx, module)
    ALL_PASSES["onnx-calibrate"]()(calibration_data=calibration_data, frames=frames, scheme=scheme).apply(ctx, module)
    return module, convert(module)
