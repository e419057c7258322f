"""Real images for the real-weight models: scikit-image's data module, resized and normalised the way
each model's own package does it.

``load_image("page_line2@rot180")`` -> uint8 RGB (H, W, 3): a named image of :data:`IMAGES` (the
photos and scans that ship inside scikit-image, no download, and crops of them), optionally rotated
by 90 / 180 / 270 degrees counter-clockwise. Grey images are repeated on three channels.

``preprocess(rgb, shape, options)`` -> float32 array of ``shape`` (batch 1) in the model's layout;
the options are the ``preprocess`` table of models.toml (its header explains each key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["IMAGES", "load_image", "preprocess", "frames"]


def _data(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _crop(name: str, rows: tuple[int, int], cols: tuple[int, int]) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        return _data(name)()[rows[0]:rows[1], cols[0]:cols[1]]

    return load


#: name -> loader of a uint8 image (grey or RGB). Photos: astronaut (a face), coffee, chelsea (a
#: cat), rocket, camera (grey). Scans: page (a printed page, 191 x 384), text (handwriting on a
#: slant, 172 x 448). Line crops of page (rows from its dark-pixel row profile) feed the text-line
#: models; astronaut_face is the face of astronaut (for the MTCNN refinement nets).
IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _data("astronaut"),
    "coffee": _data("coffee"),
    "chelsea": _data("chelsea"),
    "rocket": _data("rocket"),
    "camera": _data("camera"),
    "page": _data("page"),
    "text": _data("text"),
    "page_left": _crop("page", (0, 191), (0, 256)),
    "page_title": _crop("page", (8, 42), (0, 300)),
    "page_line1": _crop("page", (44, 66), (0, 132)),
    "page_line2": _crop("page", (64, 85), (0, 132)),
    "page_line3": _crop("page", (83, 103), (0, 132)),
    "page_line4": _crop("page", (100, 121), (0, 132)),
    "page_line5": _crop("page", (118, 140), (0, 132)),
    "astronaut_face": _crop("astronaut", (40, 190), (165, 315)),
}


def load_image(spec: str) -> np.ndarray:
    """``NAME`` or ``NAME@rotK`` (K in 90, 180, 270: counter-clockwise) -> uint8 RGB (H, W, 3).

    Raises KeyError naming the unknown image or rotation and listing the known names.
    """
    name, _, rot = spec.partition("@")
    if name not in IMAGES:
        raise KeyError(f"unknown image {name!r}; known: {', '.join(IMAGES)}")
    img = np.asarray(IMAGES[name](), dtype=np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = img[:, :, :3]
    if rot:
        turns = {"rot90": 1, "rot180": 2, "rot270": 3}.get(rot)
        if turns is None:
            raise KeyError(f"image {spec!r}: unknown rotation {rot!r} (rot90, rot180, rot270)")
        img = np.rot90(img, turns)
    return np.ascontiguousarray(img)


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize (anti-aliased when shrinking) of a float (H, W, 3) image in pixel units."""
    from skimage.transform import resize

    h, w = max(int(h), 1), max(int(w), 1)
    if img.shape[:2] == (h, w):
        return img
    return resize(img, (h, w, img.shape[2]), order=1, preserve_range=True,
                  anti_aliasing=h < img.shape[0] or w < img.shape[1])


def _center_crop(img: np.ndarray, h: int, w: int) -> np.ndarray:
    y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return img[y0:y0 + h, x0:x0 + w]


def _fit(img: np.ndarray, h: int, w: int, opts: Mapping[str, Any]) -> np.ndarray:
    """The image resized to (h, w) by the ``resize`` mode of ``opts`` (float, pixel units)."""
    mode = opts.get("resize", "stretch")
    pad = float(opts.get("pad", 0.0))
    ih, iw = img.shape[:2]
    if mode == "stretch":
        return _resize(img, h, w)
    if mode == "letterbox":
        r = min(h / ih, w / iw)
        nh, nw = min(h, round(ih * r)), min(w, round(iw * r))
        out = np.full((h, w, 3), pad, dtype=np.float64)
        y0, x0 = ((h - nh) // 2, (w - nw) // 2) if opts.get("align", "topleft") == "center" else (0, 0)
        out[y0:y0 + nh, x0:x0 + nw] = _resize(img, nh, nw)
        return out
    if mode == "height":
        nw = min(w, int(np.ceil(h * iw / ih)))
        out = np.full((h, w, 3), pad, dtype=np.float64)
        out[:, :nw] = _resize(img, h, nw)
        return out
    crop = float(opts.get("crop", 0.875))
    if mode == "short-crop":
        s = max(h, w) / crop / min(ih, iw)
        return _center_crop(_resize(img, max(h, round(ih * s)), max(w, round(iw * s))), h, w)
    if mode == "stretch-crop":
        return _center_crop(_resize(img, round(h / crop), round(w / crop)), h, w)
    raise ValueError(f"unknown resize mode {mode!r} (stretch, letterbox, height, short-crop, stretch-crop)")


def preprocess(rgb: np.ndarray, shape: Sequence[int], opts: Mapping[str, Any]) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> float32 ``shape`` (batch 1) as the model's package prepares it.

    Layout NCHW: shape (1, 3, H, W); NHWC: (1, H, W, 3); NWHC: (1, W, H, 3) (NHWC of the transposed
    image, MTCNN's convention). Pixels go through the resize mode in 0..255 units, then the channel
    order ``color`` (RGB or BGR), then x = (pixel * scale - mean[c]) / std[c]. Raises ValueError for
    an unknown layout, colour or resize mode, or a shape that is not batch 1 with 3 channels.
    """
    layout = opts.get("layout", "NCHW")
    shape = tuple(int(d) for d in shape)
    if len(shape) != 4 or shape[0] != 1:
        raise ValueError(f"expected a batch-1 4-D input shape, got {shape}")
    if layout == "NCHW":
        c, h, w = shape[1:]
    elif layout == "NHWC":
        h, w, c = shape[1:]
    elif layout == "NWHC":
        w, h, c = shape[1:]
    else:
        raise ValueError(f"unknown layout {layout!r} (NCHW, NHWC, NWHC)")
    if c != 3:
        raise ValueError(f"expected 3 channels, got shape {shape} for layout {layout}")
    x = _fit(np.asarray(rgb, dtype=np.float64), h, w, opts)
    color = opts.get("color", "RGB")
    if color == "BGR":
        x = x[:, :, ::-1]
    elif color != "RGB":
        raise ValueError(f"unknown color {color!r} (RGB, BGR)")
    mean = np.asarray(opts.get("mean", [0.0] * 3), dtype=np.float64)
    std = np.asarray(opts.get("std", [1.0] * 3), dtype=np.float64)
    x = (x * float(opts.get("scale", 1.0)) - mean) / std
    if layout == "NCHW":
        x = x.transpose(2, 0, 1)
    elif layout == "NWHC":
        x = x.transpose(1, 0, 2)
    return np.ascontiguousarray(x[None], dtype=np.float32)


def frames(specs: Sequence[str], shape: Sequence[int], opts: Mapping[str, Any]) -> np.ndarray:
    """The named images preprocessed and stacked on axis 0: float32 (len(specs), *shape[1:])."""
    return np.concatenate([preprocess(load_image(s), shape, opts) for s in specs], axis=0)
