"""ONNX's backend node test suite through axc, checked against ``node_suite_expected.json``.

One test per case, variant and stage (see ``node_suite.py``). The expected file records every
outcome; a test fails when a stage passes but is not listed as ``pass`` (run
``python bench/node_suite_report.py --update`` and commit the file), or is listed as ``pass`` and
does not pass (a regression). Otherwise a skip is reported as a skip and a failure the file lists
as ``fail: ...`` as an xfail carrying the failure's first line.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx.reference import ReferenceEvaluator

import node_suite as ns

CASES = ns.collect_cases()
EXPECTED = ns.load_expected()
UPDATE = "python bench/node_suite_report.py --update"

PARAMS = [
    pytest.param(name, variant, stage, id=f"{name}-{variant}-{stage}")
    for name in CASES
    for variant in ns.VARIANTS
    for stage in ns.STAGES
]


@pytest.mark.parametrize(("name", "variant", "stage"), PARAMS)
def test_node_case(name: str, variant: str, stage: str, tmp_path) -> None:
    got = ns.run_case(CASES[name], variant, [stage], tmp_path)[stage]
    want = EXPECTED.get(ns.case_key(name, variant), {}).get(stage, "unlisted")
    if want == "pass" and got != "pass":
        pytest.fail(f"regression: listed as pass, now {got}", pytrace=False)
    if got == "pass" and want != "pass":
        pytest.fail(f"passes, but {ns.EXPECTED_PATH.name} lists {want!r}: run `{UPDATE}` and commit it", pytrace=False)
    if got.startswith("skip: "):
        pytest.skip(got.removeprefix("skip: "))
    if got.startswith("fail: "):
        pytest.xfail(f"known failure ({ns.EXPECTED_PATH.name}): {got.removeprefix('fail: ')}")
    assert got == "pass", got


def test_expected_file_lists_every_case() -> None:
    keys = {ns.case_key(n, v) for n in CASES for v in ns.VARIANTS}
    missing, stale = sorted(keys - set(EXPECTED)), sorted(set(EXPECTED) - keys)
    assert not missing and not stale, (
        f"{ns.EXPECTED_PATH.name} is out of date for onnx {onnx.__version__} "
        f"({len(missing)} cases missing, e.g. {missing[:3]}; {len(stale)} stale, e.g. {stale[:3]}): run `{UPDATE}`"
    )
    for key, stages in EXPECTED.items():
        assert list(stages) == list(ns.STAGES), key
        for s in stages.values():
            assert s == "pass" or s.startswith(("skip: ", "fail: ")), f"{key}: {s!r}"


def test_selection_covers_the_op_set() -> None:
    ops = {c.op_type for c in CASES.values()}
    assert ops == set(ns.OPS), f"no case for {sorted(set(ns.OPS) - ops)}"
    assert CASES["test_softmax_axis_0_expanded"].expanded and CASES["test_softmax_axis_0_expanded"].op_type == "Softmax"
    assert not any(n.startswith("test_castlike") for n in CASES)  # CastLike expands to one Cast node


@pytest.mark.parametrize("name", ["test_conv_with_strides_padding", "test_gemm_all_attributes", "test_reshape_reordered_all_dims",
                                  "test_resize_upsample_scales_linear"])
def test_variants_compute_the_expected_outputs(name: str) -> None:
    """Variant b is the same function of the first input: onnx's reference evaluator agrees."""
    for variant in ns.VARIANTS:
        model, inputs, outputs = ns.variant_model(CASES[name], variant)
        onnx.checker.check_model(model)
        assert len(model.graph.input) == (1 if variant == "b" else len(CASES[name].inputs))
        got = ReferenceEvaluator(model).run(None, inputs)
        for y, ref in zip(got, outputs.values()):
            np.testing.assert_allclose(y, ref, rtol=ns.RTOL, atol=ns.ATOL)


def test_skip_reasons() -> None:
    assert "one graph input" in ns.skip_reason(CASES["test_relu"], "b", "import")
    assert ns.skip_reason(CASES["test_relu"], "a", "full") is None
    assert "training-mode" in ns.skip_reason(CASES["test_batchnorm_example_training_mode"], "a", "float")
    assert "sets the shape of Reshape's result at run time" in ns.skip_reason(
        CASES["test_reshape_reordered_all_dims"], "a", "float")
    assert ns.skip_reason(CASES["test_gather_0"], "a", "full") is None  # int64 indices: host-side buffers
    assert "int8 graph I/O" in ns.skip_reason(CASES["test_add_int8"], "a", "full")
    assert "float8e4m3fn" in ns.skip_reason(CASES["test_cast_FLOAT16_to_FLOAT8E4M3FN"], "a", "import")
    assert ns.skip_reason(CASES["test_reshape_reordered_all_dims"], "b", "full") is None
    assert "empty" in ns.skip_reason(CASES["test_split_zero_size_splits_opset18"], "a", "import")


def test_comparisons_can_fail() -> None:
    ref = {"y": np.linspace(-1, 1, 64, dtype=np.float32)}
    ns.compare_float(ref, ref)
    ns.compare_full({"y": ref["y"] + 0.05}, ref)  # ~21 dB
    with pytest.raises(AssertionError, match="SQNR"):
        ns.compare_full({"y": ref["y"] + 0.1}, ref)  # ~15 dB
    with pytest.raises(AssertionError, match="values differ"):
        ns.compare_float({"y": ref["y"] + 1e-3}, ref)
    with pytest.raises(AssertionError, match="dtype"):
        ns.compare_float({"y": ref["y"].astype(np.float64)}, ref)
    ints = {"s": np.array([2, 3], dtype=np.int64)}
    with pytest.raises(AssertionError, match="values differ"):
        ns.compare_full({"s": np.array([2.0, 3.5], dtype=np.float32)}, ints)
    with pytest.raises(AssertionError, match="outputs"):
        ns.compare_float({"z": ref["y"]}, ref)
