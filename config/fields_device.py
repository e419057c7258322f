"""Option groups of the target: device and multi-core budget, memory sizes, runtime, debugging."""

from __future__ import annotations

from pathlib import Path

from axc.config.enums import MulticoreMode, ProfilingLevel
from axc.config.types import Bool, Float, Int, OptionGroup
from pydantic import AliasChoices, Field

MHZ = 1_000_000


class DeviceOptions(OptionGroup):
    """Device, cores and memory sizes"""

    frequency: Int = Field(800 * MHZ, ge=20 * MHZ, le=800 * MHZ)
    """The clock frequency of the device in Hz."""

    aipu_cores_used: Int = Field(
        1, ge=1, le=4, validation_alias=AliasChoices("aipu_cores_used", "aipu_cores")
    )
    """The number of AIPU the compiler will compile for."""

    resources_used: Float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        multiple_of=0.25,
        validation_alias=AliasChoices("resources_used", "resources"),
    )
    """The fraction of (memory) resources that the compiled model is allowed to use."""

    multicore_mode: MulticoreMode = MulticoreMode.MULTIPROCESS
    """The mode for multicore execution."""

    l1_size_reserved: Int = Field(524288, ge=0)
    """The size of the L1 memory reserved for the system in bytes."""

    l1_size_used: Int = Field(4194304, ge=0)
    """The size of the L1 memory in bytes that is available for the compiler to use."""

    l1_virtual_address: Int = Field(206175207424, ge=0)
    """The virtual address of the L1 memory. Copied from mmap_config.h."""

    l1_core0_physical_address: Int = Field(402653184, ge=0)
    """The physical address of the L1 memory in core 0. Copied from memorymap.h. This is needed
    because the aicore sim does not support virtual memory."""

    l2_size_reserved: Int = Field(1245184, ge=0)
    """The size of the L2 memory reserved for the system in bytes. See SDK-4992 for details on the
    default value."""

    l2_size_reserved_tasklist: Int = Field(1048576, ge=0)
    """The size of the L2 memory reserved per core in bytes. This primarily used to store the
    tasklist."""

    l2_size_used: Int = Field(33554432, ge=0)
    """The size of the L2 memory in bytes."""

    ddr_size_max: Int = Field(1073741824, ge=0)
    """The size of the DDR memory in bytes."""

    ddr_size_reserved: Int = Field(33554432, ge=0)
    """The size of the DDR memory reserved for the system in bytes."""

    ddr_size_used: Int = Field(1073741824, ge=0)
    """The size of the DDR memory in bytes."""


class RuntimeOptions(OptionGroup):
    """Host runtime"""

    host_processes_used: Int = Field(1, ge=1)
    """The number of host processes to use during execution."""

    input_dmabuf: Bool = False
    """Use DMA for input data transfer."""

    output_dmabuf: Bool = False
    """Use DMA for output data transfer."""

    runtime_dir: Path | None = None
    """The directory for the Axelera runtime."""

    device_dir: Path | None = None
    """The directory for the device."""


class DebugOptions(OptionGroup):
    """Tracing, profiling and error artifacts"""

    trace_tvm_passes: Bool = False
    """Whether to trace TVM passes. Enabling this flag collects execution details for each TVM
    pass, including start/end timestamps, parent-child relationships, optimization levels, etc.
    This information is written to the pass_dependency_graph.json file."""

    propagate_span_information: Bool = True
    """Whether to propagate span information through the compiler."""

    profiling_levels: tuple[ProfilingLevel, ...] = ()
    """The profiling levels to enable. Enabling multiple levels simultaneously can cause the
    tracing to be inaccurate."""

    profiling_drop_percentile: Float = Field(0.25, ge=0.0, lt=1.0)
    """Drop the first and last n percentiles of the profiling data. This gets rid of outliers,
    where the chip is spinning up/down."""

    randomize_onnx_model: Bool = True
    """Randomize the weights of any cached ONNX models before generating the error artifact."""

    save_error_artifact: Bool = False
    """Creates an archive containing a copy of the lowered model and relevant error
    messages."""
