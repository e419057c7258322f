"""Multiply-accumulate counts of an ONNX model, and the share of them the AIPU runs.

``model_macs(model, feeds)`` counts the MACs of every Conv, ConvTranspose, Gemm and MatMul node at
the shapes of one inference: the shapes come from onnxruntime itself (the operands and results of
those nodes are added as graph outputs and the model is run on ``feeds``), so models whose shapes
only resolve at run time (Shape -> Gather -> Reshape chains) are counted too.

Formulas (one MAC = one multiply-add of the float model; bias adds not counted):
  Conv           prod(Y.shape) * prod(W.shape[1:])          W: (M, C / group, k...)
  ConvTranspose  prod(X.shape) * prod(W.shape[1:])          W: (C, M / group, k...)
  Gemm           prod(Y.shape) * K, K = A.shape[0] if transA else A.shape[1]
  MatMul         prod(Y.shape) * A.shape[-1]

``aipu_macs(package)`` is what the compiled package runs on the AIPU: the useful MACs of the
cycle model's ``mvm`` instructions (:attr:`axc.runtime.cycle_model.CycleReport.macs`, real
channels only, per frame). ``aipu_mac_share`` divides the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod

import numpy as np
import onnx
from onnx import helper

__all__ = ["NodeMacs", "MAC_OPS", "node_macs", "model_macs", "aipu_macs", "aipu_mac_share"]

#: the op types counted
MAC_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


@dataclass(frozen=True)
class NodeMacs:
    """MACs of one node: its name (or ``<op_type>_<index>`` when unnamed), op type and count."""

    name: str
    op_type: str
    macs: int


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(helper.get_attribute_value(a))
    return default


def _shapes(model: onnx.ModelProto, names: set[str], feeds: Mapping[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """Shapes of the tensors ``names`` at one onnxruntime inference on ``feeds``."""
    import onnxruntime as ort

    shapes = {t.name: tuple(int(d) for d in t.dims) for t in model.graph.initializer if t.name in names}
    shapes.update({k: tuple(np.shape(v)) for k, v in feeds.items() if k in names})
    wanted = sorted(names - set(shapes))
    if wanted:
        m = onnx.ModelProto()
        m.CopyFrom(model)
        have = {o.name for o in m.graph.output}
        m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in wanted if n not in have)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 3
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        outs = sess.run(wanted, dict(feeds))
        shapes.update({n: tuple(np.shape(v)) for n, v in zip(wanted, outs, strict=True)})
    return shapes


def node_macs(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> list[NodeMacs]:
    """MACs of every Conv / ConvTranspose / Gemm / MatMul node of the main graph, in graph order,
    at the shapes of one inference on ``feeds`` (float32 arrays keyed by input name). Nodes inside
    subgraphs (If / Loop bodies) are not counted. Raises onnxruntime's error if the model does not
    run on ``feeds``."""
    nodes = [(i, n) for i, n in enumerate(model.graph.node) if n.op_type in MAC_OPS and n.domain in ("", "ai.onnx")]
    names: set[str] = set()
    for _, n in nodes:
        names.update([n.input[0], n.input[1], n.output[0]])
    shapes = _shapes(model, names, feeds)
    out: list[NodeMacs] = []
    for i, n in nodes:
        x, w, y = (shapes[n.input[0]], shapes[n.input[1]], shapes[n.output[0]])
        if n.op_type == "Conv":
            macs = prod(y) * prod(w[1:])
        elif n.op_type == "ConvTranspose":
            macs = prod(x) * prod(w[1:])
        elif n.op_type == "Gemm":
            macs = prod(y) * (x[0] if _attr(n, "transA", 0) else x[1])
        else:  # MatMul
            macs = prod(y) * x[-1]
        out.append(NodeMacs(n.name or f"{n.op_type}_{i}", n.op_type, int(macs)))
    return out


def model_macs(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> int:
    """Total MACs of :func:`node_macs`."""
    return sum(m.macs for m in node_macs(model, feeds))


def aipu_macs(package) -> int:
    """MACs per frame that a compiled package (:class:`axc.runtime.package.Package`) runs on the AIPU.

    TODO(placement): the lead is adding the compiler's own placement record (which ONNX node runs
    where, with its MACs). When it lands, read the AIPU MACs from that record here instead of the
    cycle model's count of ``mvm`` MACs; the harness and the bench call only this function.
    """
    return int(package.cycle_report().macs)


def aipu_mac_share(package, total_macs: int) -> float | None:
    """``aipu_macs(package) / total_macs`` (None when the model has no MACs)."""
    return aipu_macs(package) / total_macs if total_macs else None
