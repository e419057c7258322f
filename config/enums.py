"""The enumerations of the compiler configuration, as the reference's ``Definitions`` name them.

Every enum is a ``str`` enum: a member compares equal to its value
(``QuantizationScheme.PER_TENSOR_MIN_MAX == "per_tensor_min_max"``), and configuration files spell
members by value.
"""

from __future__ import annotations

from enum import Enum


class CompilerMode(str, Enum):
    """The operational mode of the compiler."""

    QUANTIZE_AND_LOWER = "quantize_and_lower"
    QUANTIZE_ONLY = "quantize_only"
    LOWER_ONLY = "lower_only"


class DPUAllocationAlgorithm(str, Enum):
    """The DPU register-allocation algorithm to use."""

    GRAPH = "graph"
    LAZY = "lazy"
    BACKJUMP_RECURSIVE = "backjump_recursive"
    TRY_ALL = "try_all"


class GraphCleanerCondition(str, Enum):
    """Available conditions for ONNX graph cleaning."""

    MAXIMUM_WEIGHT_TENSOR_SIZE = "maximum_weight_tensor_size"
    MAXIMUM_WEIGHT_TENSOR_FIRST_DIMENSION_SIZE = "maximum_weight_tensor_first_dimension_size"


class GraphCleanerNode(str, Enum):
    """Available node types for graph cleaning."""

    MATMUL = "MatMul"
    GEMM = "Gemm"
    CLIP = "Clip"


class MulticoreMode(str, Enum):
    """Multicore mode for multicore execution."""

    MULTIPROCESS = "multiprocess"
    MULTITHREAD = "multithread"
    BATCH = "batch"
    COOPERATIVE = "cooperative"
    PIPELINE = "pipeline"


class ProfilingLevel(str, Enum):
    """Levels used to identify the type of trace line in the trace file."""

    UNKNOWN = "[?]"
    B = "[B]"
    PB = "[PB]"
    PE = "[PE]"
    K = "[K]"
    M = "[M]"
    T = "[T]"


class QuantizationScheme(str, Enum):
    """Symbolic names for the quantization scheme.

    PER_TENSOR_HISTOGRAM quantizes activations per tensor with a histogram observer and weights per
    channel with a min-max observer. PER_TENSOR_MIN_MAX quantizes activations per tensor with a
    min-max observer and weights per channel with a min-max observer. HYBRID_PER_TENSOR_PER_CHANNEL
    quantizes activations per tensor with a histogram observer, except inputs of depthwise
    convolutions, which are quantized per channel with a min-max observer; weights per channel
    with a min-max observer.
    """

    PER_TENSOR_HISTOGRAM = "per_tensor_histogram"
    PER_TENSOR_MIN_MAX = "per_tensor_min_max"
    HYBRID_PER_TENSOR_PER_CHANNEL = "hybrid_per_tensor_per_channel"


ALL_ENUMS: tuple[type[Enum], ...] = (
    CompilerMode,
    DPUAllocationAlgorithm,
    GraphCleanerCondition,
    GraphCleanerNode,
    MulticoreMode,
    ProfilingLevel,
    QuantizationScheme,
)
"""Every enumeration, in the reference's order (the docs list their values from here)."""
