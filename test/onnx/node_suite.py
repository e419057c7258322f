"""ONNX's own backend node test suite run through axc: case collection, per-case runner, results.

The onnx wheel ships no test data: :func:`onnx.backend.test.case.node.collect_testcases` builds the
cases in memory (each a one-node model, or for ops defined by a function also the "expanded"
multi-node graph, with one ``(inputs, outputs)`` data set). We keep the cases of :data:`OPS` and
run each in two variants:

* ``a``: the model as shipped (every operand a graph input);
* ``b``: every graph input but the first made an initializer from the case's data, so weights and
  shape operands are constants (Conv / Gemm weights can then reach the AIPU).

and three stages, each recorded as ``"pass"``, ``"skip: <reason>"`` or ``"fail: <first line>"``:

1. ``import``: :func:`axc.lowering.onnx_importer.import_onnx` with the data's input shapes;
2. ``float``: :func:`axc.runtime.interp_onnx.run_onnx_module` matches the suite's expected outputs
   (names, shapes and dtypes; values within rtol=1e-3, atol=1e-5 for floats as onnx's backend runner
   compares with ``np.testing.assert_allclose``; exact for integers and bools);
3. ``full``: calibrate on the case's own inputs, compile a package with
   :func:`axc.lowering.model_compiler.compile_model` (what ``ax-compile`` runs), execute it with
   :func:`axc.runtime.executor.run` (what ``ax-run`` runs) and require SQNR >= 20 dB against the
   expected float outputs (exact values for non-float outputs).

``float`` and ``full`` each need ``import`` to pass (their failure then reads ``fail: import: ...``);
they do not depend on each other. Skips are cases the suite makes impossible, decided from the case
alone (:func:`skip_reason`): non-tensor types, empty tensors, training mode, random outputs, and for
``full`` non-float inputs (the AIPU path quantizes float inputs only).

``node_suite_expected.json`` (next to this file) records the outcome of every case, variant and
stage; ``test_node_suite.py`` compares fresh results with it and ``bench/node_suite_report.py
--update`` rewrites it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

#: ops of issue 7 that the AIPU path is meant to run
AIPU_OPS = (
    "Add", "Sub", "Mul", "Div", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv",
    "ConvTranspose", "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid",
    "HardSwish", "LeakyRelu", "MatMul", "MaxPool", "PRelu", "Pad", "Relu", "Reshape", "Resize",
    "Upsample", "Selu", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze", "Unsqueeze", "Tanh",
    "Transpose", "DepthToSpace", "ReduceMean",
)  # fmt: skip
#: ops of issue 7 that run on the host (as onnx ops between dequantize / quantize)
HOST_OPS = ("LayerNormalization", "Erf", "Gelu", "Pow", "Sqrt", "Cast", "Shape", "Gather")
OPS = AIPU_OPS + HOST_OPS

VARIANTS = ("a", "b")
STAGES = ("import", "float", "full")

#: float tolerances of the float stage (onnx's runner: np.testing.assert_allclose(rtol, atol))
RTOL, ATOL = 1e-3, 1e-5
#: minimum signal-to-quantization-noise ratio of the full path, in dB
MIN_SQNR_DB = 20.0

EXPECTED_PATH = Path(__file__).with_name("node_suite_expected.json")

#: ops whose outputs are random draws (a seed attribute makes them reproducible only per runtime)
_RANDOM_OPS = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli", "Multinomial"})
_EXPANDED = re.compile(r"_expanded(_ver\d+)?$")


@dataclass(frozen=True)
class NodeCase:
    """One case of the suite: ``op_type`` is the op it tests (for an expanded function case, the op
    of the one-node case it expands); ``inputs`` / ``outputs`` are the data set, in graph order."""

    name: str
    op_type: str
    expanded: bool
    model: onnx.ModelProto
    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]


def _array(x: np.ndarray | TensorProto) -> np.ndarray:
    return numpy_helper.to_array(x) if isinstance(x, TensorProto) else np.asarray(x)


@functools.lru_cache(maxsize=1)
def collect_cases(ops: tuple[str, ...] = OPS) -> dict[str, NodeCase]:
    """The suite's cases about ``ops``, by name (sorted). One-node cases are selected by their node's
    op_type, expanded function cases by the op of the case they expand. Takes ~8 s (the suite
    generates every case of every op; onnx allows this only once per process, so the result is cached)."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():  # the Cast cases overflow on purpose
        warnings.simplefilter("ignore")
        all_cases = collect_testcases(None)
    by_name = {c.name: c for c in all_cases}
    cases: dict[str, NodeCase] = {}
    for c in all_cases:
        base = by_name.get(_EXPANDED.sub("", c.name), c)  # an expansion may be one node (CastLike -> Cast)
        expanded = base is not c
        op = base.model.graph.node[0].op_type if len(base.model.graph.node) == 1 else None
        if op not in ops:
            continue
        assert c.data_sets is not None and len(c.data_sets) == 1, c.name
        ins, outs = c.data_sets[0]
        cases[c.name] = NodeCase(c.name, op, expanded, c.model, tuple(map(_array, ins)), tuple(map(_array, outs)))
    return dict(sorted(cases.items()))


def variant_model(case: NodeCase, variant: str) -> tuple[onnx.ModelProto, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The model of ``variant``, its inputs keyed by graph input name and expected outputs keyed by
    graph output name. Variant ``b`` moves every graph input but the first into the initializers,
    holding the case's data."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}, expected one of {VARIANTS}")
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    inputs = {vi.name: x for vi, x in zip(g.input, case.inputs)}
    outputs = {vi.name: y for vi, y in zip(g.output, case.outputs)}
    if variant == "b" and len(g.input) > 1:
        keep = onnx.ValueInfoProto()
        keep.CopyFrom(g.input[0])
        for vi in list(g.input[1:]):
            g.initializer.append(numpy_helper.from_array(inputs.pop(vi.name), vi.name))
        del g.input[:]
        g.input.append(keep)
    return model, inputs, outputs


def _value_kind(vi: onnx.ValueInfoProto) -> str:
    return vi.type.WhichOneof("value") or "undefined"


#: op type -> positions of the inputs that set the output's shape (or size) by their values
_SHAPE_INPUTS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,), "Resize": (1, 2, 3), "Upsample": (1,), "Pad": (1, 2, 3), "Slice": (1, 2, 3, 4),
    "Unsqueeze": (1,), "Squeeze": (1,), "ReduceMean": (1,), "Expand": (1,), "Tile": (1,), "Split": (1,),
    "ConstantOfShape": (0,), "Range": (0, 1, 2), "TopK": (1,), "OneHot": (1,), "CenterCropPad": (1,),
}

#: the element types axc's tensors have (lowering/onnx_importer.py)
_AXC_TYPES = frozenset({
    TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.INT32,
    TensorProto.INT16, TensorProto.INT8, TensorProto.UINT64, TensorProto.UINT32, TensorProto.UINT16,
    TensorProto.UINT8, TensorProto.BOOL,
})


def _elem_types(case: NodeCase) -> list[tuple[str, int]]:
    g = case.model.graph
    out = [(vi.name, vi.type.tensor_type.elem_type) for vi in (*g.input, *g.output)]
    for n in g.node:
        for a in n.attribute:
            if a.name == "to" and n.op_type == "Cast":
                out.append((n.name or "Cast", a.i))
    return out


def skip_reason(case: NodeCase, variant: str, stage: str) -> str | None:
    """Why the suite makes ``stage`` of ``case`` / ``variant`` impossible, or None.

    All stages: a non-tensor graph input or output (sequence, optional, map, sparse); an empty
    graph input of the variant (an empty constant of variant ``b`` is fine) or output; a
    training-mode node; a node with random outputs; in variant ``b`` a case with a single graph
    input (then ``b`` is ``a``). ``full`` also: a graph input that is not f32 / f16 / f64 (the
    AIPU path calibrates and quantizes float inputs only).
    """
    g = case.model.graph
    if variant == "b" and len(g.input) == 1:
        return "variant b: the case has one graph input (b is a)"
    for what, vis in (("input", g.input), ("output", g.output)):
        for vi in vis:
            if _value_kind(vi) != "tensor_type":
                return f"{what} '{vi.name}' is a {_value_kind(vi).removesuffix('_type')}, not a tensor"
    fed = g.input[:1] if variant == "b" else g.input  # b: the others are constants
    for what, vis, arrays in (("input", fed, case.inputs), ("output", g.output, case.outputs)):
        for vi, x in zip(vis, arrays):
            if x.size == 0:
                return f"{what} '{vi.name}' is empty (shape {tuple(x.shape)}): axc tensors have positive dims"
    for name, t in _elem_types(case):
        if t not in _AXC_TYPES:
            return (f"'{name}' is {TensorProto.DataType.Name(t).lower()}: outside axc's tensor types "
                    "(float 16/32/64, (u)int 8..64, bool)")
    if variant == "a":
        graph_inputs = {vi.name for vi in g.input}
        for n in g.node:
            for k in _SHAPE_INPUTS.get(n.op_type, ()):
                if k < len(n.input) and n.input[k] in graph_inputs:
                    return (f"input '{n.input[k]}' sets the shape of {n.op_type}'s result at run time: axc "
                            "compiles static shapes (variant b makes it a constant)")
    for n in g.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "BatchNormalization" and attrs.get("training_mode", 0):
            return "training-mode BatchNormalization (outputs batch statistics)"
        if n.domain == "ai.onnx.preview.training":
            return f"training op {n.op_type}"
        if n.op_type in _RANDOM_OPS or (n.op_type == "Dropout" and len(n.input) > 2 and n.input[2]):
            return f"{n.op_type} draws random numbers"
    if stage == "full":
        model, inputs, _ = variant_model(case, variant)
        for k, x in inputs.items():
            if _is_float(x) and not np.isfinite(x).all():
                return f"input '{k}' holds NaN or infinity: calibration needs finite values"
        for vi in (*model.graph.input, *model.graph.output):
            if vi.type.tensor_type.elem_type == TensorProto.INT8:
                return (f"'{vi.name}' is int8: int8 graph I/O computed on the host is not implemented yet "
                        "(an i8 buffer holds a quantized tensor)")
    return None


def first_line(e: BaseException) -> str:
    """``Type: first line of the message`` (what the expected file and failures record)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _is_float(x: np.ndarray) -> bool:
    return x.dtype.kind == "f" or x.dtype.name in ("bfloat16",) or x.dtype.name.startswith("float8")


def sqnr_db(ref: np.ndarray, got: np.ndarray) -> float:
    """10 log10(sum ref^2 / sum (ref - got)^2) in dB (inf when equal, -inf when ref is all 0 but
    got is not)."""
    r, d = ref.astype(np.float64), ref.astype(np.float64) - got.astype(np.float64)
    noise, signal = float(np.sum(d * d)), float(np.sum(r * r))
    if noise == 0.0:
        return float("inf")
    return 10.0 * np.log10(signal / noise) if signal > 0 else float("-inf")


def _check_names(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray]) -> None:
    if list(got) != list(want):
        raise AssertionError(f"outputs {list(got)} != expected {list(want)}")


def compare_float(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray]) -> None:
    """The float stage's check (AssertionError naming the first output that differs)."""
    _check_names(got, want)
    for k, ref in want.items():
        out = np.asarray(got[k])
        if out.shape != ref.shape:
            raise AssertionError(f"output '{k}' shape {out.shape} != expected {ref.shape}")
        if out.dtype != ref.dtype:
            raise AssertionError(f"output '{k}' dtype {out.dtype} != expected {ref.dtype}")
        if _is_float(ref):
            r, o = ref.astype(np.float64), out.astype(np.float64)
            if not np.allclose(o, r, rtol=RTOL, atol=ATOL, equal_nan=True):
                bad = int(np.sum(~np.isclose(o, r, rtol=RTOL, atol=ATOL, equal_nan=True)))
                err = float(np.nanmax(np.abs(o - r)))
                raise AssertionError(f"output '{k}': {bad} of {ref.size} values differ (max abs err {err:.3g})")
        elif not np.array_equal(out, ref):
            raise AssertionError(f"output '{k}': {int(np.sum(out != ref))} of {ref.size} values differ")


def compare_full(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray]) -> None:
    """The full path's check: SQNR >= :data:`MIN_SQNR_DB` for float outputs, exact values otherwise
    (the package executor returns every output as float32, so dtypes are not compared)."""
    _check_names(got, want)
    for k, ref in want.items():
        out = np.asarray(got[k])
        if out.shape != ref.shape:
            raise AssertionError(f"output '{k}' shape {out.shape} != expected {ref.shape}")
        if _is_float(ref):
            s = sqnr_db(ref, out)
            if not s >= MIN_SQNR_DB:
                raise AssertionError(f"output '{k}': SQNR {s:.1f} dB < {MIN_SQNR_DB:.0f} dB")
        elif not np.array_equal(out.astype(np.float64), ref.astype(np.float64)):
            raise AssertionError(f"output '{k}': {int(np.sum(out != ref))} of {ref.size} values differ")


def _import(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]):
    from axc.lowering.onnx_importer import import_onnx

    return import_onnx(model, {k: list(v.shape) for k, v in inputs.items()})


def _full_path(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray], workdir: Path) -> dict[str, np.ndarray]:
    from axc.config import CompilerConfig
    from axc.lowering.model_compiler import compile_model
    from axc.runtime.executor import run

    onnx.save(model, workdir / "model.onnx")
    np.savez(workdir / "calibration.npz", **inputs)
    # a case is one op: both pre- and post-processing for the graph cleaner, which would send it to
    # the host; without the split the op goes wherever its AIPU constraints put it
    cfg = CompilerConfig(graph_cleaner_split_pre_post_processing=False)
    compiled = compile_model(workdir / "model.onnx", workdir / "model.pkg", cfg, str(workdir / "calibration.npz"))
    return run(compiled.package, inputs)


def _ort_deviation(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray],
                   outputs: Mapping[str, np.ndarray]) -> tuple[str | None, dict[str, np.ndarray]]:
    """(reason, onnxruntime's outputs) when onnxruntime's result differs from the suite's expected
    output (a known onnxruntime deviation from the ONNX reference, e.g. Resize align_corners
    downsampling), else (None, {})."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        got = dict(zip(outputs, sess.run(list(outputs), dict(inputs))))
    except Exception:
        return None, {}
    ok, _ = _attempt(lambda: compare_float(got, outputs))
    if ok == "pass":
        return None, {}
    err = max(float(np.max(np.abs(got[k].astype(np.float64) - outputs[k]))) for k in outputs if got[k].shape == outputs[k].shape)
    return f"onnxruntime differs from the ONNX reference here (max abs diff {err:.3g})", got


def _attempt(fn, *args) -> tuple[str, object]:
    """("pass", result) or ("fail: Type: first line", None); catches xDSL's BaseException-derived
    ArgSpecParseError too."""
    from xdsl.utils.exceptions import ArgSpecParseError

    try:
        return "pass", fn(*args)
    except (Exception, ArgSpecParseError) as e:
        return f"fail: {first_line(e)}", None


def run_case(case: NodeCase, variant: str, stages: Sequence[str] = STAGES, workdir: Path | None = None) -> dict[str, str]:
    """Run ``stages`` of ``case`` / ``variant``; returns stage -> "pass" | "skip: ..." | "fail: ...".

    ``workdir`` holds the model, calibration data and package of the full path (a temporary folder
    when None).
    """
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}, expected some of {STAGES}")
    result: dict[str, str] = {}
    todo = [s for s in STAGES if s in stages]
    for s in todo:
        reason = skip_reason(case, variant, s)
        if reason is not None:
            result[s] = f"skip: {reason}"
    if all(s in result for s in todo):
        return result
    model, inputs, outputs = variant_model(case, variant)
    # where onnxruntime itself computes something else than the suite's expected output, axc (whose
    # float semantics are onnxruntime's) is compared with onnxruntime, and the float stage says so
    deviation, ort_outputs = _ort_deviation(model, inputs, outputs)
    imported, module = _attempt(_import, model, inputs)
    if "import" in todo and "import" not in result:
        result["import"] = imported
    for s in todo:
        if s in result:
            continue
        if imported != "pass":
            result[s] = "fail: import: " + imported.removeprefix("fail: ")
        elif s == "float":
            from axc.runtime.interp_onnx import run_onnx_module

            result[s], _ = _attempt(lambda: compare_float(run_onnx_module(module, inputs), outputs))
            if deviation and result[s] != "pass":
                same, _ = _attempt(lambda: compare_float(run_onnx_module(module, inputs), ort_outputs))
                if same == "pass":
                    result[s] = f"skip: {deviation}; axc equals onnxruntime"
        else:
            want = ort_outputs if deviation else outputs
            with tempfile.TemporaryDirectory(prefix="node_suite_") if workdir is None else contextlib.nullcontext(workdir) as d:
                result[s], _ = _attempt(lambda: compare_full(_full_path(model, inputs, Path(d)), want))
    return {s: result[s] for s in todo}


def case_key(name: str, variant: str) -> str:
    """The key of a case and variant in the expected file: ``test_add[b]``."""
    return f"{name}[{variant}]"


def load_expected(path: Path = EXPECTED_PATH) -> dict[str, dict[str, str]]:
    """``case_key -> stage -> status`` from the expected file ({} if it does not exist)."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text())["cases"]


def dump_expected(results: Mapping[str, Mapping[str, str]], path: Path = EXPECTED_PATH) -> None:
    """Write the expected file: a header (onnx version, op set, stages, variants), then one line per
    case and variant, sorted, so that a diff shows exactly which entries changed."""
    head = {"onnx": onnx.__version__, "ops": list(OPS), "stages": list(STAGES), "variants": list(VARIANTS)}
    entries = [f"    {json.dumps(k)}: {json.dumps(dict(v))}" for k, v in sorted(results.items())]
    text = "{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
    path.write_text(text + '  "cases": {\n' + ",\n".join(entries) + "\n  }\n}\n")
