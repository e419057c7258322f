"""Sliding-window geometry shared by the integer kernels (ONNX Conv / Pool rules, HWC layout).

Pure numpy. :func:`output_size` is the ONNX output-length formula (with ceil_mode); ``Geom`` holds one
window's kernel, strides, dilations and the padding the windows actually reach, and gives padded
copies, per-tap views and strided window views of an HWC frame. The ``check_*`` helpers validate
kernel operands with ``ValueError`` messages that name the operand.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .quantization import INT8_MAX, INT8_MIN

__all__ = ["output_size", "Geom", "pair", "quad", "check_int8", "check_zp"]

def output_size(in_size: int, kernel: int, stride: int = 1, pad_begin: int = 0, pad_end: int = 0,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a sliding window along one axis (the ONNX Conv / Pool formula).

    ``floor_or_ceil((in + pad_begin + pad_end - (dilation * (kernel - 1) + 1)) / stride) + 1``. With
    ``ceil_mode`` a last window that would start in the right padding (start >= in + pad_begin) is
    dropped, as ONNX (opset >= 19 text) and onnxruntime define it.

    Raises ``ValueError`` for a non-positive kernel / stride / dilation, negative pads, or a window
    larger than the padded input.
    """
    in_size, kernel, stride = int(in_size), int(kernel), int(stride)
    pad_begin, pad_end, dilation = int(pad_begin), int(pad_end), int(dilation)
    if kernel < 1 or stride < 1 or dilation < 1:
        raise ValueError(f"kernel ({kernel}), stride ({stride}) and dilation ({dilation}) must be >= 1")
    if pad_begin < 0 or pad_end < 0:
        raise ValueError(f"pads must be >= 0, got ({pad_begin}, {pad_end})")
    eff = dilation * (kernel - 1) + 1
    span = in_size + pad_begin + pad_end - eff
    if span < 0:
        raise ValueError(f"window of extent {eff} does not fit the padded input of size "
                         f"{in_size + pad_begin + pad_end}")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= in_size + pad_begin:
        out -= 1
    return out


def pair(v, name: str) -> tuple[int, int]:
    """``v`` (an int or a 2-sequence) as an (h, w) pair of ints; ``ValueError`` naming ``name`` else."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    t = tuple(int(a) for a in v)
    if len(t) != 2:
        raise ValueError(f"{name} must have 2 values, got {t}")
    return t


def quad(v) -> tuple[int, int, int, int]:
    """Pads ``v`` (an int or (top, left, bottom, right)) as 4 ints >= 0; ``ValueError`` otherwise."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * 4
    t = tuple(int(a) for a in v)
    if len(t) != 4:
        raise ValueError(f"pads must be (top, left, bottom, right), got {t}")
    if min(t) < 0:
        raise ValueError(f"pads must be >= 0, got {t}")
    return t


class Geom:
    """Sliding-window geometry over an H x W input (all values plain ints).

    ``Geom(h, w, kernel, strides, pads, dilations, ceil_mode)``: ``pads`` = (top, left, bottom,
    right); raises ``ValueError`` like :func:`output_size`. ``ho`` / ``wo`` are the output size and
    ``pt, pl, pb, pr`` the padding the windows reach.
    """

    __slots__ = ("kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "pb", "pr", "ho", "wo")

    def __init__(self, h, w, kernel, strides, pads, dilations, ceil_mode):
        self.kh, self.kw = pair(kernel, "kernel")
        self.sh, self.sw = pair(strides, "strides")
        self.dh, self.dw = pair(dilations, "dilations")
        pt, pl, pb, pr = quad(pads)
        self.ho = output_size(h, self.kh, self.sh, pt, pb, self.dh, ceil_mode)
        self.wo = output_size(w, self.kw, self.sw, pl, pr, self.dw, ceil_mode)
        # the padding the windows actually reach (ceil_mode may reach past the declared pads; floor
        # mode may leave trailing rows unused)
        need_h = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        need_w = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1
        self.pt, self.pl = pt, pl
        self.pb = max(need_h - pt - h, 0)
        self.pr = max(need_w - pl - w, 0)

    def pad(self, x: np.ndarray, value) -> np.ndarray:
        """Pad the H and W axes (the last-but-one two) of ``x`` with ``value``."""
        if not (self.pt or self.pl or self.pb or self.pr):
            return x
        h, w = x.shape[-3], x.shape[-2]
        out = np.full(x.shape[:-3] + (h + self.pt + self.pb, w + self.pl + self.pr, x.shape[-1]),
                      value, dtype=x.dtype)
        out[..., self.pt:self.pt + h, self.pl:self.pl + w, :] = x
        return out

    def tap(self, xp: np.ndarray, i: int, j: int) -> np.ndarray:
        """View of the padded input seen by kernel tap (i, j): [..., Ho, Wo, C]."""
        h0, w0 = i * self.dh, j * self.dw
        return xp[..., h0:h0 + (self.ho - 1) * self.sh + 1:self.sh,
                  w0:w0 + (self.wo - 1) * self.sw + 1:self.sw, :]

    def windows(self, xp: np.ndarray) -> np.ndarray:
        """Read-only strided view [Ho, Wo, KH, KW, C] of a padded HWC array (no copy)."""
        s0, s1, s2 = xp.strides
        return as_strided(xp, shape=(self.ho, self.wo, self.kh, self.kw, xp.shape[2]),
                          strides=(self.sh * s0, self.sw * s1, self.dh * s0, self.dw * s1, s2),
                          writeable=False)


def check_int8(x: np.ndarray, name: str, ndim: int) -> np.ndarray:
    """``x`` as an array, or ``ValueError`` naming ``name`` unless it is int8 of rank ``ndim``."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ValueError(f"{name} must be int8, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim}, got shape {x.shape}")
    return x


def check_zp(zp) -> int:
    """A zero point as an int, or ``ValueError`` unless it lies in [-128, 127]."""
    zp = int(zp)
    if not INT8_MIN <= zp <= INT8_MAX:
        raise ValueError(f"zero point {zp} outside [-128, 127]")
    return zp

