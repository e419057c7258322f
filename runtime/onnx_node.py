"""One ONNX node evaluated by onnxruntime: the semantics of every op without a kernel of our own.

The float interpreter (onnx level), the host ops of the quant and tile interpreters, constant folding
and the deployed runtime's host segments all evaluate such a node through :class:`NodeRunner`, so
every level computes bit-identical values for it (one implementation, one rounding).

A runner wraps the node in a one-node ONNX model (its non-empty inputs as graph inputs, its
non-empty outputs as untyped graph outputs, the model's opset) and opens an onnxruntime CPU session
with one thread and graph optimizations off (no fusion, so the node runs as itself). Ops that
onnxruntime does not implement fall back to ``onnx.reference.ReferenceEvaluator`` (numpy).

Needs numpy, onnx and onnxruntime; no xdsl.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["NodeRunner", "RANDOM_OPS"]

#: op types whose result is random: never folded, evaluated afresh each time
RANDOM_OPS = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                        "Bernoulli", "Multinomial"})


def _tensor_elem_type(dtype: np.dtype) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class NodeRunner:
    """Evaluate one ONNX node (a ``NodeProto``) on numpy arrays.

    ``node``: the node (inputs named as in its graph; ``""`` marks an omitted optional input or
    output). ``opset``: the default-domain opset version of its model. ``input_types``: for each
    non-empty input, ``(numpy dtype, shape)``. ``outer``: extra graph inputs (name -> (dtype, shape))
    that subgraph attributes of the node (If / Loop / Scan bodies) read from the enclosing scope;
    their values follow the node's own inputs in :meth:`run`.

    Raises ``ValueError`` naming the node when neither onnxruntime nor the ONNX reference
    evaluator accepts it.
    """

    def __init__(self, node: Any, opset: int, input_types: Sequence[tuple[np.dtype, Sequence[int]]],
                 outer: dict[str, tuple[np.dtype, Sequence[int]]] | None = None):
        import onnx
        from onnx import helper

        self.op_type = node.op_type
        self.label = f'node "{node.name}" ({node.op_type})' if node.name else f"{node.op_type} node"
        self.input_names = [x for x in node.input if x] + list(outer or {})
        types = list(input_types) + list((outer or {}).values())
        if len(types) != len(self.input_names):
            raise ValueError(f"{self.label}: {len(self.input_names)} inputs but {len(types)} input types")
        self.output_names = [o for o in node.output if o]
        g_in = [helper.make_tensor_value_info(n, _tensor_elem_type(dt), list(shape))
                for n, (dt, shape) in zip(self.input_names, types)]
        g_out = [helper.make_value_info(o, onnx.TypeProto()) for o in self.output_names]
        graph = helper.make_graph([node], f"axc_{node.op_type}", g_in, g_out)
        self.model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                       producer_name="axc")
        self.model.ir_version = 8
        self._session: Any = None
        self._reference: Any = None
        self._open()

    def _open(self) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(self.model.SerializeToString(), so,
                                                 providers=["CPUExecutionProvider"])
            return
        except Exception as e:  # onnxruntime raises its own exception types
            ort_error = " ".join(str(e).split())
        try:
            from onnx.reference import ReferenceEvaluator

            self._reference = ReferenceEvaluator(self.model)
        except Exception as e:
            raise ValueError(f"{self.label}: neither onnxruntime ({ort_error[:200]}) nor the ONNX "
                             f"reference evaluator ({' '.join(str(e).split())[:200]}) can run it") from None

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The node's non-empty outputs, in order, for its non-empty inputs (then outer values)."""
        if len(inputs) != len(self.input_names):
            raise ValueError(f"{self.label}: expected {len(self.input_names)} inputs, got {len(inputs)}")
        feed = {n: np.asarray(x) for n, x in zip(self.input_names, inputs)}
        try:
            if self._session is not None:
                outs = self._session.run(self.output_names, feed)
            else:
                outs = self._reference.run(self.output_names, feed)
        except Exception as e:
            raise ValueError(f"{self.label}: {' '.join(str(e).split())[:300]}") from None
        return [np.asarray(o) for o in outs]
