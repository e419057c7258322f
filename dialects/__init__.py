"""axc dialects: ``onnx`` (float graph), ``quant`` (int8 graph), ``tile`` (schedule), ``aipu`` (ISA).

``ALL_DIALECTS`` maps each dialect name to a factory that imports it on demand; it is exposed to
``xdsl-opt`` through the ``xdsl.universe`` entry point (``axc.tools.universe``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.ir import Dialect

_DIALECTS: dict[str, tuple[str, str]] = {
    "onnx": ("axc.dialects.onnx", "ONNX"),
    "quant": ("axc.dialects.quant", "QUANT"),
    "tile": ("axc.dialects.tile", "TILE"),
    "aipu": ("axc.dialects.aipu", "AIPU"),
}


def _factory(module: str, attr: str) -> Callable[[], Dialect]:
    def load() -> Dialect:
        return getattr(importlib.import_module(module), attr)

    return load


ALL_DIALECTS: dict[str, Callable[[], Dialect]] = {
    name: _factory(mod, attr) for name, (mod, attr) in _DIALECTS.items()
}
