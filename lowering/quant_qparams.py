"""Calibration ranges and quantization parameters of ``convert-onnx-to-quant``.

Contract:

* ``calibration_range(v)``: the ``calibration = array<f32: lo, hi>`` that ``onnx-calibrate`` wrote
  on the op defining ``v`` or in the ``arg_attrs`` of its graph input; raises
  ``PassFailedException`` naming the op (with its ``onnx_name``) or the graph input when missing.
* ``uniform_of_value(v)``: the activation qparams (``activation_qparams``) of that range, and
  ``uniform_for_range(lo, hi, who)`` the same for an explicit range (an invalid range raises
  ``PassFailedException`` naming ``who``); ``representable(u)``: the real range an int8 tensor
  with qparams ``u`` can hold.
* Value helpers shared by the conversion: ``shape``, ``is_f32_tensor``, ``is_quant_type``,
  ``qtype`` (a tensor type of a shape and qparams) and ``const_of`` (the ``onnx.Constant``
  defining a value, or None).

Nothing here creates or rewrites ops.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import DenseArrayBase, TensorType
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.dialects.quant import UniformPerAxisType, UniformType
from axc.lowering.onnx_importer import input_names
from axc.runtime.quantization import INT8_MAX, INT8_MIN, activation_qparams

__all__ = [
    "CALIBRATION",
    "calibration_range",
    "uniform_for_range",
    "uniform_of_value",
    "representable",
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
