"""Float32 ONNX kernels (NCHW), exact ONNX semantics.

Used by the onnx-level interpreter (calibration) and for host ops in every interpreter and in the
runtime, so quant and aipu results stay bit-identical. Pure numpy (no xdsl).

Each kernel takes the op's inputs as numpy arrays (positional, in ONNX input order) and the ONNX
attributes as keyword arguments named exactly like the attributes (``auto_pad`` may be ``str`` or
``bytes``). Float inputs are computed in float32 (never upcast to float64). Convolution and pooling
support 1-D and 2-D spatial inputs ([N, C, L] and [N, C, H, W]); 3-D raises ``NotImplementedError``.
Convolution is im2col + float32 BLAS (depthwise: a per-tap multiply-accumulate); pooling loops over the
kernel taps only. Pooling window geometry, ceil_mode and the average-pool divisor are those of
:mod:`.int_kernels` (onnxruntime's rules), so the integer and float kernels agree on windows.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .int_kernels import avg_pool_counts, output_size

F32 = np.float32

__all__ = [
    "conv", "relu", "max_pool", "average_pool", "global_average_pool", "batch_normalization", "gemm",
    "matmul", "add", "mul", "sum", "concat", "reshape", "flatten", "transpose", "softmax", "lrn",
    "dropout", "unsqueeze", "constant_of_shape",
]


# ---------------------------------------------------------------------------------------------------
# window helpers


def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=F32)


def _str(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class _Win:
    """Resolved 2-D window attributes of a conv / pool over an [N, C, H, W] input."""

    def __init__(self, x: np.ndarray, kernel, strides, pads, dilations, auto_pad, ceil_mode, op: str):
        nd = x.ndim - 2
        if nd not in (1, 2):
            raise NotImplementedError(f"{op}: only 1-D and 2-D spatial inputs are supported, got rank {x.ndim}")
        if kernel is None or len(kernel) != nd:
            raise ValueError(f"{op}: kernel_shape must have {nd} values, got {kernel}")
        kernel = [int(k) for k in kernel]
        strides = [int(s) for s in strides] if strides else [1] * nd
        dilations = [int(d) for d in dilations] if dilations else [1] * nd
        if len(strides) != nd or len(dilations) != nd:
            raise ValueError(f"{op}: strides {strides} / dilations {dilations} must have {nd} values")
        spatial = list(x.shape[2:])
        auto_pad = _str(auto_pad or "NOTSET")
        if auto_pad == "NOTSET":
            pads = [int(p) for p in pads] if pads else [0] * (2 * nd)
            if len(pads) != 2 * nd:
                raise ValueError(f"{op}: pads must have {2 * nd} values, got {pads}")
        elif auto_pad == "VALID":
            pads = [0] * (2 * nd)
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pads = [0] * (2 * nd)
            for i in range(nd):
                out = -(-spatial[i] // strides[i])
                total = max(0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - spatial[i])
                small, big = total // 2, total - total // 2
                pads[i], pads[i + nd] = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
        else:
            raise ValueError(f"{op}: unknown auto_pad {auto_pad!r}")
        if nd == 1:  # treat [N, C, L] as [N, C, 1, L]
            kernel, strides, dilations = [1] + kernel, [1] + strides, [1] + dilations
            pads = [0, pads[0], 0, pads[1]]
        self.nd = nd
        self.kh, self.kw = kernel
        self.sh, self.sw = strides
        self.dh, self.dw = dilations
        self.pads = tuple(pads)  # (top, left, bottom, right)
        h, w = (1, spatial[0]) if nd == 1 else spatial
        pt, pl, pb, pr = pads
        self.ho = output_size(h, self.kh, self.sh, pt, pb, self.dh, bool(ceil_mode))
        self.wo = output_size(w, self.kw, self.sw, pl, pr, self.dw, bool(ceil_mode))
        need_h = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        need_w = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1
        self.h, self.w = h, w
        self.pad_width = ((0, 0), (0, 0), (pt, max(need_h - pt - h, 0)), (pl, max(need_w - pl - w, 0)))

    def as4d(self, x: np.ndarray) -> np.ndarray:
        return x[:, :, None, :] if self.nd == 1 else x

    def out(self, y: np.ndarray) -> np.ndarray:
        return y[:, :, 0, :] if self.nd == 1 else y

    def pad(self, x4: np.ndarray, value: float) -> np.ndarray:
        if not any(p for pw in self.pad_width for p in pw):
            return x4
        return np.pad(x4, self.pad_width, mode="constant", constant_values=value)

    def tap(self, xp: np.ndarray, i: int, j: int) -> np.ndarray:
        h0, w0 = i * self.dh, j * self.dw
        return xp[:, :, h0:h0 + (self.ho - 1) * self.sh + 1:self.sh, w0:w0 + (self.wo - 1) * self.sw + 1:self.sw]


# ---------------------------------------------------------------------------------------------------
# convolution and pooling


def conv(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None,
         strides=None) -> np.ndarray:
    """ONNX Conv. ``x`` float32 [N, C, (H,) W], ``w`` [OC, C/group, (KH,) KW], ``b`` [OC] or None.

    Returns float32 [N, OC, (Ho,) Wo]. Raises ``ValueError`` on inconsistent shapes / attributes and
    ``NotImplementedError`` for 3-D convolution.
    """
    x, w = _f32(x), _f32(w)
    group = int(group)
    if w.ndim != x.ndim:
        raise ValueError(f"Conv: weight rank {w.ndim} != input rank {x.ndim}")
    oc, cg = w.shape[:2]
    if kernel_shape is not None and list(kernel_shape) != list(w.shape[2:]):
        raise ValueError(f"Conv: kernel_shape {list(kernel_shape)} != weight shape {w.shape[2:]}")
    if x.shape[1] != cg * group or oc % group:
        raise ValueError(f"Conv: input channels {x.shape[1]}, weight {w.shape}, group {group} mismatch")
    g = _Win(x, list(w.shape[2:]), strides, pads, dilations, auto_pad, False, "Conv")
    w4 = w.reshape(oc, cg, g.kh, g.kw)
    xp = g.pad(g.as4d(x), 0.0)
    n = x.shape[0]
    if cg == 1 and group > 1:  # depthwise: per-tap multiply-accumulate, no dense matrix
        mult = oc // group
        if mult > 1:
            xp = np.repeat(xp, mult, axis=1)
        y = np.zeros((n, oc, g.ho, g.wo), F32)
        tmp = np.empty_like(y)
        for i in range(g.kh):
            for j in range(g.kw):
                np.multiply(g.tap(xp, i, j), w4[:, 0, i, j][None, :, None, None], out=tmp)
                y += tmp
    else:
        ocg, kg, hw = oc // group, cg * g.kh * g.kw, g.ho * g.wo
        wm = w4.reshape(group, ocg, kg)
        y = np.empty((n, group, ocg, hw), F32)
        s0, s1, s2, s3 = xp.strides
        for i in range(n):  # one frame at a time bounds the im2col buffer
            view = as_strided(xp[i], shape=(group, cg, g.kh, g.kw, g.ho, g.wo),
                              strides=(cg * s1, s1, g.dh * s2, g.dw * s3, g.sh * s2, g.sw * s3),
                              writeable=False)
            cols = view.astype(F32, order="C").reshape(group, kg, hw)
            np.matmul(wm, cols, out=y[i])
        y = y.reshape(n, oc, g.ho, g.wo)
    if b is not None:
        y += _f32(b).reshape(1, oc, 1, 1)
    return g.out(y)


def relu(x) -> np.ndarray:
    """ONNX Relu: ``max(x, 0)``, same shape and dtype."""
    x = np.asarray(x)
    return np.maximum(x, np.zeros((), x.dtype))


def max_pool(x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None, pads=None,
             storage_order=0, strides=None) -> np.ndarray:
    """ONNX MaxPool (output Y only; the optional Indices output is not supported).

    ``x`` float32 [N, C, (H,) W] -> [N, C, (Ho,) Wo]. Padding and the ceil_mode overhang are -inf.
    Raises ``ValueError`` on bad attributes, ``NotImplementedError`` for 3-D pooling.
    """
    x = _f32(x)
    g = _Win(x, kernel_shape, strides, pads, dilations, auto_pad, ceil_mode, "MaxPool")
    xp = g.pad(g.as4d(x), -np.inf)
    y = g.tap(xp, 0, 0).copy()
    for i in range(g.kh):
        for j in range(g.kw):
            if i or j:
                np.maximum(y, g.tap(xp, i, j), out=y)
    return g.out(y)


def average_pool(x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0,
                 dilations=None, pads=None, strides=None) -> np.ndarray:
    """ONNX AveragePool. ``x`` float32 [N, C, (H,) W] -> [N, C, (Ho,) Wo].

    The sum over real elements is divided by the window count of :func:`avg_pool_counts`: with
    ``count_include_pad`` padded positions inside the declared pads count, the ceil_mode overhang never
    does (onnxruntime). Raises ``ValueError`` on bad attributes, ``NotImplementedError`` for 3-D.
    """
    x = _f32(x)
    g = _Win(x, kernel_shape, strides, pads, dilations, auto_pad, ceil_mode, "AveragePool")
    xp = g.pad(g.as4d(x), 0.0)
    y = g.tap(xp, 0, 0).copy()
    for i in range(g.kh):
        for j in range(g.kw):
            if i or j:
                y += g.tap(xp, i, j)
    counts = avg_pool_counts(g.h, g.w, (g.kh, g.kw), (g.sh, g.sw), g.pads, bool(count_include_pad),
                             bool(ceil_mode), (g.dh, g.dw))
    y /= counts.astype(F32)
    return g.out(y)


def global_average_pool(x) -> np.ndarray:
    """ONNX GlobalAveragePool: mean over all spatial axes, kept as size 1 ([N, C, 1, 1] for 4-D)."""
    x = _f32(x)
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=F32)


def batch_normalization(x, scale, B, input_mean, input_var, *, epsilon=1e-5, momentum=0.9,
                        training_mode=0, spatial=1) -> np.ndarray:
    """ONNX BatchNormalization, inference only: ``(x - mean) / sqrt(var + epsilon) * scale + B``.

    ``x`` float32 [N, C, ...]; the four parameters are [C]. Raises ``NotImplementedError`` for
    ``training_mode != 0``.
    """
    if int(training_mode):
        raise NotImplementedError("BatchNormalization: training_mode is not supported")
    x = _f32(x)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (_f32(scale) / np.sqrt(_f32(input_var) + F32(epsilon))).reshape(shape)
    return (x - _f32(input_mean).reshape(shape)) * inv + _f32(B).reshape(shape)


def gemm(A, B, C=None, *, alpha=1.0, beta=1.0, transA=0, transB=0) -> np.ndarray:
    """ONNX Gemm: ``alpha * A' @ B' + beta * C`` with ``A'`` [M, K], ``B'`` [K, N] (after the optional
    transposes) and ``C`` unidirectionally broadcastable to [M, N]. Returns float32 [M, N]."""
    a, b = _f32(A), _f32(B)
    if int(transA):
        a = a.T
    if int(transB):
        b = b.T
    y = a @ b
    if alpha != 1.0:
        y *= F32(alpha)
    if C is not None and beta != 0.0:
        c = _f32(C)
        y += c if beta == 1.0 else F32(beta) * c
    return y


def matmul(a, b) -> np.ndarray:
    """ONNX MatMul (numpy ``matmul`` semantics, including batch broadcasting and 1-D operands)."""
    return np.matmul(a, b)


def add(a, b) -> np.ndarray:
    """ONNX Add with numpy broadcasting; dtype follows the inputs (float32 stays float32)."""
    return np.add(a, b)


def mul(a, b) -> np.ndarray:
    """ONNX Mul with numpy broadcasting; dtype follows the inputs."""
    return np.multiply(a, b)


def sum(*inputs) -> np.ndarray:  # noqa: A001 - the ONNX op name
    """ONNX Sum: elementwise sum of one or more inputs with numpy broadcasting."""
    if not inputs:
        raise ValueError("Sum needs at least one input")
    out = np.asarray(inputs[0])
    for t in inputs[1:]:
        out = np.add(out, t)
    return out


def concat(*inputs, axis) -> np.ndarray:
    """ONNX Concat along ``axis`` (negative allowed)."""
    return np.concatenate([np.asarray(t) for t in inputs], axis=int(axis))


def reshape(data, shape, *, allowzero=0) -> np.ndarray:
    """ONNX Reshape. ``shape`` int64 [R]: a 0 copies the input dimension at that index (unless
    ``allowzero``), a single -1 is inferred. Raises ``ValueError`` if the sizes do not match."""
    data = np.asarray(data)
    dims = [int(d) for d in np.asarray(shape).reshape(-1)]
    if not int(allowzero):
        for i, d in enumerate(dims):
            if d == 0:
                if i >= data.ndim:
                    raise ValueError(f"Reshape: 0 at index {i} but the input has rank {data.ndim}")
                dims[i] = data.shape[i]
    if dims.count(-1) > 1:
        raise ValueError(f"Reshape: more than one -1 in {dims}")
    try:
        return data.reshape(dims)
    except ValueError as e:
        raise ValueError(f"Reshape: cannot reshape {data.shape} to {dims}") from e


def flatten(x, *, axis=1) -> np.ndarray:
    """ONNX Flatten: 2-D [prod(d[:axis]), prod(d[axis:])]; ``axis`` in [-r, r]."""
    x = np.asarray(x)
    axis = int(axis)
    if not -x.ndim <= axis <= x.ndim:
        raise ValueError(f"Flatten: axis {axis} out of range for rank {x.ndim}")
    if axis < 0:
        axis += x.ndim
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), int(np.prod(x.shape[axis:], dtype=np.int64)))


def transpose(x, *, perm=None) -> np.ndarray:
    """ONNX Transpose (default: reverse the axes). Returns a contiguous array."""
    x = np.asarray(x)
    return np.ascontiguousarray(np.transpose(x, None if perm is None else [int(p) for p in perm]))


def _softmax_lastaxis(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def softmax(x, *, axis=None, opset: int = 13) -> np.ndarray:
    """ONNX Softmax. ``opset >= 13``: along ``axis`` (default -1). ``opset < 13``: the input is coerced
    to 2-D [prod(d[:axis]), prod(d[axis:])] (default axis 1) and normalized over the second dimension,
    as the old spec says. Returns float32 of the input shape."""
    x = _f32(x)
    if int(opset) >= 13:
        return _softmax_lastaxis(x, -1 if axis is None else int(axis))
    axis = 1 if axis is None else int(axis)
    if not -x.ndim <= axis <= x.ndim:
        raise ValueError(f"Softmax: axis {axis} out of range for rank {x.ndim}")
    if axis < 0:
        axis += x.ndim
    if x.size == 0:
        return x.copy()
    x2 = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
    return _softmax_lastaxis(x2, -1).reshape(x.shape)


def lrn(x, *, size, alpha=1e-4, beta=0.75, bias=1.0) -> np.ndarray:
    """ONNX LRN across channels: ``y = x / (bias + alpha / size * square_sum) ** beta`` where
    square_sum[c] sums x^2 over channels [c - floor((size-1)/2), c + ceil((size-1)/2)] (clipped).
    ``x`` float32 [N, C, ...]."""
    x = _f32(x)
    size = int(size)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = np.square(x)
    c = x.shape[1]
    padw = [(0, 0)] * x.ndim
    padw[1] = (lo, hi)
    sqp = np.pad(sq, padw)
    ss = np.zeros_like(x)
    for k in range(size):
        ss += sqp[:, k:k + c]
    return x / np.power(F32(bias) + F32(alpha) / F32(size) * ss, F32(beta))


def dropout(data, ratio=None, training_mode=None, *, seed=None) -> np.ndarray:
    """ONNX Dropout at inference: the identity on ``data`` (the optional mask output, if needed, is
    all True). Raises ``ValueError`` if ``training_mode`` is true (random: never run)."""
    if training_mode is not None and bool(np.asarray(training_mode)):
        raise ValueError("Dropout: training_mode is not supported (random)")
    return np.asarray(data)


def unsqueeze(data, axes=None) -> np.ndarray:
    """ONNX Unsqueeze: insert size-1 axes at ``axes`` (input since opset 13, attribute before; values
    may be negative, counted from the output rank). Raises ``ValueError`` on duplicates or out of
    range."""
    data = np.asarray(data)
    if axes is None:
        raise ValueError("Unsqueeze: axes is required")
    ax = [int(a) for a in np.asarray(axes).reshape(-1)]
    r = data.ndim + len(ax)
    norm = sorted(a + r if a < 0 else a for a in ax)
    if any(not 0 <= a < r for a in norm) or len(set(norm)) != len(norm):
        raise ValueError(f"Unsqueeze: invalid axes {ax} for output rank {r}")
    return np.expand_dims(data, tuple(norm))


def constant_of_shape(shape, *, value=None) -> np.ndarray:
    """ONNX ConstantOfShape: an array of ``shape`` (int64 1-D) filled with the single element of
    ``value`` (a 1-element tensor, its dtype kept; default float32 0)."""
    dims = [int(d) for d in np.asarray(shape).reshape(-1)]
    if value is None:
        return np.zeros(dims, F32)
    v = np.asarray(value)
    if v.size != 1:
        raise ValueError(f"ConstantOfShape: value must have one element, got {v.size}")
    return np.full(dims, v.reshape(-1)[0], dtype=v.dtype)
