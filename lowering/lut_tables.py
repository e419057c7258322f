"""Element-wise onnx ops that become one 256-entry int8 table (``quant.lut``) and their tables.

Contract:

* :func:`lut_input(op)`: the activation an onnx op is a unary element-wise function of, or None.
  That is the case for the op types in :data:`LUT_OP_TYPES` (Sigmoid, Tanh, HardSigmoid, HardSwish,
  LeakyRelu, Selu, Elu, Celu, Softplus, Softsign, Mish, Gelu, Clip, and Add / Sub / Mul / Div)
  when every non-constant operand is one and the same f32 activation of rank 2 or 4, every other
  operand is an ``onnx.Constant`` of one element (Clip's min / max from opset 11, the scalar of
  ``x * 6`` or ``x / 6``; absent optional operands are fine), and the op has one f32 result of the
  activation's shape. Erf, Sqrt, Pow and the rest stay host ops.
* :func:`lut_table(op, x, in_u, out_u)`: the table of such an op for input qparams ``in_u`` and
  result qparams ``out_u``: ``q = arange(-128, 128)`` -> ``dequantize(q, in_u)`` -> the op itself,
  evaluated by a :class:`~axc.runtime.onnx_node.NodeRunner` built for shape (256,) from the same
  node (same attributes, same constant operands, the module's opset: exactly ONNX's semantics) ->
  ``quantize(y, out_u)`` (round half to even, saturated, like ONNX QuantizeLinear). Entry ``k`` is
  the result for the int8 input ``k - 128``. Raises ``PassFailedException`` naming the op when the
  function gives NaN or onnxruntime rejects the node.

Nothing here creates or rewrites ops.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.dialects.quant import UniformType
from axc.lowering.onnx_importer import numpy_from_dense
from axc.lowering.quant_qparams import const_of, is_f32_tensor, shape
from axc.runtime.quantization import dequantize, quantize

__all__ = ["LUT_OP_TYPES", "lut_input", "lut_table"]

#: onnx op types that may become a table lookup (see :func:`lut_input` for the operand rules)
LUT_OP_TYPES = frozenset({
    "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Selu", "Elu", "Celu", "Softplus",
    "Softsign", "Mish", "Gelu", "Clip", "Add", "Sub", "Mul", "Div",
})


def _op_type(op: Operation) -> str:
    return op.name.removeprefix("onnx.")


def lut_input(op: Operation) -> SSAValue | None:
    """The activation ``op`` is a unary element-wise function of, or None (see the module doc)."""
    if not isinstance(op, onnx.OnnxOp) or _op_type(op) not in LUT_OP_TYPES:
        return None
    if len(op.results) != 1 or not is_f32_tensor(op.results[0]):
        return None
    x: SSAValue | None = None
    for v in op.operands:
        c = const_of(v)
        if c is not None:
            if c.value is None or int(np.prod(c.value.get_shape(), dtype=np.int64)) != 1:
                return None
            continue
        if not is_f32_tensor(v) or (x is not None and v is not x):
            return None
        x = v
    if x is None or len(shape(x)) not in (2, 4) or shape(op.results[0]) != shape(x):
        return None
    return x


def lut_table(op: Operation, x: SSAValue, in_u: UniformType, out_u: UniformType) -> np.ndarray:
    """The int8 table (256 entries, index = input + 128) of ``op`` at these qparams (module doc)."""
    from axc.lowering.onnx_export import node_proto
    from axc.runtime.interp_onnx import _opset_of
    from axc.runtime.onnx_node import NodeRunner

    xf = dequantize(np.arange(-128, 128, dtype=np.int32), in_u.s, in_u.zp).astype(np.float32)
    names, types, feeds = [], [], []
    for k, v in enumerate(op.operands):
        names.append(f"in{k}")
        if v is x:
            types.append((np.dtype(np.float32), (256,)))
            feeds.append(xf)
        else:
            c = const_of(v)
            assert c is not None and c.value is not None
            arr = np.ascontiguousarray(numpy_from_dense(c.value))
            types.append((arr.dtype, arr.shape))
            feeds.append(arr)
    node = node_proto(op, names, ["out0"])
    try:
        y = NodeRunner(node, _opset_of(op), types).run(feeds)[0]
    except ValueError as e:
        raise PassFailedException(f"{op.describe()}: cannot build its table: {e}") from None
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.shape != (256,):
        raise PassFailedException(f"{op.describe()}: its table has {y.size} entries, expected 256")
    if np.isnan(y).any():
        k = int(np.flatnonzero(np.isnan(y))[0])
        raise PassFailedException(f"{op.describe()}: the function is NaN at input {float(xf[k])!r}: cannot be a table")
    return quantize(y, out_u.s, out_u.zp)

