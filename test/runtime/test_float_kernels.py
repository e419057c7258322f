"""Tests of runtime/float_kernels.py against onnxruntime on one-node ONNX graphs."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from axc.runtime import float_kernels as fk

RNG = np.random.default_rng(7)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_ort(op, inputs, attrs=None, opset=17, n_outputs=1):
    """Run one ONNX node on ``inputs`` (an ordered dict name -> array; None = omitted input)."""
    names = [k if v is not None else "" for k, v in inputs.items()]
    feeds = {k: v for k, v in inputs.items() if v is not None}
    outs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op, names, outs, **(attrs or {}))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
         for k, v in feeds.items()],
        [helper.make_empty_tensor_value_info(o) for o in outs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    res = sess.run(None, feeds)
    return res[0] if n_outputs == 1 else res


def check(got, want, tol=1e-5):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# --- conv -----------------------------------------------------------------------------------------

CONVS = [  # x shape, w shape, attrs
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(pads=[1, 1, 1, 1])),
    ((1, 3, 11, 10), (5, 3, 3, 2), dict(strides=[2, 1], pads=[0, 1, 2, 1], dilations=[2, 1])),
    ((1, 3, 12, 12), (4, 3, 5, 5), dict(strides=[3, 2], dilations=[1, 2])),
    ((1, 8, 7, 9), (6, 4, 3, 3), dict(group=2, pads=[1, 2, 1, 0])),
    ((2, 12, 7, 7), (8, 3, 3, 1), dict(group=4, strides=[2, 2])),
    ((1, 6, 9, 9), (6, 1, 3, 3), dict(group=6, pads=[1, 1, 1, 1], strides=[2, 2])),
    ((1, 4, 8, 7), (12, 1, 3, 3), dict(group=4, pads=[2, 1, 0, 1], dilations=[2, 2])),
    ((1, 3, 9, 8), (4, 3, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    ((1, 3, 10, 7), (4, 3, 4, 2), dict(auto_pad="SAME_LOWER", strides=[3, 2])),
    ((1, 3, 9, 8), (4, 3, 3, 3), dict(auto_pad="VALID", strides=[2, 1])),
    ((2, 3, 17), (4, 3, 3), dict(pads=[1, 2], strides=[2], dilations=[2])),  # 1-D
    ((1, 64, 7, 7), (32, 64, 3, 3), dict(pads=[1, 1, 1, 1], kernel_shape=[3, 3])),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,attrs", CONVS)
def test_conv(xs, ws, attrs, bias):
    x, w = _rand(*xs), _rand(*ws)
    b = _rand(ws[0]) if bias else None
    want = run_ort("Conv", {"x": x, "w": w, "b": b}, attrs)
    check(fk.conv(x, w, b, **attrs), want, 1e-4)


def test_relu_dropout_global_pool_batchnorm():
    x = _rand(2, 5, 4, 3)
    check(fk.relu(x), run_ort("Relu", {"x": x}))
    check(fk.dropout(x), run_ort("Dropout", {"x": x}, opset=12))
    r = np.array(0.3, np.float32)
    check(fk.dropout(x, r), run_ort("Dropout", {"x": x, "r": r}, opset=13))
    check(fk.global_average_pool(x), run_ort("GlobalAveragePool", {"x": x}))
    s, b, m = _rand(5), _rand(5), _rand(5)
    v = np.abs(_rand(5)) + 0.1
    for eps in (1e-5, 1e-3):
        check(fk.batch_normalization(x, s, b, m, v, epsilon=eps),
              run_ort("BatchNormalization", {"x": x, "s": s, "b": b, "m": m, "v": v}, dict(epsilon=eps)))


# --- pooling --------------------------------------------------------------------------------------

POOLS = [  # x shape, attrs
    ((1, 3, 9, 9), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ((1, 3, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    ((2, 2, 7, 10), dict(kernel_shape=[2, 3], strides=[2, 3], ceil_mode=1)),
    ((1, 2, 6, 6), dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    ((1, 2, 4, 5), dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1)),
    ((1, 2, 9, 7), dict(kernel_shape=[3, 2], strides=[1, 2], pads=[2, 1, 0, 1])),
    ((1, 2, 9, 8), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    ((1, 2, 9, 8), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
    ((1, 2, 9, 8), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="VALID")),
    ((2, 3, 13), dict(kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1)),  # 1-D
]


@pytest.mark.parametrize("xs,attrs", POOLS)
def test_max_pool(xs, attrs):
    x = _rand(*xs)
    check(fk.max_pool(x, **attrs), run_ort("MaxPool", {"x": x}, attrs), 0)


def test_pools_dilated():
    x = _rand(1, 2, 10, 9)
    for attrs in [dict(kernel_shape=[2, 2], dilations=[2, 3]),
                  dict(kernel_shape=[3, 2], dilations=[2, 2], strides=[2, 1], pads=[1, 1, 1, 0], ceil_mode=1)]:
        check(fk.max_pool(x, **attrs), run_ort("MaxPool", {"x": x}, attrs), 0)
        for cip in (0, 1):  # AveragePool has dilations since opset 19
            a = dict(attrs, count_include_pad=cip)
            check(fk.average_pool(x, **a), run_ort("AveragePool", {"x": x}, a, opset=19))


@pytest.mark.parametrize("include_pad", [0, 1])
@pytest.mark.parametrize("xs,attrs", POOLS)
def test_average_pool(xs, attrs, include_pad):
    x = _rand(*xs)
    attrs = dict(attrs, count_include_pad=include_pad)
    check(fk.average_pool(x, **attrs), run_ort("AveragePool", {"x": x}, attrs))


# --- linear algebra and elementwise ---------------------------------------------------------------


@pytest.mark.parametrize("ta,tb,alpha,beta,cshape", [
    (0, 0, 1.0, 1.0, (5,)),
    (1, 0, 0.5, 2.0, (3, 5)),
    (0, 1, 1.0, 0.0, (1, 5)),
    (1, 1, 2.0, -1.0, (3, 1)),
    (0, 0, 1.0, 1.0, None),
])
def test_gemm(ta, tb, alpha, beta, cshape):
    a = _rand(4, 3) if ta else _rand(3, 4)
    b = _rand(5, 4) if tb else _rand(4, 5)
    c = _rand(*cshape) if cshape else None
    attrs = dict(transA=ta, transB=tb, alpha=alpha, beta=beta)
    check(fk.gemm(a, b, c, **attrs), run_ort("Gemm", {"a": a, "b": b, "c": c}, attrs))


def test_matmul_add_mul_sum_concat():
    a, b = _rand(2, 1, 3, 4), _rand(3, 4, 5)
    check(fk.matmul(a, b), run_ort("MatMul", {"a": a, "b": b}))
    v = _rand(4)
    m = _rand(3, 4)
    check(fk.matmul(m, v), run_ort("MatMul", {"a": m, "b": v}))
    x, y, z = _rand(2, 3, 4), _rand(3, 1), _rand(4)
    check(fk.add(x, y), run_ort("Add", {"x": x, "y": y}))
    check(fk.mul(x, z), run_ort("Mul", {"x": x, "z": z}))
    check(fk.sum(x, y, z), run_ort("Sum", {"x": x, "y": y, "z": z}))
    check(fk.sum(x), run_ort("Sum", {"x": x}))
    p, q = _rand(2, 3, 4), _rand(2, 5, 4)
    check(fk.concat(p, q, axis=1), run_ort("Concat", {"p": p, "q": q}, dict(axis=1)))
    check(fk.concat(p, q, p, axis=-2), run_ort("Concat", {"p": p, "q": q, "r": p}, dict(axis=-2)))


# --- shape ops ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,allowzero", [
    ([0, -1], 0), ([2, 0, 2, -1], 0), ([-1], 0), ([6, 2, 1, 2], 0), ([0, 3, 0, 0], 0), ([4, 0, 6], 1),
])
def test_reshape(shape, allowzero):
    x = _rand(2, 3, 2, 2) if not allowzero else _rand(0, 3, 2)
    s = np.array(shape, np.int64)
    attrs = dict(allowzero=allowzero) if allowzero else {}
    check(fk.reshape(x, s, **attrs), run_ort("Reshape", {"x": x, "s": s}, attrs, opset=14))


def test_reshape_errors():
    with pytest.raises(ValueError):
        fk.reshape(_rand(2, 3), np.array([-1, -1]))
    with pytest.raises(ValueError):
        fk.reshape(_rand(2, 3), np.array([4, -1]))


@pytest.mark.parametrize("axis", [0, 1, 2, 4, -1, -3])
def test_flatten(axis):
    x = _rand(2, 3, 4, 5)
    check(fk.flatten(x, axis=axis), run_ort("Flatten", {"x": x}, dict(axis=axis)))


@pytest.mark.parametrize("perm", [None, [0, 2, 3, 1], [3, 1, 0, 2]])
def test_transpose(perm):
    x = _rand(2, 3, 4, 5)
    attrs = {} if perm is None else dict(perm=perm)
    check(fk.transpose(x, **attrs), run_ort("Transpose", {"x": x}, attrs))


@pytest.mark.parametrize("opset", [9, 11, 13, 17])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1])
def test_softmax(opset, axis):
    x = _rand(2, 3, 4, 5) * 4
    attrs = {} if axis is None else dict(axis=axis)
    check(fk.softmax(x, opset=opset, **attrs), run_ort("Softmax", {"x": x}, attrs, opset=opset))


@pytest.mark.parametrize("size,alpha,beta,bias", [(3, 1e-4, 0.75, 1.0), (5, 0.01, 0.5, 2.0), (2, 0.2, 1.0, 0.5),
                                                  (4, 0.1, 0.75, 1.0)])
def test_lrn(size, alpha, beta, bias):
    x = _rand(2, 7, 3, 4) * 3
    attrs = dict(size=size, alpha=alpha, beta=beta, bias=bias)
    if size % 2:
        want = run_ort("LRN", {"x": x}, attrs)
    else:  # onnxruntime rejects even sizes (and onnx.reference's LRN loops over N): the spec formula
        want = np.empty_like(x)
        for c in range(x.shape[1]):
            lo, hi = max(0, c - (size - 1) // 2), min(x.shape[1] - 1, c + -(-(size - 1) // 2))
            sq = np.sum(x[:, lo:hi + 1].astype(np.float64) ** 2, axis=1)
            want[:, c] = x[:, c] / (bias + alpha / size * sq) ** beta
    check(fk.lrn(x, **attrs), want, 1e-5)


def test_unsqueeze_and_constant_of_shape():
    x = _rand(3, 4)
    check(fk.unsqueeze(x, axes=[0, -1]), run_ort("Unsqueeze", {"x": x}, dict(axes=[0, -1]), opset=11))
    ax = np.array([1, 3], np.int64)
    check(fk.unsqueeze(x, ax), run_ort("Unsqueeze", {"x": x, "a": ax}, opset=13))
    with pytest.raises(ValueError):
        fk.unsqueeze(x, [0, 0])
    shape = np.array([2, 3], np.int64)
    check(fk.constant_of_shape(shape), run_ort("ConstantOfShape", {"s": shape}))
    val = helper.make_tensor("v", TensorProto.INT64, [1], [7])
    check(fk.constant_of_shape(shape, value=np.array([7], np.int64)),
          run_ort("ConstantOfShape", {"s": shape}, dict(value=val)))
