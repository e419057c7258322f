"""``onnx-place``: decide, per onnx op, whether it runs on the AIPU or on the host.

The decision is :func:`axc.lowering.aipu_placement.runs_on_aipu` (each op's documented AIPU
constraints), overridden to the host for the op types in ``cpu-fallback-ops`` (PyBuda's
``cpu_fallback_ops``). Every non-constant onnx op gets ``axc.placement = "aipu" | "host"``;
``convert-onnx-to-quant`` lowers exactly the ``"aipu"`` ops and leaves the ``"host"`` ones as host
ops, which become host segments (at the start, the end or the middle of the graph).

The module gets ``axc.placement_summary`` (see :func:`placement_summary`): op counts per side,
MACs per side and the host op types, which ``ax-compile`` prints and the package manifest records.
Ops inside subgraph attributes (If / Loop / Scan bodies) run with their op on the host and are
counted there.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx as onnx_proto
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, StringAttr, TensorType, i64
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx

__all__ = ["OnnxPlacePass", "PLACEMENT_ATTR", "SUMMARY_ATTR", "op_macs", "placement_summary", "summary_text"]

PLACEMENT_ATTR = "axc.placement"
SUMMARY_ATTR = "axc.placement_summary"


def _shape(v: Any) -> tuple[int, ...]:
    t = v.type
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


def op_macs(op: Operation) -> int:
    """Multiply-accumulates of one frame of ``op``: Conv (N*OC*OH*OW*C/g*KH*KW), ConvTranspose
    (N*C*H*W*OC/g*KH*KW), Gemm (M*N*K), MatMul (batch*M*N*K); 0 for every other op."""
    name = op.name.removeprefix("onnx.")
    if name == "Conv" and len(op.operands) >= 2:
        w = _shape(op.operands[1])
        return int(np.prod(_shape(op.results[0]), dtype=np.int64) * np.prod(w[1:], dtype=np.int64))
    if name == "ConvTranspose" and len(op.operands) >= 2:
        w = _shape(op.operands[1])  # (C, OC/g, KH, KW)
        return int(np.prod(_shape(op.operands[0]), dtype=np.int64) * np.prod(w[1:], dtype=np.int64))
    if name == "Gemm":
        y = _shape(op.results[0])
        a = _shape(op.operands[0])
        trans_a = isinstance(op, onnx.OnnxOp) and op.int_attr("transA", 0)
        k = a[0] if trans_a else a[-1]
        return int(np.prod(y, dtype=np.int64) * k)
    if name == "MatMul":
        a = _shape(op.operands[0])
        k = a[-1] if a else 1
        return int(np.prod(_shape(op.results[0]), dtype=np.int64) * k)
    return 0


def _subgraph_node_types(op: Operation) -> Counter[str]:
    """Op types of the nodes inside the subgraph attributes of a generic op (recursively)."""
    found: Counter[str] = Counter()
    graphs = op.attributes.get("onnx_graphs")
    if not isinstance(graphs, DictionaryAttr):
        return found

    def walk(g: onnx_proto.GraphProto) -> None:
        for n in g.node:
            found[n.op_type] += 1
            for a in n.attribute:
                if a.type == onnx_proto.AttributeProto.GRAPH:
                    walk(a.g)

    for v in graphs.data.values():
        g = onnx_proto.GraphProto()
        g.ParseFromString(base64.b64decode(v.data))  # type: ignore[attr-defined]
        walk(g)
    return found


def placement_summary(module: builtin.ModuleOp) -> dict[str, Any]:
    """Where the placed onnx ops run: ``{"aipu_ops", "host_ops", "aipu_macs", "host_macs",
    "aipu_mac_share" (0..1; 1.0 when the model has no MACs), "host_op_types": {type: count},
    "subgraph_ops"}`` (MACs of one frame; subgraph bodies count as host ops, their MACs as 0)."""
    counts = {"aipu": 0, "host": 0}
    macs = {"aipu": 0, "host": 0}
    host_types: Counter[str] = Counter()
    sub = 0
    for op in module.walk():
        if not isinstance(op, onnx.OnnxOp) or isinstance(op, onnx.ConstantOp):
            continue
        a = op.attributes.get(PLACEMENT_ATTR)
        if not isinstance(a, StringAttr):
            continue
        side = a.data
        counts[side] += 1
        macs[side] += op_macs(op)
        if side == "host":
            host_types[op.onnx_op_type()] += 1
        inner = _subgraph_node_types(op)
        sub += sum(inner.values())
        host_types.update(inner)
    total = macs["aipu"] + macs["host"]
    return {
        "aipu_ops": counts["aipu"],
        "host_ops": counts["host"],
        "subgraph_ops": sub,
        "aipu_macs": macs["aipu"],
        "host_macs": macs["host"],
        "aipu_mac_share": macs["aipu"] / total if total else 1.0,
        "host_op_types": dict(sorted(host_types.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def summary_text(s: dict[str, Any]) -> str:
    """One line: ``placement: AIPU 52 ops (99.1% of 1.32 GMAC), host 3 ops (Sigmoid x2, Resize)``."""
    types = ", ".join(f"{t} x{c}" if c > 1 else t for t, c in s["host_op_types"].items())
    gmac = (s["aipu_macs"] + s["host_macs"]) / 1e9
    host = f"host {s['host_ops']} ops" + (f" ({types})" if types else "")
    return f"placement: AIPU {s['aipu_ops']} ops ({100 * s['aipu_mac_share']:.1f}% of {gmac:.3g} GMAC), {host}"


def _summary_attr(s: dict[str, Any]) -> DictionaryAttr:
    return DictionaryAttr({
        "aipu_ops": IntegerAttr(s["aipu_ops"], i64),
        "host_ops": IntegerAttr(s["host_ops"], i64),
        "subgraph_ops": IntegerAttr(s["subgraph_ops"], i64),
        "aipu_macs": IntegerAttr(s["aipu_macs"], i64),
        "host_macs": IntegerAttr(s["host_macs"], i64),
        "host_op_types": DictionaryAttr({t: IntegerAttr(c, i64) for t, c in s["host_op_types"].items()}),
    })


def read_summary(module: builtin.ModuleOp) -> dict[str, Any] | None:
    """The ``axc.placement_summary`` of ``module`` as a dict (None if it was never placed)."""
    a = module.attributes.get(SUMMARY_ATTR)
    if not isinstance(a, DictionaryAttr):
        return None
    d = a.data
    out: dict[str, Any] = {k: d[k].value.data for k in ("aipu_ops", "host_ops", "subgraph_ops", "aipu_macs", "host_macs")}  # type: ignore[attr-defined]
    total = out["aipu_macs"] + out["host_macs"]
    out["aipu_mac_share"] = out["aipu_macs"] / total if total else 1.0
    out["host_op_types"] = {k: v.value.data for k, v in d["host_op_types"].data.items()}  # type: ignore[attr-defined]
    return out


@dataclass(frozen=True)
class OnnxPlacePass(ModulePass):
    """Annotate every non-constant onnx op with ``axc.placement`` and the module with
    ``axc.placement_summary``.

    ``cpu-fallback-ops``: comma-separated ONNX op types forced to the host (e.g. ``"Softmax,Add"``);
    an op type that is not an ONNX op fails the pass (a typo must not be ignored).

    Guarantees: an op is ``"aipu"`` exactly when :func:`runs_on_aipu` holds for it and its type is
    not forced to the host; the placement of an op already annotated is recomputed (the pass is
    idempotent).
    """

    name = "onnx-place"
    cpu_fallback_ops: str = ""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        from axc.lowering.aipu_placement import runs_on_aipu

        forced = {t.strip() for t in self.cpu_fallback_ops.split(",") if t.strip()}
        unknown = sorted(t for t in forced if t not in onnx.OP_BY_ONNX_TYPE)
        if unknown:
            raise PassFailedException(f"onnx-place: cpu-fallback-ops names unknown ONNX op type(s) {', '.join(unknown)}")
        ops = [o for o in op.walk() if isinstance(o, onnx.OnnxOp) and not isinstance(o, onnx.ConstantOp)]
        for o in ops:  # decide on the unannotated graph, so the order of ops does not matter
            o.attributes.pop(PLACEMENT_ATTR, None)
        places = {o: "host" if o.onnx_op_type() in forced or not runs_on_aipu(o) else "aipu" for o in ops}
        for o, side in places.items():
            o.attributes[PLACEMENT_ATTR] = StringAttr(side)
        op.attributes[SUMMARY_ATTR] = _summary_attr(placement_summary(op))
