"""Shape arithmetic folded at import: the ONNX graph with every computable-at-compile-time node folded.

Exported models compute shapes at run time (``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``,
``ConstantOfShape``, ``Range``, ``Expand``, ``Where`` over ``Equal`` of shapes, ``Cast`` ...). Once
the graph inputs have static shapes (``--input-shape``), all of it is constant. :func:`fold_graph`
repeats, until nothing changes:

1. ONNX shape inference (``onnx.shape_inference.infer_shapes``, data propagation on) over the graph
   with the input shapes fixed;
2. in graph order, every node whose inputs are all constant, and every ``Shape`` / ``Size`` of a
   tensor whose shape is now static, is evaluated and becomes an initializer. Evaluation is
   :class:`axc.runtime.onnx_node.NodeRunner` (onnxruntime), the same implementation the
   interpreters use for these ops, so folding never changes a value. ``Shape`` and ``Size`` are read
   off the inferred type (``start`` / ``end`` of opset 15 included).

Random ops (:data:`~axc.runtime.onnx_node.RANDOM_OPS`) and nodes with subgraph attributes are never
folded; nodes whose outputs would exceed :data:`MAX_FOLDED_ELEMENTS` elements stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import AttributeProto, helper, numpy_helper

from axc.runtime.errors import ModelError
from axc.runtime.onnx_node import RANDOM_OPS, NodeRunner

__all__ = ["FoldReport", "fold_graph", "MAX_FOLDED_ELEMENTS"]

#: largest folded result (elements); bigger constant subgraphs stay in the graph
MAX_FOLDED_ELEMENTS = 1 << 24
#: initializers up to this size take part in shape inference with their values (data propagation)
_SMALL = 4096
_MAX_ROUNDS = 16


@dataclass
class FoldReport:
    """What :func:`fold_graph` did: folded node count per op type."""

    folded: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.folded.values())


def _static_shape(vi: onnx.ValueInfoProto | None) -> list[int] | None:
    if vi is None or not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(int(d.dim_value))
    return dims


def _infer(opset_import, ir_version: int, inputs: Sequence[onnx.ValueInfoProto], consts: Mapping[str, np.ndarray],
           nodes: Sequence[onnx.NodeProto], outputs: Sequence[str]) -> dict[str, onnx.ValueInfoProto]:
    g = onnx.GraphProto(name="fold")
    g.node.extend(nodes)
    g.input.extend(inputs)
    for name, arr in consts.items():
        if arr.size <= _SMALL:
            g.initializer.append(numpy_helper.from_array(arr, name))
        else:
            g.input.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype),
                                                         list(arr.shape)))
    for o in outputs:
        g.output.append(helper.make_value_info(o, onnx.TypeProto()))
    m = onnx.ModelProto(ir_version=max(ir_version, 4), graph=g)
    m.opset_import.extend(opset_import)
    try:
        inferred = onnx.shape_inference.infer_shapes(m, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # a later, strict inference reports the problem with the node named
        return {}
    return {vi.name: vi for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output)}


def _shape_value(node: onnx.NodeProto, shape: list[int]) -> np.ndarray:
    if node.op_type == "Size":
        return np.array(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    rank = len(shape)
    start, end = 0, rank
    for a in node.attribute:
        if a.name == "start":
            start = a.i
        elif a.name == "end":
            end = a.i
    start = min(max(start + rank if start < 0 else start, 0), rank)
    end = min(max(end + rank if end < 0 else end, 0), rank)
    return np.array(shape[start:end], dtype=np.int64)


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for a in node.attribute)


def fold_graph(
    model: onnx.ModelProto,
    input_shapes: Mapping[str, Sequence[int]],
    opset: int,
) -> tuple[onnx.ModelProto, FoldReport]:
    """``model`` with its compile-time computable nodes folded into initializers.

    ``input_shapes``: static shape of every non-initializer graph input. ``opset``: the model's
    default-domain opset. Returns a new model (the argument is not modified) and a report. Raises
    :class:`ModelError` naming the node when evaluating a constant node fails (the model would fail
    at run time the same way).
    """
    graph = model.graph
    consts: dict[str, np.ndarray] = {}
    for t in graph.initializer:
        try:
            consts[t.name] = numpy_helper.to_array(t)
        except Exception as e:
            raise ModelError(f'initializer "{t.name}": cannot read the tensor data ({e})') from None
    inputs = [helper.make_tensor_value_info(vi.name, vi.type.tensor_type.elem_type, list(input_shapes[vi.name]))
              for vi in graph.input if vi.name not in consts and vi.name in input_shapes]
    nodes = list(graph.node)
    outputs = [o.name for o in graph.output]
    report = FoldReport()
    for _ in range(_MAX_ROUNDS):
        known = _infer(model.opset_import, model.ir_version, inputs, consts, nodes, outputs)
        kept: list[onnx.NodeProto] = []
        changed = False
        for n in nodes:
            value = _fold_node(n, consts, known, opset)
            if value is None:
                kept.append(n)
                continue
            for o, v in zip(n.output, value):
                if o:
                    consts[o] = v
            report.folded[n.op_type] = report.folded.get(n.op_type, 0) + 1
            changed = True
        nodes = kept
        if not changed:
            break
    # the folded graph: kept nodes, used constants as initializers
    used = {x for n in nodes for x in n.input} | set(outputs) | _subgraph_reads(nodes)
    new = onnx.ModelProto()
    new.CopyFrom(model)
    del new.graph.node[:]
    new.graph.node.extend(nodes)
    del new.graph.initializer[:]
    original = {t.name: t for t in graph.initializer}
    for name, arr in consts.items():
        if name not in used:
            continue
        new.graph.initializer.append(original[name] if name in original else numpy_helper.from_array(arr, name))
    kept_inputs = [vi for vi in graph.input if vi.name not in consts or vi.name in used]
    del new.graph.input[:]
    new.graph.input.extend(kept_inputs)
    return new, report


def _subgraph_reads(nodes: Sequence[onnx.NodeProto]) -> set[str]:
    names: set[str] = set()
    for n in nodes:
        for a in n.attribute:
            graphs = [a.g] if a.type == AttributeProto.GRAPH else list(a.graphs)
            for g in graphs:
                names |= {x for sn in g.node for x in sn.input} | _subgraph_reads(g.node)
    return names


def _fold_node(n: onnx.NodeProto, consts: Mapping[str, np.ndarray], known: Mapping[str, onnx.ValueInfoProto],
               opset: int) -> list[np.ndarray] | None:
    """The node's output values if it folds, else None."""
    if n.domain not in ("", "ai.onnx") or n.op_type in RANDOM_OPS or _has_subgraph(n) or not any(n.output):
        return None
    if n.op_type in ("Shape", "Size") and n.input and n.input[0] not in consts:
        shape = _static_shape(known.get(n.input[0]))
        return None if shape is None else [_shape_value(n, shape)]
    ins = [x for x in n.input if x]
    if not all(x in consts for x in ins):
        return None
    if n.op_type == "Dropout" and len(ins) >= 3 and bool(np.asarray(consts[ins[2]]).any()):
        return None  # training mode: random
    for o in n.output:
        shape = _static_shape(known.get(o)) if o else None
        if shape is not None and int(np.prod(shape, dtype=np.int64)) > MAX_FOLDED_ELEMENTS:
            return None
    args = [consts[x] for x in ins]
    try:
        runner = NodeRunner(n, opset, [(a.dtype, a.shape) for a in args])
        outs = runner.run(args)
    except ValueError as e:
        raise ModelError(f"constant folding: {e}") from None
    if any(o.size > MAX_FOLDED_ELEMENTS for o in outs):
        return None
    result: list[np.ndarray] = []
    it = iter(outs)
    for o in n.output:
        result.append(next(it) if o else np.zeros(0))
    if any(o.dtype == object for o in result):
        return None  # strings / sequences stay
    return result

