"""Option groups of the back end: scheduling, tiling, memory placement, compute units."""

from __future__ import annotations

from axc.config.enums import DPUAllocationAlgorithm
from axc.config.types import (
    Bool,
    ConstantsHome,
    Float,
    InstructionsHome,
    Int,
    MemoryPool,
    OptionGroup,
)
from pydantic import Field


class SchedulingOptions(OptionGroup):
    """Scheduling"""

    pipeline_spatial_tiles: Bool = True
    """Create a software pipeline for tasks within a spatial loop, across height tiles."""

    pipeline_channel_tiles: Bool = True
    """Create a software pipeline for tasks within a channel loop, across output channel tiles."""

    inter_operator_async: Bool = True
    """Enable asynchronous scheduling of operators in sequential pieces of IR."""

    use_list_scheduler: Bool = False
    """Use resource-aware list scheduler for async scheduling in the compiler."""

    unroll_prologue_epilogue: Bool = False
    """Unroll Prologue and Epilogue loops of software pipelines prior to scheduling in order to
    expose more parallelism to the compiler."""

    use_hw_tokens: Bool = True
    """Enable hardware tokens to manage synchronization where possible."""

    group_ifdw_tasks: Bool = False
    """Hoist IFDW operations to an earlier point in time. This is for better IMC weightset
    utilization. This also merges the DMA transfers of a group."""

    double_buffer: Bool = True
    """Use a double-buffering scheme between the host and device memory when transferring network
    input and output data. This can be used to hide the latency of data transfers between the host
    and device."""


class TilingOptions(OptionGroup):
    """Tiling and memory planning"""

    max_memplan_attempts: Int = Field(5, ge=1)
    """The maximum number of loops the memory planner can take to find a valid network
    configuration that satisfies the memory constraints. If the memory is still overflowing after
    this number of attempts, the compiler will raise an error and stop the compilation."""

    max_tiling_attempts: Int = Field(8, ge=1)
    """The number of attempts the compiler can use to tile an operator to make it fit in the
    memory. If the operator still does not fit after this number of attempts, the compiler will
    raise an error and stop the compilation."""

    force_h_tiling: Int | None = Field(None, ge=1)
    """Force the compiler to use a specific set of tiling factors for the height dimension of the
    operator."""

    force_oc_tiling: Int | None = Field(None, ge=1)
    """Force the compiler to use a specific set of tiling factors for the output channel dim. of
    the operator."""

    tiling_depth: Int = Field(1, ge=1)
    """The maximum tiling depth to search for. Setting this to a value higher than 1 will make the
    compiler attempt to apply depth-first scheduling to the network. A good setting for this
    parameter is either 1 to disable depth-first scheduling or 6 if one wants to enable depth-first
    scheduling."""

    dfs_search_constraint: Int | None = None
    """Limit the search space of the depth-first algorithm. This is currently needed for large
    networks. If set to None, the compiler will do its default full search. If set to an integer
    value, the compiler will do a limited search, where 'search_space[:dfs_search_constraint]' will
    be the constraint search space. A good first value to set this is 1."""


class MemoryOptions(OptionGroup):
    """Memory placement"""

    enable_buffer_promotion: Bool = True
    """Controls the memory optimization mechanism that allows buffers to be strategically relocated
    from lower memory hierarchies (e.g., DDR) to higher, faster memory levels (e.g., L2, L1). When
    enabled, the compiler analyzes buffer usage patterns and automatically promotes frequently
    accessed buffers to faster memory tiers when possible, reducing memory access latency and
    potentially improving execution performance. The promotion process respects configured memory
    constraints and works in conjunction with the defined memory pools. For fine-grained control,
    this can be used together with split_buffer_promotion to improve depth-first scheduling between
    promotion passes."""

    split_buffer_promotion: Bool = False
    """Split buffer promotion into two separate passes: one for L1 and one for L2 such that DFS
    scheduling can be applied in between the two passes. This enables DFS to more effectively
    choose buffers for scheduling in L1."""

    io_memory_pool: MemoryPool = "global.ddr"
    """The initial memory home for the input/output buffers. During buffer promotion, buffers can
    be moved up."""

    constant_memory_pool: MemoryPool = "global.ddr"
    """The initial memory home for the constant buffers. During buffer promotion, buffers can be
    moved up."""

    workspace_memory_pool: MemoryPool = "global.ddr"
    """The initial memory home for the workspace buffers. During buffer promotion, buffers can be
    moved up."""

    l1_constraint: Int | None = Field(None, ge=0)
    """The maximum amount of memory that the compiler is allowed to use for L1 memory. This can be
    used to teach the compiler about the memory constraints of the target device."""

    l2_constraint: Int | None = Field(None, ge=0)
    """The maximum amount of memory that the compiler is allowed to use for L2 memory. This can be
    used to teach the compiler about the memory constraints of the target device."""

    ddr_constraint: Int | None = Field(None, ge=0)
    """The maximum amount of memory that the compiler is allowed to use for DDR memory. This can be
    used to teach the compiler about the memory constraints of the target device."""

    use_sysdma: Bool = False
    """Use the System DMA for weight transfers between DDR and L2 and Core DMA L2 to L1 transfers.
    This will also create intermediate buffers in L2. If set to False, the Core DMA will directly
    transfer from DDR to L1."""

    ignore_weight_buffers: Bool = True
    """Ignore weight buffers when determining tiling factor during memory scheduling."""

    dma_dual_channel: Bool = True
    """Whether to enable the dual channel DMA optimization."""

    dpu_constants_home: ConstantsHome = "global.l2"
    """Determine where DPU constants are placed."""

    dpu_instructions_home: InstructionsHome = "default"
    """Determine where DPU instructions are placed."""

    dwpu_instructions_home: InstructionsHome = "default"
    """Determine where DWPU instructions are placed."""

    page_memory: Bool = True
    """Apply paging to L2 and DDR memory to reduce memory fragmentation and increase memory
    utilization."""

    elf_in_ddr: Bool = True
    """Store the ELF file in DDR memory, instead of L2 memory."""

    l2_reserved_nbytes_tasklist: Int = Field(0, ge=0)
    """Amount of memory to reserve in L2 for the ELF binary with compiled neural network. If
    elf_in_ddr is true, this must be 0. Otherwise, a good size is 1MB, i.e. 1048576."""

    stream_tasklist: Bool = True
    """Enable tasklist streaming, ie loading chunks of the tasklist into the AIPU memory
    on-the-fly."""


class ComputeOptions(OptionGroup):
    """Compute units (MVM, ICR, DPU)"""

    mvm_utilization_limit: Float = Field(1.0, ge=0.125, le=1.0)
    """The utilization limit for the MVM array. This can be used to reduce the power consumption of
    the MVM array by reducing the number of active MACs. Reducing the utilization limit can lead to
    some features, such as swICR, being automatically disabled. If that is the case, a warning
    message will be shown."""

    enable_icr: Bool = True
    """Enable In-Core Replication (ICR) for layers with small output-channel counts. This can be
    used to improve the performance of layers with small output-channel counts."""

    icrx_force: Int = -1
    """Force a specific In-Core Replication (ICR) factor. Useful for debugging purposes. If set to
    -1, the factor will be automatically determined and not forced."""

    icrx_parallel_block_threshold: Int = Field(4, ge=1, le=4)
    """The maximum number of parallel blocks on the IMC for which ICR is still applied. This can be
    used to limit the number of parallel blocks on the IMC for which ICR is applied."""

    icrx_max_factor: Int = Field(8, ge=2, le=8)
    """The maximum In-Core Replication (ICR) factor along the X direction of the image. This can be
    used to limit the maximum ICR factor along the X direction of the image."""

    enable_swicr: Bool = True
    """Enable Subword In-Core Replication (swICR) for first layers with small input channel counts.
    This can be used to improve the performance of first layers with small input channel counts."""

    imc_double_buffer_pipeline: Bool = False
    """Enable a double-buffering scheme when loading weights into the weight sets of the MVM IMC
    array in software pipelines. This can be used to hide the latency of loading weights."""

    imc_double_buffer_sequential: Bool = False
    """Enable a double-buffering scheme when loading weights into the weight sets of the MVM IMC
    array in sequential sections of IR. This can be used to hide the latency of loading weights."""

    dpu_allocation_algorithm: DPUAllocationAlgorithm = DPUAllocationAlgorithm.TRY_ALL
    """Selects the register-allocation algorithm used by the DPU vector unit. Selecting all, tries
    all methods until allocation has succeeded."""

    softmax_neutral_value: Float = -100000.0
    """This value is used for elements that should not influence the numerics of the softmax. For
    example, this is used when padding dimensions so that they are pword aligned. Padding with
    zeros affects the numerics, but padding this value should cause the LUTs that implement the
    softmax approximation to output zero. Note that this value is not ninf since that can cause
    rounding issues in float18. A sufficiently negative value is enough as it will exceed the
    highest bin of the LUT."""
