"""Element types and numpy <-> ``dense<...>`` conversion of the onnx level: the IR helpers that the
importer, the interpreters, the passes and the exporters share.

``ELEMENT_TYPES`` maps ONNX ``TensorProto`` data types to builtin element types (f32, f64, f16,
i64, i32, i16, i8, ui8..ui64, i1); :func:`numpy_dtype` / :func:`element_type_for` convert between
element types and numpy dtypes (little endian); :func:`dense_from_numpy` / :func:`numpy_from_dense`
move tensors between numpy and ``DenseIntOrFPElementsAttr`` through their raw bytes.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IntegerType,
    Signedness,
    TensorType,
    f16,
    f32,
    f64,
    i1,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute

from axc.runtime.errors import ModelError

__all__ = ["ELEMENT_TYPES", "dense_from_numpy", "element_type_for", "numpy_dtype", "numpy_from_dense"]

_ui8 = IntegerType(8, Signedness.UNSIGNED)
_i16 = IntegerType(16)
_ui16 = IntegerType(16, Signedness.UNSIGNED)
_ui32 = IntegerType(32, Signedness.UNSIGNED)
_ui64 = IntegerType(64, Signedness.UNSIGNED)

ELEMENT_TYPES: dict[int, Attribute] = {
    TensorProto.FLOAT: f32,
    TensorProto.DOUBLE: f64,
    TensorProto.FLOAT16: f16,
    TensorProto.INT64: i64,
    TensorProto.INT32: i32,
    TensorProto.INT8: i8,
    TensorProto.UINT8: _ui8,
    TensorProto.INT16: _i16,
    TensorProto.UINT16: _ui16,
    TensorProto.UINT32: _ui32,
    TensorProto.UINT64: _ui64,
    TensorProto.BOOL: i1,
}

_DTYPES: dict[Attribute, np.dtype] = {
    f32: np.dtype("<f4"),
    f64: np.dtype("<f8"),
    f16: np.dtype("<f2"),
    i64: np.dtype("<i8"),
    i32: np.dtype("<i4"),
    i8: np.dtype("i1"),
    _ui8: np.dtype("u1"),
    _i16: np.dtype("<i2"),
    _ui16: np.dtype("<u2"),
    _ui32: np.dtype("<u4"),
    _ui64: np.dtype("<u8"),
    i1: np.dtype("bool"),
}



def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype holding values of ``element_type`` (little endian)."""
    try:
        return _DTYPES[element_type]
    except KeyError:
        raise ModelError(f"unsupported element type {element_type}") from None


def element_type_for(dtype: np.dtype) -> Attribute:
    """The builtin element type of a numpy dtype (inverse of :func:`numpy_dtype`)."""
    for t, d in _DTYPES.items():
        if d == np.dtype(dtype).newbyteorder("<") or d == np.dtype(dtype):
            return t
    raise ModelError(f"unsupported numpy dtype {dtype}")


def dense_from_numpy(arr: np.ndarray, element_type: Attribute | None = None) -> DenseIntOrFPElementsAttr:
    """A ``dense<...>`` attribute holding ``arr``, built from its raw bytes (no Python lists)."""
    if element_type is None:
        element_type = element_type_for(arr.dtype)
    data = np.asarray(arr, dtype=numpy_dtype(element_type), order="C")  # keeps 0-d (ascontiguousarray does not)
    return DenseIntOrFPElementsAttr(TensorType(element_type, data.shape), BytesAttr(data.tobytes()))


def numpy_from_dense(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """A read-only numpy view of the bytes of a ``dense<...>`` attribute (no copy)."""
    shape = tuple(attr.get_shape())
    arr = np.frombuffer(attr.data.data, dtype=numpy_dtype(attr.get_element_type()))
    if arr.size != int(np.prod(shape, dtype=np.int64)) and arr.size == 1:
        arr = np.broadcast_to(arr, shape)  # splat
    return arr.reshape(shape)
