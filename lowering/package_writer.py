"""Write the compiled package of an aipu-level module (what ``ax-compile`` calls last).

:func:`write_package` = :func:`axc.lowering.aipu_asm.package_contents` (assembly, constants, host
segments as ONNX models) + the configuration used + :func:`axc.runtime.package.save_package`
(atomic write, validated first).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from axc.lowering.aipu_asm import package_contents
from axc.lowering.onnx_place import read_summary
from axc.runtime.package import save_package

__all__ = ["write_package", "configuration_dict"]


def configuration_dict(cfg: Any) -> dict[str, Any]:
    """The configuration as a JSON-ready dict (a pydantic model, a dict, or None)."""
    if cfg is None:
        return {}
    if isinstance(cfg, dict):
        return dict(cfg)
    dump = getattr(cfg, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"cannot record a configuration of type {type(cfg).__name__}")


def write_package(path: str | Path, module: ModuleOp, cfg: Any = None, source_model: str | Path | None = None) -> Path:
    """Write the package of ``module`` (one ``aipu.program``) to ``path`` atomically; returns the path.

    ``cfg``: the compiler configuration used (recorded in the manifest); ``source_model``: the ONNX
    file compiled (its name and sha256 are recorded). Raises
    :class:`~axc.runtime.errors.PackageError` / :class:`~axc.runtime.errors.CompileError`.
    """
    contents = package_contents(module, configuration_dict(cfg))
    contents.placement = read_summary(module)
    if source_model is not None:
        p = Path(source_model)
        contents.source = {"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} if p.is_file() \
            else {"file": p.name}
    return save_package(path, contents)
