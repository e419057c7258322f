"""What each property controls in axc, and which properties axc accepts but does not act on yet.

``PROPERTY_EFFECTS[key]`` names the pass (and its option) or the component a property controls;
for a property in ``NOT_ACTED_ON`` it names what the property is meant to control. The compiler
reads only the properties outside ``NOT_ACTED_ON``; the others are validated and recorded (in the
package's configuration) so that configurations written for the reference compiler load unchanged.
"""

from __future__ import annotations

from axc.config.schema import property_names

PROPERTY_EFFECTS: dict[str, str] = {
    # graph rewrites
    "apply_pword_padding": "convert-quant-to-tile{pword}: 64 (the PWORD) when on, 1 when off",
    "rewrite_concat_to_resadd": "onnx level rewrite of Concat into padded, shifted residual adds",
    "rewrite_dense_to_conv2d": (
        "onnx-rewrite-dense-to-conv2d: in the pipeline when on; off, Gemm/MatMul run on the host"
    ),
    "remove_io_padding_and_layout_transform": (
        "package I/O: drop input padding / layout transforms (host pre-processing does them)"
    ),
    "apply_arithmetic_simplification": "onnx level fast-math simplifications",
    "simplify_mac_before_after_lut": "quant level folding of multiply-adds around LUT activations",
    "validate_operators": "importer check that every operator is supported by the AIPU",
    # general
    "output_dir": "ax-compile: directory for the compiler's outputs and artifacts",
    "remove_output_dir": "ax-compile: clean output_dir before compiling",
    "compiler_dir": "location of the compiler's own resources",
    "compiler_mode": "ax-compile: which stages run (quantize_and_lower, quantize_only, lower_only)",
    "model_name": "ax-compile: model name in logs and in the package manifest",
    # quantization
    "onnx_opset_version": "PyTorch -> ONNX export opset (axc reads ONNX directly)",
    "quantization_debug": "dump the quantized model for accuracy debugging",
    "quantization_scheme": (
        "onnx-calibrate{scheme}: activation observer (per_tensor_min_max: min-max, "
        "per_tensor_histogram: histogram)"
    ),
    "model_debug_save_dir": "directory for quantization debug dumps",
    "quantize_dw_channel_wise": (
        "convert-onnx-to-quant: per-channel quantization of depthwise convolutions"
    ),
    "quantized_graph_export": "export the quantized graph as JSON",
    "remove_io_quantization": "package I/O: drop input quantization / output dequantization",
    # graph cleaner
    "run_graph_cleaner": (
        "import: shape arithmetic folded (fold_graph); off, none of the graph_cleaner_* options apply"
    ),
    "graph_cleaner_split_pre_post_processing": (
        "onnx-place{split-pre-post}: ops with no MAC op before them (pre-processing) or after them "
        "(post-processing) run on the host"
    ),
    "graph_cleaner_condition": "onnx-place{cleaner-condition}: which weight size the threshold bounds",
    "graph_cleaner_node": "onnx-place{cleaner-node}: the op type the condition applies to",
    "graph_cleaner_threshold": (
        "onnx-place{cleaner-threshold}: ops of graph_cleaner_node whose weight exceeds it run on the host"
    ),
    "graph_cleaner_dump_core_onnx": "onnx-place{dump-core-onnx}: the AIPU-placed ops as an ONNX file",
    "graph_cleaner_dump_full_opt_onnx": "import: the folded (optimized) ONNX model before placement, as a file",
    "remove_layout_transform_from_preamble": "drop an NHWC layout transform at the model input",
    # scheduling
    "pipeline_spatial_tiles": "tile level scheduling: software pipeline across height tiles",
    "pipeline_channel_tiles": (
        "tile level scheduling: software pipeline across output-channel tiles"
    ),
    "inter_operator_async": "tile level scheduling: asynchronous operators",
    "use_list_scheduler": "tile level scheduling: resource-aware list scheduler",
    "unroll_prologue_epilogue": "tile level scheduling: unroll pipeline prologue / epilogue",
    "use_hw_tokens": "convert-tile-to-aipu: hardware tokens for synchronization",
    "group_ifdw_tasks": "tile level scheduling: hoist and group weight loads (IFDW)",
    "double_buffer": "runtime: double-buffered host <-> device I/O",
    # tiling and memory planning
    "max_memplan_attempts": "tile-plan-memory{max-memplan-attempts}",
    "max_tiling_attempts": "convert-quant-to-tile{max-tiling-attempts}",
    "force_h_tiling": "convert-quant-to-tile{force-h-tiling}: fixed number of height tiles",
    "force_oc_tiling": (
        "convert-quant-to-tile{force-oc-tiling}: fixed number of output-channel tiles"
    ),
    "tiling_depth": "depth-first (fused) tiling across consecutive operators",
    "dfs_search_constraint": "depth-first tiling: limit of the search space",
    # memory placement
    "enable_buffer_promotion": (
        "tile-plan-memory{buffer-promotion}: promote buffers DDR -> L2 -> L1"
    ),
    "split_buffer_promotion": "tile-plan-memory: promote to L1 and L2 in two passes",
    "io_memory_pool": (
        "convert-quant-to-tile{io-pool}: initial memory space of input/output buffers"
    ),
    "constant_memory_pool": (
        "convert-quant-to-tile{constant-pool}: initial memory space of constants"
    ),
    "workspace_memory_pool": (
        "convert-quant-to-tile{workspace-pool}: initial memory space of workspace buffers"
    ),
    "l1_constraint": (
        "memory budget: caps convert-quant-to-tile{l1-bytes} and tile-plan-memory{l1-bytes}"
    ),
    "l2_constraint": "memory budget: caps tile-plan-memory{l2-bytes}",
    "ddr_constraint": "memory budget: caps tile-plan-memory{ddr-bytes}",
    "use_sysdma": "convert-tile-to-aipu: system DMA for DDR -> L2 weight transfers",
    "ignore_weight_buffers": (
        "convert-quant-to-tile: leave weight buffers out of the tiling decision"
    ),
    "dma_dual_channel": "convert-tile-to-aipu{dual-channel}: two DMA channels (cycle model)",
    "dpu_constants_home": "convert-tile-to-aipu: memory space of DPU constants",
    "dpu_instructions_home": "convert-tile-to-aipu: memory space of DPU instructions",
    "dwpu_instructions_home": "convert-tile-to-aipu: memory space of DWPU instructions",
    "page_memory": "tile-plan-memory: paged L2 / DDR allocation",
    "elf_in_ddr": "package: the program (ELF) in DDR instead of L2",
    "l2_reserved_nbytes_tasklist": (
        "tile-plan-memory: L2 bytes reserved for the program when it is in L2"
    ),
    "stream_tasklist": "runtime: stream the task list into AIPU memory in chunks",
    # compute units
    "mvm_utilization_limit": "convert-tile-to-aipu: fraction of the MVM array used",
    "enable_icr": (
        "convert-tile-to-aipu: in-core replication of weights for small output-channel counts"
    ),
    "icrx_force": "convert-tile-to-aipu: forced ICR factor",
    "icrx_parallel_block_threshold": "convert-tile-to-aipu: ICR parallel-block limit",
    "icrx_max_factor": "convert-tile-to-aipu: maximum ICR factor along X",
    "enable_swicr": "convert-tile-to-aipu: subword ICR for first layers with few input channels",
    "imc_double_buffer_pipeline": "convert-tile-to-aipu: double-buffered weight sets in pipelines",
    "imc_double_buffer_sequential": (
        "convert-tile-to-aipu: double-buffered weight sets in sequential code"
    ),
    "dpu_allocation_algorithm": "convert-tile-to-aipu: DPU register allocation",
    "softmax_neutral_value": "softmax padding value (axc runs Softmax on the host)",
    # device, cores and memory sizes
    "frequency": "convert-tile-to-aipu{frequency}: cycles -> seconds in the cycle model",
    "aipu_cores_used": (
        "tile-plan-memory{cores} and convert-tile-to-aipu{cores}: 1 is Batch-1 (one core's program); "
        "x > 1 is Batch-x (constants once and x copies of the activations and I/O in the L2 / DDR "
        "budget, x task lists that the runtime always runs together on x frames, one per core)"
    ),
    "resources_used": (
        "memory budget: the fraction of L2 and DDR given to tile-plan-memory{l2-bytes ddr-bytes}"
    ),
    "multicore_mode": (
        "runtime: how the host drives multi-core execution (processes, threads, ...); axc's "
        "Batch-x comes from aipu_cores_used and its runtime runs one execution at a time"
    ),
    "l1_size_reserved": (
        "memory budget: L1 bytes reserved for the system ({l1-bytes} = used - reserved)"
    ),
    "l1_size_used": "memory budget: L1 bytes per core ({l1-bytes} = used - reserved)",
    "l1_virtual_address": "convert-tile-to-aipu: L1 virtual base address",
    "l1_core0_physical_address": "convert-tile-to-aipu: L1 physical base address of core 0",
    "l2_size_reserved": (
        "memory budget: L2 bytes reserved for the system (subtracted from {l2-bytes})"
    ),
    "l2_size_reserved_tasklist": (
        "memory budget: L2 bytes reserved per core for the task list (subtracted from {l2-bytes})"
    ),
    "l2_size_used": "memory budget: L2 bytes (tile-plan-memory{l2-bytes})",
    "ddr_size_max": "memory budget: DDR size (ddr_size_used may not exceed it)",
    "ddr_size_reserved": (
        "memory budget: DDR bytes reserved for the system (subtracted from {ddr-bytes})"
    ),
    "ddr_size_used": "memory budget: DDR bytes (tile-plan-memory{ddr-bytes})",
    # host runtime
    "host_processes_used": "runtime: number of host processes",
    "input_dmabuf": "runtime: DMA buffers for inputs",
    "output_dmabuf": "runtime: DMA buffers for outputs",
    "runtime_dir": "runtime: installation directory",
    "device_dir": "runtime: device directory",
    # tracing, profiling, error artifacts
    "trace_tvm_passes": "pass tracing (TVM in the reference; axc runs xDSL passes)",
    "propagate_span_information": "keep source locations through the passes",
    "profiling_levels": "runtime profiling trace levels",
    "profiling_drop_percentile": "runtime profiling: outlier percentiles dropped",
    "randomize_onnx_model": "error artifact: randomize cached ONNX weights",
    "save_error_artifact": "ax-compile: on failure, archive the IR and the error message",
}
"""Property -> the pass / option / component it controls."""

ACTED_ON: frozenset[str] = frozenset(
    {
        "run_graph_cleaner",
        "graph_cleaner_split_pre_post_processing",
        "graph_cleaner_condition",
        "graph_cleaner_node",
        "graph_cleaner_threshold",
        "graph_cleaner_dump_core_onnx",
        "graph_cleaner_dump_full_opt_onnx",
        "quantization_scheme",
        "apply_pword_padding",
        "rewrite_dense_to_conv2d",
        "max_tiling_attempts",
        "max_memplan_attempts",
        "force_h_tiling",
        "force_oc_tiling",
        "frequency",
        "aipu_cores_used",
        "resources_used",
        "l1_size_reserved",
        "l1_size_used",
        "l2_size_reserved",
        "l2_size_reserved_tasklist",
        "l2_size_used",
        "ddr_size_max",
        "ddr_size_reserved",
        "ddr_size_used",
        "l1_constraint",
        "l2_constraint",
        "ddr_constraint",
        "io_memory_pool",
        "constant_memory_pool",
        "workspace_memory_pool",
        "enable_buffer_promotion",
        "dma_dual_channel",
        "model_name",
        "compiler_mode",
        "output_dir",
        "remove_output_dir",
        "save_error_artifact",
    }
)
"""The properties the compiler reads."""

NOT_ACTED_ON: frozenset[str] = frozenset(property_names()) - ACTED_ON
"""Properties accepted and validated but not yet acted on by axc."""

VALUES_NOT_ACTED_ON: dict[str, frozenset[str]] = {
    "quantization_scheme": frozenset({"hybrid_per_tensor_per_channel"}),
    "io_memory_pool": frozenset({"global.l1"}),
    "constant_memory_pool": frozenset({"global.l1"}),
    "workspace_memory_pool": frozenset({"global.l1"}),
}
"""Values of acted-on properties that axc accepts but does not implement yet:
``hybrid_per_tensor_per_channel`` calibrates as ``per_tensor_histogram`` (no per-channel depthwise
activations yet); a ``global.l1`` memory pool is homed in L2 (the tile level stages every op's
working set into L1 by DMA and keeps no buffer resident in L1 across ops)."""


def not_acted_on(explicit: dict[str, object]) -> list[str]:
    """Of explicitly set properties (key -> value; enum members count by their value), those axc
    does not act on, and the ``key = value`` settings whose value it does not implement, sorted."""
    found = [key for key in explicit if key in NOT_ACTED_ON]
    found += [
        f"{key} = {getattr(explicit[key], 'value', explicit[key])}"
        for key, values in VALUES_NOT_ACTED_ON.items()
        if key in explicit and str(getattr(explicit[key], "value", explicit[key])) in values
    ]
    return sorted(found)
