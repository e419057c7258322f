"""Calibration ranges and quantization parameters of ``convert-onnx-to-quant``.

Contract:

* ``calibration_range(v)``: the ``calibration = array<f32: lo, hi>`` that ``onnx-calibrate`` wrote
  on the op defining ``v`` or in the ``arg_attrs`` of its graph input; raises
  ``PassFailedException`` naming the op (with its ``onnx_name``) or the graph input when missing.
* ``uniform_of_value(v)``: the activation qparams (``activation_qparams``) of that range, and
  ``uniform_for_range(lo, hi, who)`` the same for an explicit range (an invalid range raises
  ``PassFailedException`` naming ``who``); ``representable(u)``: the real range an int8 tensor
  with qparams ``u`` can hold.
* ``bias_safe_weight_scales(b, s_in, ws, k)``: per-channel weight scales raised where the int32
  bias of a convolution (plus its accumulator) would not fit int32 (``QuantizationWarning``).
* Value helpers shared by the conversion: ``shape``, ``is_f32_tensor``, ``is_quant_type``,
  ``qtype`` (a tensor type of a shape and qparams) and ``const_of`` (the ``onnx.Constant``
  defining a value, or None).

Nothing here creates or rewrites ops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import DenseArrayBase, TensorType
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.dialects.quant import UniformPerAxisType, UniformType
from axc.lowering.onnx_importer import input_names
from axc.runtime.quantization import INT8_MAX, INT8_MIN, INT32_MAX, WEIGHT_QMAX, activation_qparams

__all__ = [
    "CALIBRATION",
    "calibration_range",
    "uniform_for_range",
    "uniform_of_value",
    "representable",
    "QuantizationWarning",
    "bias_safe_weight_scales",
    "shape",
    "is_f32_tensor",
    "is_quant_type",
    "qtype",
    "const_of",
]

CALIBRATION = "calibration"


def shape(v: SSAValue | Attribute) -> tuple[int, ...]:
    t = v.type if isinstance(v, SSAValue) else v
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def is_f32_tensor(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType) and v.type.element_type == builtin.f32


def is_quant_type(t: Attribute) -> bool:
    return isinstance(t, TensorType) and isinstance(t.element_type, UniformType | UniformPerAxisType)


def qtype(shape: Sequence[int], el: UniformType) -> TensorType:
    return TensorType(el, list(shape))


def const_of(v: SSAValue | None) -> onnx.ConstantOp | None:
    if v is not None and isinstance(v.owner, onnx.ConstantOp):
        return v.owner
    return None


def _range_attr(attrs: dict[str, Attribute] | None, index: int = 0) -> tuple[float, float] | None:
    """(lo, hi) of result ``index``: ``calibration`` holds one pair per result of the op."""
    a = (attrs or {}).get(CALIBRATION)
    if isinstance(a, DenseArrayBase):
        vals = tuple(float(x) for x in a.get_values())
        if len(vals) >= 2 * (index + 1) and len(vals) % 2 == 0:
            return vals[2 * index], vals[2 * index + 1]
    return None


def _arg_name(arg: BlockArgument) -> str:
    """The ONNX name of a graph input (``axc.input_names`` of its function)."""
    parent = arg.block.parent_op()
    if isinstance(parent, func.FuncOp):
        return input_names(parent)[arg.index]
    return f"arg{arg.index}"


def calibration_range(v: SSAValue) -> tuple[float, float]:
    """The calibrated (lo, hi) of an f32 value: its defining op's or its graph input's attribute.

    Raises ``PassFailedException`` naming the op (and its ``onnx_name``) or the graph input.
    """
    if isinstance(v, BlockArgument):
        parent = v.block.parent_op()
        attrs = None
        if isinstance(parent, func.FuncOp) and parent.arg_attrs is not None:
            attrs = parent.arg_attrs.data[v.index].data
        r = _range_attr(attrs)
        if r is None:
            raise PassFailedException(
                f"graph input \"{_arg_name(v)}\" has no '{CALIBRATION}' range in the arg_attrs of "
                f"@{parent.sym_name.data if isinstance(parent, func.FuncOp) else '?'} "
                "(run onnx-calibrate first)"
            )
        return r
    op = v.owner
    assert isinstance(op, Operation)
    r = _range_attr(op.attributes, v.index if len(op.results) > 1 else 0)
    if r is None:
        what = op.describe() if isinstance(op, onnx.OnnxOp) else f"'{op.name}'"
        raise PassFailedException(
            f"{what} has no '{CALIBRATION}' range (expected array<f32: lo, hi>; run onnx-calibrate first)"
        )
    return r


def uniform_for_range(lo: float, hi: float, who: str) -> UniformType:
    try:
        s, zp = activation_qparams(lo, hi)
    except ValueError as e:
        raise PassFailedException(f"{who}: bad calibration range: {e}") from e
    return UniformType(s, zp)


def uniform_of_value(v: SSAValue) -> UniformType:
    """qparams of an f32 value from its calibration."""
    lo, hi = calibration_range(v)
    who = f"graph input \"{_arg_name(v)}\"" if isinstance(v, BlockArgument) else v.owner.describe()  # type: ignore[union-attr]
    return uniform_for_range(lo, hi, who)


def representable(u: UniformType) -> tuple[float, float]:
    return u.s * (INT8_MIN - u.zp), u.s * (INT8_MAX - u.zp)


class QuantizationWarning(UserWarning):
    """The quantizer changed a parameter to keep a model compilable (the message names the node)."""


def bias_safe_weight_scales(b: np.ndarray, s_in: float, ws: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel weight scales for which a convolution's int32 bias and accumulator fit.

    ``b``: float bias [OC]; ``s_in``: the input scale; ``ws``: float32 weight scales [OC]; ``k``: the
    taps per output (C/group x KH x KW). The accumulator is int32: ``bias_q + sum(x * w) -
    zp_x * sum(w)`` (runtime/conv_kernels.py), each of the 2k tap terms at most 128 x 127, so
    ``|bias_q| <= INT32_MAX - 2 * 128 * 127 * k`` (at least 2**30) keeps every partial sum in int32.
    A channel whose ``|b[c]| / (s_in * ws[c])`` exceeds that bound gets the weight scale
    ``|b[c]| / (s_in * bound)`` (rounded up in float32), as onnxruntime's quantizer adjusts weight
    scales for int32 bias: then the bias needs at least 2**30 input x weight steps, so the coarser
    weights of that channel change its output by well under one output step (the output range
    covers the bias). Other channels keep their scale bit for bit.

    Returns ``(scales float32 [OC], indices of the raised channels int64)``. ``b`` must be finite.
    """
    ws = np.asarray(ws, np.float32)
    bound = float(max(INT32_MAX - 2 * 128 * WEIGHT_QMAX * int(k), 2**30))
    s_in64 = float(np.float32(s_in))
    need = np.abs(np.asarray(b, np.float64)) / (s_in64 * bound)  # the smallest scale that fits
    raised = np.flatnonzero(need > ws.astype(np.float64))
    out = ws.copy()
    for c in raised:
        s = np.float32(need[c])
        while float(s) < need[c]:  # round up: |b| / (s_in * s) <= bound
            s = np.nextafter(s, np.float32(np.inf))
        out[c] = s
    return out, raised.astype(np.int64)
