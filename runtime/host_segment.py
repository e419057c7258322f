"""Host segments: small ONNX models the runtime runs on the CPU.

A host segment (``host/segment_N.onnx`` in a package) holds the ``onnx.*`` ops of one ``tile.host``
region: its graph inputs are the dequantized int8 buffers, its graph outputs are quantized back.
Each node runs exactly as the onnx / quant / tile interpreters run it, so results are bit-identical:
op types with a float kernel of our own (:data:`SUPPORTED_OPS`) run with
:mod:`axc.runtime.float_kernels` (the node's attributes as keyword arguments); every other op runs
with :class:`axc.runtime.onnx_node.NodeRunner`, one onnxruntime session per node, built at load
from the types the segment model declares (``value_info``, written by the compiler).

Needs numpy, the ``onnx`` package (protobuf reading) and onnxruntime; no xdsl.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import float_kernels as fk
from .onnx_node import NodeRunner, node_outer_reads

__all__ = ["HostSegment", "SUPPORTED_OPS", "DATA_MOVEMENT_OPS"]


def _unsqueeze(args: list[np.ndarray], attrs: dict[str, Any], opset: int) -> np.ndarray:
    axes = args[1] if len(args) > 1 else attrs.get("axes")
    return fk.unsqueeze(args[0], axes)


def _constant(args: list[np.ndarray], attrs: dict[str, Any], opset: int) -> np.ndarray:
    if "value" not in attrs:
        raise ValueError("Constant: only the 'value' attribute is supported")
    return np.asarray(attrs["value"])


def _kernel(fn: Callable[..., np.ndarray]) -> Callable[[list[np.ndarray], dict[str, Any], int], np.ndarray]:
    return lambda args, attrs, opset: fn(*args, **attrs)


_OPS: dict[str, Callable[[list[np.ndarray], dict[str, Any], int], np.ndarray]] = {
    "Constant": _constant,
    "ConstantOfShape": _kernel(fk.constant_of_shape),
    "Conv": _kernel(fk.conv),
    "Relu": _kernel(fk.relu),
    "MaxPool": _kernel(fk.max_pool),
    "AveragePool": _kernel(fk.average_pool),
    "GlobalAveragePool": _kernel(fk.global_average_pool),
    "BatchNormalization": _kernel(fk.batch_normalization),
    "Gemm": _kernel(fk.gemm),
    "MatMul": _kernel(fk.matmul),
    "Add": _kernel(fk.add),
    "Mul": _kernel(fk.mul),
    "Sum": _kernel(fk.sum),
    "Concat": _kernel(fk.concat),
    "Reshape": _kernel(fk.reshape),
    "Flatten": _kernel(fk.flatten),
    "Transpose": _kernel(fk.transpose),
    "Softmax": lambda args, attrs, opset: fk.softmax(*args, opset=opset, **attrs),
    "LRN": _kernel(fk.lrn),
    "Dropout": _kernel(fk.dropout),
    "Unsqueeze": _unsqueeze,
    "Identity": lambda args, attrs, opset: args[0],
}

SUPPORTED_OPS = frozenset(_OPS)

#: ops that only move or relabel elements (no arithmetic): a segment of these alone commutes with
#: quantization, so it can run on the int8 values themselves (see ``HostSegment.moves_data_only``)
DATA_MOVEMENT_OPS = frozenset({"Reshape", "Flatten", "Transpose", "Unsqueeze", "Identity", "Dropout"})


def _declared_types(graph: Any, initializers: dict[str, np.ndarray]) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """name -> (dtype, shape) of every graph input, value_info and initializer of a segment."""
    from onnx import helper

    types: dict[str, tuple[np.dtype, tuple[int, ...]]] = {}
    for vi in (*graph.input, *graph.value_info, *graph.output):
        tt = vi.type.tensor_type
        if vi.type.HasField("tensor_type") and tt.HasField("shape"):
            types[vi.name] = (helper.tensor_dtype_to_np_dtype(tt.elem_type),
                              tuple(int(d.dim_value) for d in tt.shape.dim))
    for k, v in initializers.items():
        types[k] = (v.dtype, tuple(v.shape))
    return types


class HostSegment:
    """An ONNX model prepared for evaluation with the float kernels.

    ``HostSegment.from_bytes(data)`` parses a serialized model; ``run(inputs)`` maps float32 arrays
    (in graph-input order) to the graph outputs. Raises ``ValueError`` for unsupported op types (at
    load) or a kernel failure (at run), naming the node.
    """

    def __init__(self, model: Any, name: str = "host segment"):
        from onnx import helper, numpy_helper

        self.name = name
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.inputs = [i.name for i in graph.input if i.name not in self.initializers]
        self.outputs = [o.name for o in graph.output]
        self.nodes: list[tuple[str, str, list[str], list[str], Any]] = []
        types = _declared_types(graph, self.initializers)
        self.protos = {node.name: node for node in graph.node}
        for node in graph.node:
            if node.domain not in ("", "ai.onnx"):
                raise ValueError(f"{name}: node \"{node.name}\" has unsupported domain {node.domain!r}")
            if node.op_type not in _OPS or len([o for o in node.output if o]) > 1:  # our kernels: one result
                own = [x for x in node.input if x]
                outer = [x for x in node_outer_reads(node) if x in types]
                ins = own + outer
                missing = [x for x in ins if x not in types]
                if missing:
                    raise ValueError(f"{name}: node \"{node.name}\" ({node.op_type}): no declared type "
                                     f"for input {missing[0]!r}")
                runner = NodeRunner(node, self.opset, [types[x] for x in own], {x: types[x] for x in outer})
                self.nodes.append((node.op_type, node.name, ins, [o for o in node.output if o], runner))
                continue
            attrs: dict[str, Any] = {}
            for a in node.attribute:
                v = helper.get_attribute_value(a)
                if hasattr(v, "dims") and hasattr(v, "data_type"):  # a TensorProto
                    v = numpy_helper.to_array(v)
                attrs[a.name] = v
            self.nodes.append((node.op_type, node.name, list(node.input), list(node.output), attrs))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "host segment") -> HostSegment:
        import onnx

        return cls(onnx.load_from_string(data), name)

    @property
    def moves_data_only(self) -> bool:
        """True when every node is in :data:`DATA_MOVEMENT_OPS`: each output element is a copy of
        one input element, so ``quantize(f(dequantize(q))) == f(q)`` whenever the inputs and outputs
        share one scale and zero point (``quantize(dequantize(q)) == q`` for int8 ``q``: the float32
        round trip is off by at most ``255 * 2**-23``, far below the 0.5 that would change the
        rounding)."""
        return all(op_type in DATA_MOVEMENT_OPS for op_type, *_ in self.nodes)

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.name}: expected {len(self.inputs)} inputs, got {len(inputs)}")
        env: dict[str, np.ndarray] = dict(self.initializers)
        env.update(zip(self.inputs, (np.asarray(x) for x in inputs), strict=True))
        for op_type, node_name, ins, outs, how in self.nodes:
            if isinstance(how, NodeRunner):
                try:
                    ys = how.run([env[i] for i in ins])
                except (ValueError, KeyError) as e:
                    raise ValueError(f"{self.name}: {e}") from None
                env.update(zip(outs, ys))
                continue
            try:
                args = [env[i] for i in ins if i]
                y = _OPS[op_type](args, how, self.opset)
            except NotImplementedError:
                # a configuration our float kernel lacks: ONNX's semantics, as the interpreters do
                node = self.protos[node_name]
                runner = NodeRunner(node, self.opset, [(a.dtype, a.shape) for a in args])
                given = [o for o in outs if o]
                self.nodes[self.nodes.index((op_type, node_name, ins, outs, how))] = (
                    op_type, node_name, [i for i in ins if i], given, runner)
                env.update(zip(given, runner.run(args)))
                continue
            except (ValueError, TypeError, KeyError) as e:
                raise ValueError(f"{self.name}: node \"{node_name}\" ({op_type}): {e}") from None
            y = np.asarray(y)
            if y.dtype.kind == "f" and y.dtype != np.float32:  # the IR's values are f32
                y = y.astype(np.float32)
            env[outs[0]] = y
        return [env[o] for o in self.outputs]
