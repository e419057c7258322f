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


_MAC_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})
CONDITIONS = ("maximum_weight_tensor_size", "maximum_weight_tensor_first_dimension_size")
CLEANER_NODES = ("MatMul", "Gemm", "Clip")


def pre_post_processing(ops: list[onnx.OnnxOp]) -> set[onnx.OnnxOp]:
    """The preamble and postamble of a graph (``ops`` in program order): the non-MAC ops with no
    MAC op (Conv, ConvTranspose, Gemm, MatMul) among their producers (pre-processing such as input
    normalization) or none among their users (post-processing such as box decoding, NMS, a final
    Softmax), transitively."""
    mac_before: dict[Operation, bool] = {}
    for o in ops:
        mac_before[o] = any(
            isinstance(v.owner, Operation) and v.owner in mac_before
            and (v.owner.name.removeprefix("onnx.") in _MAC_OPS or mac_before[v.owner])
            for v in o.operands)
    mac_after: dict[Operation, bool] = {}
    for o in reversed(ops):
        mac_after[o] = any(
            u.operation in mac_after and (u.operation.name.removeprefix("onnx.") in _MAC_OPS or mac_after[u.operation])
            for r in o.results for u in r.uses)
    return {o for o in ops if o.onnx_op_type() not in _MAC_OPS and (not mac_before[o] or not mac_after[o])}


def _weight_size(op: onnx.OnnxOp, condition: str) -> int | None:
    """Size of the largest constant operand of ``op`` (elements, or its first dimension), or None."""
    sizes = []
    for v in op.operands:
        if isinstance(v.owner, onnx.ConstantOp):
            shape = _shape(v)
            sizes.append(int(np.prod(shape, dtype=np.int64)) if condition == CONDITIONS[0] else (shape[0] if shape else 1))
    return max(sizes) if sizes else None


def export_core(module: builtin.ModuleOp, path: str) -> None:
    """Write the AIPU-placed ops of ``module`` as an ONNX model (graph cleaner's core dump): values
    entering the core are graph inputs, values leaving it graph outputs; constants are initializers.
    Raises :class:`PassFailedException` if the file cannot be written."""
    from onnx import helper, numpy_helper

    from axc.lowering.onnx_export import node_proto
    from axc.lowering.onnx_importer import numpy_from_dense, numpy_dtype

    core = [o for o in module.walk() if isinstance(o, onnx.OnnxOp)
            and o.attributes.get(PLACEMENT_ATTR) == StringAttr("aipu")]
    members = set(core)
    names: dict[Any, str] = {}

    def name(v: Any) -> str:
        if v not in names:
            names[v] = f"v{len(names)}"
        return names[v]

    nodes, inits, inputs, outputs, seen_in = [], [], [], [], set()
    for o in core:
        for v in o.operands:
            p = v.owner
            if isinstance(p, onnx.ConstantOp) and v not in names:
                inits.append(numpy_helper.from_array(np.asarray(numpy_from_dense(p.value), order="C"), name(v)))
            elif p not in members and v not in seen_in and not isinstance(p, onnx.ConstantOp):
                seen_in.add(v)
                inputs.append(helper.make_tensor_value_info(name(v), helper.np_dtype_to_tensor_dtype(
                    numpy_dtype(v.type.get_element_type())), list(_shape(v))))
        nodes.append(node_proto(o, [name(v) for v in o.operands], [name(r) for r in o.results]))
        for r in o.results:
            if any(u.operation not in members for u in r.uses):
                outputs.append(helper.make_tensor_value_info(name(r), helper.np_dtype_to_tensor_dtype(
                    numpy_dtype(r.type.get_element_type())), list(_shape(r))))
    opset = op_opset(module)
    model = helper.make_model(helper.make_graph(nodes, "axc_core", inputs, outputs, initializer=inits),
                              opset_imports=[helper.make_opsetid("", opset)], producer_name="axc")
    try:
        onnx_proto.save(model, path)
    except OSError as e:
        raise PassFailedException(f"onnx-place: cannot write dump-core-onnx {path!r}: {e.strerror}") from None


def op_opset(module: builtin.ModuleOp) -> int:
    """The default-domain opset the importer recorded (13 if none)."""
    a = module.attributes.get("axc.onnx_opset")
    return a.value.data if isinstance(a, IntegerAttr) else 13


@dataclass(frozen=True)
class OnnxPlacePass(ModulePass):
    """Annotate every non-constant onnx op with ``axc.placement`` and the module with
    ``axc.placement_summary``.

    Options (the graph cleaner of the configuration reference, and PyBuda's CPU fallback):

    * ``cpu-fallback-ops``: comma-separated ONNX op types forced to the host (``"Softmax,Add"``);
    * ``split-pre-post`` (``graph_cleaner_split_pre_post_processing``): the preamble and postamble
      (:func:`pre_post_processing`) run on the host;
    * ``cleaner-node`` / ``cleaner-condition`` / ``cleaner-threshold`` (``graph_cleaner_node`` /
      ``_condition`` / ``_threshold``): ops of that type whose largest constant operand exceeds the
      threshold (elements for ``maximum_weight_tensor_size``, first dimension for
      ``maximum_weight_tensor_first_dimension_size``) run on the host;
    * ``dump-core-onnx`` (``graph_cleaner_dump_core_onnx``): write the AIPU-placed ops as an ONNX
      model to that file;
    * ``forced-only``: annotate only the ops the options above send to the host (the run before the
      graph passes, so that ``onnx-rewrite-dense-to-conv2d`` keeps them Gemm / MatMul); no summary.

    A typo (an unknown op type, condition or node) fails the pass; so does a condition without a
    node or a node without a condition. Guarantees: an op is ``"aipu"`` exactly when
    :func:`runs_on_aipu` holds for it and no option sends it to the host; the placement of an op
    already annotated is recomputed (the pass is idempotent).
    """

    name = "onnx-place"
    cpu_fallback_ops: str = ""
    split_pre_post: bool = False
    cleaner_node: str = ""
    cleaner_condition: str = ""
    cleaner_threshold: int = 0
    dump_core_onnx: str = ""
    forced_only: bool = False

    def _check(self) -> set[str]:
        forced = {t.strip() for t in self.cpu_fallback_ops.split(",") if t.strip()}
        unknown = sorted(t for t in forced if t not in onnx.OP_BY_ONNX_TYPE)
        if unknown:
            raise PassFailedException(f"onnx-place: cpu-fallback-ops names unknown ONNX op type(s) {', '.join(unknown)}")
        if bool(self.cleaner_node) != bool(self.cleaner_condition):
            raise PassFailedException("onnx-place: cleaner-node and cleaner-condition go together "
                                      f"(got node {self.cleaner_node!r}, condition {self.cleaner_condition!r})")
        if self.cleaner_node and self.cleaner_node not in CLEANER_NODES:
            raise PassFailedException(f"onnx-place: cleaner-node must be one of {', '.join(CLEANER_NODES)}, got {self.cleaner_node!r}")
        if self.cleaner_condition and self.cleaner_condition not in CONDITIONS:
            raise PassFailedException(f"onnx-place: cleaner-condition must be one of {', '.join(CONDITIONS)}, "
                                      f"got {self.cleaner_condition!r}")
        return forced

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        from axc.lowering.aipu_placement import runs_on_aipu

        forced = self._check()
        ops = [o for o in op.walk() if isinstance(o, onnx.OnnxOp) and not isinstance(o, onnx.ConstantOp)]
        for o in ops:  # decide on the unannotated graph, so the order of ops does not matter
            o.attributes.pop(PLACEMENT_ATTR, None)
        host = {o for o in ops if o.onnx_op_type() in forced}
        if not self.forced_only:
            host |= {o for o in ops if not runs_on_aipu(o)}
        if self.split_pre_post:
            host |= pre_post_processing(ops)
        if self.cleaner_node:
            for o in ops:
                size = _weight_size(o, self.cleaner_condition) if o.onnx_op_type() == self.cleaner_node else None
                if size is not None and size > self.cleaner_threshold:
                    host.add(o)
        if self.forced_only:
            for o in host:
                o.attributes[PLACEMENT_ATTR] = StringAttr("host")
            return
        for o in ops:
            o.attributes[PLACEMENT_ATTR] = StringAttr("host" if o in host else "aipu")
        op.attributes[SUMMARY_ATTR] = _summary_attr(placement_summary(op))
        if self.dump_core_onnx:
            export_core(op, self.dump_core_onnx)
