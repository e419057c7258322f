"""Helpers on ONNX models for tests and benchmarks.

The "light" model zoo shipped with onnx (``onnx/backend/test/data/light/*.onnx``) stores every
weight as a ``ConstantOfShape`` node filling 0.02 from a ``<name>__SHAPE`` initializer, which makes
every channel identical. :func:`randomize_light_model` replaces those with seeded random
initializers so that numerical comparisons (our interpreter vs onnxruntime, before vs after a pass)
exercise real data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

#: where the light model zoo lives in the installed onnx package
LIGHT_MODEL_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def light_model_paths() -> list[Path]:
    """All ``light_*.onnx`` models of the installed onnx package, sorted by name."""
    return sorted(LIGHT_MODEL_DIR.glob("light_*.onnx"))


def light_model_path(name: str) -> Path:
    """``light_model_path("resnet50")`` -> ``.../light_resnet50.onnx``."""
    return LIGHT_MODEL_DIR / f"light_{name.removeprefix('light_').removesuffix('.onnx')}.onnx"


def _consumers(graph: onnx.GraphProto) -> dict[str, list[tuple[onnx.NodeProto, int]]]:
    out: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for n in graph.node:
        for k, x in enumerate(n.input):
            out.setdefault(x, []).append((n, k))
    return out


def _role(name: str, consumers: dict[str, list[tuple[onnx.NodeProto, int]]]) -> str:
    """What a ConstantOfShape-produced tensor is used as: weight, bias, scale, variance, shift."""
    for node, k in consumers.get(name, []):
        t = node.op_type
        if t == "BatchNormalization":
            return {1: "scale", 2: "shift", 3: "shift", 4: "variance"}.get(k, "shift")
        if t in ("Conv", "Gemm", "MatMul") and k == 1:
            return "weight"
        if t in ("Conv", "Gemm") and k == 2:
            return "shift"
        if t == "Mul":
            return "scale"
        if t == "Add":
            return "shift"
        if t in ("Unsqueeze", "Reshape", "Identity", "Flatten") and k == 0:
            return _role(node.output[0], consumers)
    return "weight"


def _random(shape: list[int], role: str, rng: np.random.Generator) -> np.ndarray:
    if role in ("scale", "variance"):
        x = rng.random(size=shape, dtype=np.float32)
        x += np.float32(0.5)
        return x
    std = 1.0 / np.sqrt(int(np.prod(shape[1:]))) if role == "weight" and len(shape) >= 2 else 0.1
    x = rng.standard_normal(size=shape, dtype=np.float32)
    x *= np.float32(std)
    return x


def randomize_light_model(model: onnx.ModelProto | str | Path, seed: int = 0) -> onnx.ModelProto:
    """A copy of a light-zoo model whose ``ConstantOfShape`` weights are seeded random initializers.

    Each ``ConstantOfShape`` fed by a constant shape initializer becomes an initializer of the same
    name: weights (rank >= 2) ~ N(0, std = 1/sqrt(fan_in)) with fan_in = prod(shape[1:]);
    BatchNormalization scales and variances and Mul operands ~ U(0.5, 1.5) (variances positive);
    biases, BN means and shifts, Add operands ~ N(0, 0.1). The now unused ``__SHAPE``
    initializers are dropped (from the graph inputs too: ir_version 3 lists initializers as inputs,
    and the new initializers are listed there as well). Everything else is kept.
    """
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    rng = np.random.default_rng(seed)
    inits = {t.name: t for t in g.initializer}
    consumers = _consumers(g)

    keep_nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    for n in g.node:
        if n.op_type == "ConstantOfShape" and n.input and n.input[0] in inits:
            shape = [int(d) for d in numpy_helper.to_array(inits[n.input[0]]).reshape(-1)]
            arr = _random(shape, _role(n.output[0], consumers), rng)
            new_inits.append(numpy_helper.from_array(arr, n.output[0]))
        else:
            keep_nodes.append(n)

    used = {x for n in keep_nodes for x in n.input} | {o.name for o in g.output}
    old_inits = [t for t in g.initializer if t.name in used]
    inputs_are_inits = model.ir_version < 4
    old_inputs = [vi for vi in g.input if vi.name in used or vi.name not in inits]

    del g.node[:]
    g.node.extend(keep_nodes)
    del g.initializer[:]
    g.initializer.extend(old_inits + new_inits)
    del g.input[:]
    g.input.extend(old_inputs)
    if inputs_are_inits:
        g.input.extend(
            helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in new_inits
        )
    # drop stale value_info of the replaced outputs (they keep their type anyway)
    return out


def with_extra_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` whose graph also outputs the given intermediate values (untyped)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    existing = {o.name for o in out.graph.output}
    for n in names:
        if n not in existing:
            out.graph.output.append(onnx.ValueInfoProto(name=n))
    return out


def iter_light_models(seed: int = 0) -> Iterator[tuple[str, onnx.ModelProto]]:
    """(name, randomized model) for every light model."""
    for p in light_model_paths():
        yield p.stem.removeprefix("light_"), randomize_light_model(p, seed)


def random_inputs(model: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded uniform [0, 1) float32 inputs for the non-initializer graph inputs (static shapes)."""
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    out: dict[str, np.ndarray] = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        out[vi.name] = rng.random(shape, dtype=np.float32)
    return out
