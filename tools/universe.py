"""The ``xdsl.universe`` entry point: axc's dialects, passes and targets for any xDSL tool.

Declared in pyproject.toml as ``axc = "axc.tools.universe:AXC_UNIVERSE"``, so once the project is
installed, plain ``xdsl-opt -p convert-onnx-to-quant`` and ``xdsl-opt -t aipu-asm`` work. Everything
is imported lazily, on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.universe import Universe
from xdsl.utils.target import Target

from axc.dialects import ALL_DIALECTS
from axc.passes import ALL_PASSES

_TARGETS: dict[str, tuple[str, str]] = {
    "aipu-asm": ("axc.lowering.aipu_asm", "AipuAsmTarget"),
}


def _target_factory(module: str, cls: str) -> Callable[[], type[Target]]:
    def load() -> type[Target]:
        return getattr(importlib.import_module(module), cls)

    return load


AXC_UNIVERSE = Universe(
    all_dialects=dict(ALL_DIALECTS),
    all_passes=dict(ALL_PASSES),
    all_targets={name: _target_factory(m, c) for name, (m, c) in _TARGETS.items()},
)
