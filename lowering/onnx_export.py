"""onnx ops back to ONNX nodes: what host segments and the ONNX node runner are made of.

:func:`onnx_attribute_value` turns one of our builtin attributes into the Python value
``onnx.helper.make_node`` takes; :func:`node_proto` rebuilds the ``NodeProto`` of an ``onnx.*`` op
(inverse of the importer: omitted optional inputs / outputs come back as ``""``, subgraph
attributes are deserialized, outer-scope operands are left out of the node's inputs).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
)
from xdsl.ir import Attribute, Operation

from axc.dialects import onnx as ox
from axc.runtime.errors import CompileError

__all__ = ["node_proto", "onnx_attribute_value", "outer_names"]


def onnx_attribute_value(a: Attribute) -> Any:
    """The Python value of an ONNX attribute kept as a builtin attribute (see dialects/onnx.py).

    Raises :class:`CompileError` for an attribute with no ONNX equivalent.
    """
    from axc.lowering.onnx_importer import numpy_from_dense

    if isinstance(a, IntegerAttr):
        return int(a.value.data)
    if isinstance(a, FloatAttr):
        return float(a.value.data)
    if isinstance(a, StringAttr):
        return a.data
    if isinstance(a, DenseArrayBase):
        vals = a.get_values()
        return [float(v) for v in vals] if any(isinstance(v, float) for v in vals) else [int(v) for v in vals]
    if isinstance(a, DenseIntOrFPElementsAttr):
        return numpy_helper.from_array(np.asarray(numpy_from_dense(a), order="C"))
    if isinstance(a, ArrayAttr):
        return [onnx_attribute_value(x) for x in a.data]
    raise CompileError(f"cannot express attribute {a} as an ONNX attribute")


def outer_names(op: Operation) -> list[str]:
    """The outer-scope names a generic op's subgraphs read (its trailing operands)."""
    a = op.attributes.get("onnx_outer")
    return [x.data for x in a.data] if isinstance(a, ArrayAttr) else []  # type: ignore[attr-defined]


def node_proto(op: Operation, inputs: Sequence[str], outputs: Sequence[str], name: str | None = None) -> onnx.NodeProto:
    """The ONNX node of ``op``: ``inputs`` names its operands (outer-scope ones included, last),
    ``outputs`` its results. Omitted optional inputs / outputs of a generic op come back as ``""``."""
    op_type = op.name.removeprefix("onnx.")
    n_outer = len(outer_names(op))
    ins = list(inputs[: len(inputs) - n_outer] if n_outer else inputs)
    outs = list(outputs)
    if isinstance(op, ox.GenericOnnxOp):
        for k in op.positions("onnx_absent_inputs"):
            ins.insert(k, "")
        for k in op.positions("onnx_absent_outputs"):
            outs.insert(k, "")
    attrs = {k: onnx_attribute_value(v) for k, v in op.attributes.items() if k not in ox.NOT_ONNX_ATTRS}
    graphs = op.attributes.get("onnx_graphs")
    if isinstance(graphs, DictionaryAttr):
        for k, v in graphs.data.items():
            g = onnx.GraphProto()
            g.ParseFromString(base64.b64decode(v.data))  # type: ignore[attr-defined]
            attrs[k] = g
    node_name = name
    if node_name is None:
        a = op.attributes.get("onnx_name")
        node_name = a.data if isinstance(a, StringAttr) else op_type
    return helper.make_node(op_type, ins, outs, name=node_name, **attrs)
