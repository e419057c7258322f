"""Option groups of the front end: graph rewrites, general settings, quantization, graph cleaner."""

from __future__ import annotations

from pathlib import Path

from axc.config.enums import (
    CompilerMode,
    GraphCleanerCondition,
    GraphCleanerNode,
    QuantizationScheme,
)
from axc.config.types import Bool, Int, OptionGroup, Str
from pydantic import AliasChoices, Field


class GraphRewriteOptions(OptionGroup):
    """Graph rewrites"""

    apply_pword_padding: Bool = True
    """Applies a graph transformation to ensure that all inputs have the channel number a multiple
    of the PWORD. This is a requirement of the hardware and needs to be done as part of
    compilation."""

    rewrite_concat_to_resadd: Bool = True
    """Converts concatenation operations to binary addition. The hardware does not have native
    support for concatenation. It is achieved by padding and shifting inputs and adding them
    together. This modification makes the graph legal by converting concatenation ops."""

    rewrite_dense_to_conv2d: Bool = True
    """Instances of nn.dense are canonicalized to conv2d with kernel size 1x1. Native support for
    dense operations will come in upcoming changes."""

    remove_io_padding_and_layout_transform: Bool = True
    """After compilation, the graph is modified such that the inputs are padded and their layouts
    has changed. Provided that inputs will be padded and transposed in a pre-processing step on the
    host, such operations should be removed from the graph. This step should always run when using
    the SDK and its preprocessing elements."""

    apply_arithmetic_simplification: Bool = True
    """Applies arithmetic simplification rules (also known as fast-math) to improve performance.
    Warning, this optimization is not guaranteed to preserve numerics."""

    simplify_mac_before_after_lut: Bool = True
    """Attempts to optimize multiply-add operations preceding and following look-up-table
    operations. Warning, this optimization is not guaranteed to preserve numerics."""

    validate_operators: Bool = True
    """Performs validation checks on operators to ensure compatibility with the hardware."""


class GeneralOptions(OptionGroup):
    """General"""

    output_dir: Path | None = None
    """Directory path where compiler outputs, including generated code and artifacts, will be
    stored."""

    remove_output_dir: Bool = False
    """Whether to remove aka. clean the output directory before compilation."""

    compiler_dir: Path | None = None
    """Root directory of the compiler package, used to locate internal resources and
    dependencies."""

    compiler_mode: CompilerMode = CompilerMode.QUANTIZE_AND_LOWER
    """The mode in which the compiler is running. This replaces the previous field
    'quantize_only'."""

    model_name: Str = ""
    """Name of the model to run. This is used in logging, as well as to determine the
    model-specific configuration, ie a set of optimal settings for a particular model that the
    compiler can not yet determine on its own."""


class QuantizationOptions(OptionGroup):
    """Quantization"""

    onnx_opset_version: Int = Field(17, ge=17)
    """ONNX opset version used during PyTorch to ONNX conversion, which is a required step in the
    quantization pipeline for model deployment. PyTorch models must be converted to the ONNX format
    before quantization and compilation for edge devices."""

    quantization_debug: Bool = False
    """Debugging mode for quantization. Dumps the model after quantization for accuracy measurement
    and debugging."""

    quantization_scheme: QuantizationScheme = Field(
        QuantizationScheme.PER_TENSOR_HISTOGRAM,
        validation_alias=AliasChoices("quantization_scheme", "ptq_scheme"),
    )
    """The type of quantization to use for post-training quantization."""

    model_debug_save_dir: Path | None = None
    """Directory to store the quantized/optimized model for debugging."""

    quantize_dw_channel_wise: Bool = False
    """Quantize depthwise convolution channel-wise."""

    quantized_graph_export: Bool = True
    """Export the quantized graph to json file."""

    remove_io_quantization: Bool = False
    """Remove quantization/dequantization of inputs/outputs from the graph."""


class GraphCleanerOptions(OptionGroup):
    """ONNX graph cleaner"""

    run_graph_cleaner: Bool = True
    """Whether to run the ONNX graph cleaner."""

    graph_cleaner_split_pre_post_processing: Bool = True
    """Whether to split pre/post graph processing in graph cleaner."""

    graph_cleaner_condition: GraphCleanerCondition | None = None
    """Condition to use for graph cleaning."""

    graph_cleaner_node: GraphCleanerNode | None = None
    """Node name to use condition on."""

    graph_cleaner_threshold: Int = 0
    """Threshold to use for the condition."""

    graph_cleaner_dump_core_onnx: Str | None = None
    """Optional filename to save the ONNX model's core part after graph cleaning for debugging."""

    graph_cleaner_dump_full_opt_onnx: Str | None = None
    """Optional filename to save the full optimized ONNX model after graph cleaning (but before any
    splitting) for debugging or inference."""

    remove_layout_transform_from_preamble: Bool = False
    """Remove layout transform node (transpose or reshape) from preamble of the model in case of
    NHWC data layout."""
