"""Compile an ONNX file to an AIPU package in one call, keeping the quant-level module as a reference.

For benchmarks and tests that compare the runtime with the quant interpreter: the same stages as
``ax-compile`` (:func:`axc.lowering.compile_pipeline.pipeline_stages`), with a copy of the module
taken after the last quant-level pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from axc.config import CompilerConfig

from .compile_pipeline import import_options, make_context, pipeline_stages, run_stages, stages_until
from .onnx_importer import import_onnx
from .package_writer import write_package

__all__ = ["CompiledModel", "compile_model"]


@dataclass
class CompiledModel:
    """``package``: the package folder written; ``quant_module``: the module at the quant level;
    ``module``: the module at the aipu level."""

    package: Path
    quant_module: ModuleOp
    module: ModuleOp


def compile_model(model: str | Path, package: str | Path, cfg: CompilerConfig | None = None,
                  calibration_data: str | None = None,
                  input_shapes: Mapping[str, Sequence[int]] | None = None) -> CompiledModel:
    """Import ``model`` (an ONNX file), run the configuration's pipeline (calibrating on
    ``calibration_data``, an .npz, or on seeded random frames when None) and write the package to
    ``package`` atomically. ``input_shapes`` are those of ``ax-compile --input-shape``. Raises :class:`~axc.runtime.errors.ModelError` for a bad model,
    :class:`~axc.runtime.errors.CompileError` for a model that does not fit, and xDSL's
    ``PassFailedException`` / ``VerifyException`` for a failed pass (``ax-compile`` turns each into a
    one-line error).
    """
    cfg = cfg or CompilerConfig()
    stages = pipeline_stages(cfg, calibration_data)
    module = import_onnx(model, input_shapes, **import_options(cfg))
    ctx = make_context()
    quant_stages = stages_until(stages, "quant")
    run_stages(ctx, module, quant_stages)
    quant_module = module.clone()
    run_stages(ctx, module, stages[len(quant_stages):])
    path = write_package(package, module, cfg, source_model=model)
    return CompiledModel(Path(path), quant_module, module)
