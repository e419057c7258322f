"""The ``onnx-to-aipu-pipeline``: the compiler configuration turned into the exact pass pipeline.

``ax-compile`` imports the model (the only step that is not a pass), then runs
:func:`pipeline_spec` through xDSL's pass manager. ``ax-compile --print-pipeline`` prints the same
string wrapped in ``builtin.module(...)``, so ``ax-opt model.mlir --pass-pipeline=...`` from the
onnx level gives the same aipu IR as ``ax-compile --emit aipu``.

Levels and the passes that end them::

    onnx  -> graph passes, onnx-calibrate, onnx-place
    quant -> convert-onnx-to-quant
    tile  -> convert-quant-to-tile, tile-plan-memory
    aipu  -> convert-tile-to-aipu

``aipu_cores_used`` = x selects the multi-core mode of the configuration reference: 1 is Batch-1
(one core's program; the runtime may run copies of it, one per core), x > 1 is Batch-x
(``tile-plan-memory{cores=x}`` plans x copies of the per-core buffers in the shared budget and
``convert-tile-to-aipu{cores=x}`` emits x task lists that run x frames at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline

from axc.dialects import ALL_DIALECTS
from axc.lowering.pipelines import ONNX_GRAPH_PASSES
from axc.passes import ALL_PASSES
from axc.runtime.hardware import AIPU_V1, Hardware

LEVELS = ("onnx", "quant", "tile", "aipu")

#: memory pool -> the home space of its buffers at the tile level; an L1 home is not implemented
#: (every op stages its working set into L1 by DMA), so ``global.l1`` pools are homed in L2 and
#: ax-compile says so (config/effects.py, VALUES_NOT_ACTED_ON)
_POOL = {"global.ddr": "ddr", "global.l2": "l2", "global.l1": "l2"}

#: Graph passes of the onnx level, in order (lowering/pipelines.py holds the one list).
#: rewrite_dense_to_conv2d=false drops the dense rewrite (Gemm/MatMul then run on the host).
GRAPH_PASSES = tuple(ONNX_GRAPH_PASSES.split(","))


@dataclass(frozen=True)
class Stage:
    """One pass of the pipeline: its textual spec and the level its output is at."""

    spec: str
    level: str


def _opt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return str(value)


def _with_options(name: str, options: dict[str, Any]) -> str:
    if not options:
        return name
    return name + "{" + " ".join(f"{k}={_opt(v)}" for k, v in options.items()) + "}"


def hardware_from_config(cfg: Any) -> Hardware:
    """The hardware figures of a CompilerConfig: memory sizes, resources_used, cores, frequency."""
    return AIPU_V1.with_(
        frequency_hz=cfg.frequency,
        l1_size=cfg.l1_size_used,
        l1_reserved=cfg.l1_size_reserved,
        l2_size=cfg.l2_size_used,
        l2_reserved=cfg.l2_size_reserved,
        l2_tasklist_per_core=cfg.l2_size_reserved_tasklist,
        ddr_size=cfg.ddr_size_used,
        ddr_reserved=cfg.ddr_size_reserved,
        resources_used=cfg.resources_used,
        cores_used=cfg.aipu_cores_used,
    )


def memory_budgets(cfg: Any) -> dict[str, int]:
    """L1 / L2 / DDR bytes the compiler may use: the :class:`Hardware` budgets of the configuration,
    capped by ``l1_constraint`` / ``l2_constraint`` / ``ddr_constraint`` when given."""
    hw = hardware_from_config(cfg)
    budgets = {"l1": hw.l1_budget, "l2": hw.l2_budget, "ddr": hw.ddr_budget}
    for space, cap in (("l1", cfg.l1_constraint), ("l2", cfg.l2_constraint), ("ddr", cfg.ddr_constraint)):
        if cap is not None:
            budgets[space] = min(budgets[space], cap)
    return budgets


def place_options(cfg: Any, cpu_fallback_ops: Sequence[str] = ()) -> dict[str, Any]:
    """``onnx-place`` options of a configuration: the graph cleaner (``run_graph_cleaner`` and the
    ``graph_cleaner_*`` properties; nothing of it when the cleaner is off) and the CPU fallback."""
    opts: dict[str, Any] = {}
    if cpu_fallback_ops:
        opts["cpu-fallback-ops"] = ",".join(cpu_fallback_ops)
    if not getattr(cfg, "run_graph_cleaner", False):
        return opts
    if cfg.graph_cleaner_split_pre_post_processing:
        opts["split-pre-post"] = True
    if cfg.graph_cleaner_node is not None or cfg.graph_cleaner_condition is not None:
        opts["cleaner-node"] = str(getattr(cfg.graph_cleaner_node, "value", cfg.graph_cleaner_node or ""))
        opts["cleaner-condition"] = str(getattr(cfg.graph_cleaner_condition, "value", cfg.graph_cleaner_condition or ""))
        opts["cleaner-threshold"] = cfg.graph_cleaner_threshold
    if cfg.graph_cleaner_dump_core_onnx:
        opts["dump-core-onnx"] = str(Path(cfg.graph_cleaner_dump_core_onnx).resolve())
    return opts


def import_options(cfg: Any) -> dict[str, Any]:
    """``import_onnx`` keyword arguments of a configuration: shape folding when the graph cleaner
    runs (``run_graph_cleaner``), and its ``graph_cleaner_dump_full_opt_onnx`` file."""
    if cfg is None or not getattr(cfg, "run_graph_cleaner", True):
        return {"fold": False}
    return {"fold": True, "dump_folded": cfg.graph_cleaner_dump_full_opt_onnx}


def pipeline_stages(
    cfg: Any, calibration_data: str | Path | None, frames: int = 8, seed: int = 0,
    cpu_fallback_ops: Sequence[str] = (),
) -> list[Stage]:
    """The passes ``ax-compile`` runs from the imported onnx IR to the aipu IR, from a CompilerConfig.

    ``calibration_data`` (an .npz keyed by ONNX input names) enters as an option of
    ``onnx-calibrate``; without it, calibration uses ``frames`` seeded random frames.
    ``cpu_fallback_ops`` (ONNX op types) are forced to the host by ``onnx-place``.
    """
    place_opts = place_options(cfg, cpu_fallback_ops)
    place = _with_options("onnx-place", place_opts)
    # the ops forced to the host are marked before the graph passes, so that the dense rewrite keeps
    # them Gemm / MatMul; the placement itself is decided after calibration, on the final graph
    stages = [Stage(_with_options("onnx-place", {**place_opts, "forced-only": True}), "onnx")] if place_opts else []
    stages += [Stage(p, "onnx") for p in GRAPH_PASSES if p != "onnx-rewrite-dense-to-conv2d" or cfg.rewrite_dense_to_conv2d]
    scheme = cfg.quantization_scheme
    scheme = getattr(scheme, "value", scheme)
    if scheme == "hybrid_per_tensor_per_channel":  # activations per-tensor histogram (no depthwise per-channel yet)
        scheme = "per_tensor_histogram"
    cal: dict[str, Any] = {}
    if calibration_data is not None:
        cal["calibration-data"] = str(Path(calibration_data).resolve())
    cal.update({"frames": frames, "seed": seed, "scheme": scheme})
    stages.append(Stage(_with_options("onnx-calibrate", cal), "onnx"))
    stages.append(Stage(place, "onnx"))
    stages.append(Stage("convert-onnx-to-quant", "quant"))
    mem = memory_budgets(cfg)
    tiling: dict[str, Any] = {
        "l1-bytes": mem["l1"],
        "pword": 64 if cfg.apply_pword_padding else 1,
        "max-tiling-attempts": cfg.max_tiling_attempts,
    }
    if cfg.force_h_tiling is not None:
        tiling["force-h-tiling"] = cfg.force_h_tiling
    if cfg.force_oc_tiling is not None:
        tiling["force-oc-tiling"] = cfg.force_oc_tiling
    tiling["io-pool"] = _POOL[str(getattr(cfg.io_memory_pool, "value", cfg.io_memory_pool))]
    tiling["constant-pool"] = _POOL[str(getattr(cfg.constant_memory_pool, "value", cfg.constant_memory_pool))]
    tiling["workspace-pool"] = _POOL[str(getattr(cfg.workspace_memory_pool, "value", cfg.workspace_memory_pool))]
    stages.append(Stage(_with_options("convert-quant-to-tile", tiling), "tile"))
    plan = {
        "l1-bytes": mem["l1"],
        "l2-bytes": mem["l2"],
        "ddr-bytes": mem["ddr"],
        "buffer-promotion": cfg.enable_buffer_promotion,
        "max-memplan-attempts": cfg.max_memplan_attempts,
        "cores": cfg.aipu_cores_used,  # Batch-x: x cores share the L2 / DDR budget (1: Batch-1)
    }
    stages.append(Stage(_with_options("tile-plan-memory", plan), "tile"))
    stages.append(
        Stage(
            _with_options(
                "convert-tile-to-aipu",
                {
                    "cores": cfg.aipu_cores_used,
                    "frequency": cfg.frequency,
                    "dual-channel": cfg.dma_dual_channel,
                    "l1-bytes": mem["l1"],
                    "l2-bytes": mem["l2"],
                    "ddr-bytes": mem["ddr"],
                },
            ),
            "aipu",
        )
    )
    return stages


def pipeline_text(stages: list[Stage]) -> str:
    """``builtin.module(a,b{x=1},...)``: the MLIR-style pipeline that ``ax-opt --pass-pipeline`` takes."""
    return "builtin.module(" + ",".join(s.spec for s in stages) + ")"


def stages_until(stages: list[Stage], level: str) -> list[Stage]:
    """The prefix of ``stages`` whose output is at ``level`` (all passes of that level included)."""
    last = max((i for i, s in enumerate(stages) if s.level == level), default=-1)
    return stages[: last + 1]


def make_context() -> Context:
    """A Context with builtin, func, arith and every axc dialect loaded."""
    from xdsl.dialects import arith, builtin, func

    ctx = Context()
    for d in (builtin.Builtin, func.Func, arith.Arith):
        ctx.load_dialect(d)
    for name, factory in ALL_DIALECTS.items():
        ctx.register_dialect(name, factory)
    return ctx


def run_stages(ctx: Context, module: ModuleOp, stages: list[Stage]) -> None:
    """Apply the stages in order with xDSL's pass manager (verifying after each pass)."""
    if not stages:
        return
    spec = ",".join(s.spec for s in stages)
    PassPipeline.parse_spec(dict(ALL_PASSES), spec, lambda prev, mod, nxt: mod.verify()).apply(ctx, module)
