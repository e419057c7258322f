"""The ONNX importer: an ONNX model -> a ``builtin.module`` of the ``onnx`` dialect.

The result is::

    builtin.module attributes {axc.onnx_opset = 9 : i64} {
      func.func @main(%data: tensor<1x3x224x224xf32>) -> tensor<1x1000xf32>
          attributes {axc.input_names = ["data_0"], axc.output_names = ["prob_1"]} {
        %w = onnx.Constant {value = dense<...> : tensor<64x3x7x7xf32>, onnx_name = "conv1_w_0"} ...
        %0 = onnx.Conv %data, %w ... {onnx_name = "conv1"} ...
        ...
        func.return %n : tensor<1x1000xf32>
      }
    }

* one ``onnx.*`` op per ONNX node that a graph output depends on (dead nodes are dropped), with the
  node name in ``onnx_name`` (``<OpType>_<index>`` for nodes without a name);
* initializers become ``onnx.Constant`` ops (named after the initializer), placed just before their
  first user; their data goes straight from the raw bytes into ``DenseIntOrFPElementsAttr``;
* graph inputs that are initializers (every initializer with ir_version 3) are not function inputs;
* every value has a static shape from ``onnx.shape_inference`` after substituting ``input_shapes``
  for symbolic input dimensions;
* ``Softmax`` before opset 13 carries ``opset`` so that it keeps the coerce-to-2-D semantics;
* ``Dropout`` keeps only its ``output`` result (inference); using its mask is an error.

Every problem is a one-line :class:`~axc.runtime.errors.ModelError`.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl.operations import OptionalDef
from xdsl.utils.exceptions import VerifyException

from axc.dialects import onnx as ox
from axc.dialects.onnx_dense import ELEMENT_TYPES, dense_from_numpy, element_type_for, numpy_dtype, numpy_from_dense
from axc.lowering.onnx_shape_folding import fold_graph
from axc.runtime.errors import ModelError
from axc.runtime.onnx_node import outer_reads

#: module attribute holding the default-domain opset of the model
OPSET_ATTR = "axc.onnx_opset"
#: func attributes holding the ONNX names of the graph inputs / outputs, in func argument order
INPUT_NAMES_ATTR = "axc.input_names"
OUTPUT_NAMES_ATTR = "axc.output_names"

#: initializers up to this many elements are given to shape inference (shape operands, axes, ...);
#: larger ones (weights) are replaced by typed graph inputs so that inference does not copy them.
_SMALL_INITIALIZER = 1024


# --------------------------------------------------------------------------------------------
# loading


def load_model(model: str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    """Load and sanity-check a model; returns it with a name for messages."""
    if isinstance(model, onnx.ModelProto):
        return model, model.graph.name or "<model>"
    path = Path(model)
    if not path.exists():
        raise ModelError(f"{path}: no such file")
    if not path.is_file():
        raise ModelError(f"{path}: not a file")
    try:
        proto = onnx.load(str(path))
    except Exception as e:  # DecodeError, external data errors, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{path}: not a valid ONNX model ({first})") from None
    # a file of arbitrary bytes can decode as a protobuf with only unknown fields, and a file cut
    # at a field boundary decodes without its trailing fields (opset_import comes after graph).
    if proto.ir_version <= 0 or not proto.HasField("graph") or not proto.opset_import:
        raise ModelError(f"{path}: not a valid ONNX model (truncated or not ONNX)")
    return proto, str(path)


def default_opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    raise ModelError("the model imports no version of the default ONNX opset")


# --------------------------------------------------------------------------------------------
# shapes


def _dims(vi: onnx.ValueInfoProto) -> list[int | str]:
    """Dimensions of a value: ints, or the symbolic name ('?' if unnamed)."""
    out: list[int | str] = []
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            out.append(int(d.dim_value))
        else:
            out.append(d.dim_param or "?")
    return out


def _fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def _example_shape(dims: Sequence[int | str]) -> str:
    """A plausible ``--input-shape`` for symbolic ``dims``: batch 1, an image's spatial axes 224,
    other unknown axes 1 (for an NCHW image: ``1x3x224x224``)."""
    out = []
    for axis, d in enumerate(dims):
        if isinstance(d, int):
            out.append(d)
        elif len(dims) >= 3 and axis >= 2:
            out.append(224)
        else:
            out.append(1)
    return _fmt_shape(out)


def _resolve_input_shapes(
    inputs: Sequence[onnx.ValueInfoProto], given: Mapping[str, Sequence[int]]
) -> dict[str, list[int]]:
    names = [vi.name for vi in inputs]
    unknown = [n for n in given if n not in names]
    if unknown:
        raise ModelError(
            f"--input-shape names unknown input {', '.join(repr(n) for n in unknown)}; "
            f"the model inputs are: {', '.join(repr(n) for n in names)}"
        )
    shapes: dict[str, list[int]] = {}
    for vi in inputs:
        if not vi.type.HasField("tensor_type"):
            raise ModelError(f'input "{vi.name}" is not a tensor')
        if vi.type.tensor_type.elem_type not in ELEMENT_TYPES:
            raise ModelError(
                f'input "{vi.name}" has unsupported element type '
                f"{TensorProto.DataType.Name(vi.type.tensor_type.elem_type)}"
            )
        dims = _dims(vi)
        if not vi.type.tensor_type.HasField("shape"):
            if vi.name not in given:
                raise ModelError(
                    f'input "{vi.name}" has no shape: pass --input-shape {vi.name}=<d0>x<d1>x...'
                )
            dims = ["?"] * len(given[vi.name])
        if vi.name in given:
            g = [int(d) for d in given[vi.name]]
            if len(g) != len(dims):
                raise ModelError(
                    f'--input-shape {vi.name}={_fmt_shape(g)} has rank {len(g)}, '
                    f"the model input has rank {len(dims)}"
                )
            for axis, (d, gd) in enumerate(zip(dims, g)):
                if gd <= 0:
                    raise ModelError(f"--input-shape {vi.name}={_fmt_shape(g)}: dimensions must be positive")
                if isinstance(d, int) and d != gd:
                    warnings.warn(
                        f"--input-shape {vi.name}={_fmt_shape(g)} overrides the model's fixed "
                        f"dimension {d} of axis {axis} (fine for a fully convolutional model; "
                        "shape inference reports what it breaks)",
                        stacklevel=2,
                    )
            shapes[vi.name] = g
        else:
            for axis, d in enumerate(dims):
                if not isinstance(d, int):
                    example = _example_shape(dims)
                    raise ModelError(
                        f'input "{vi.name}" has symbolic dimension "{d}" (axis {axis}): '
                        f"pass --input-shape {vi.name}={example}"
                    )
            shapes[vi.name] = [int(d) for d in dims]
    return shapes


def _infer_types(
    model: onnx.ModelProto,
    inputs: Sequence[onnx.ValueInfoProto],
    shapes: Mapping[str, Sequence[int]],
    initializers: Mapping[str, TensorProto],
    nodes: Sequence[onnx.NodeProto],
) -> dict[str, onnx.ValueInfoProto]:
    """Run ONNX shape inference on a light copy of the graph; returns name -> ValueInfoProto."""
    g = onnx.GraphProto(name=model.graph.name)
    g.node.extend(nodes)
    for vi in inputs:
        g.input.append(
            onnx.helper.make_tensor_value_info(vi.name, vi.type.tensor_type.elem_type, shapes[vi.name])
        )
    for name, t in initializers.items():
        if int(np.prod(t.dims, dtype=np.int64)) <= _SMALL_INITIALIZER:
            g.initializer.append(t)
        else:
            g.input.append(onnx.helper.make_tensor_value_info(name, t.data_type, list(t.dims)))
    for vi in model.graph.output:
        # the declared output types may hold stale symbolic dims: keep the element type only
        g.output.append(onnx.helper.make_tensor_value_info(vi.name, vi.type.tensor_type.elem_type, None))
    light = onnx.ModelProto(ir_version=max(model.ir_version, 4), graph=g)
    light.opset_import.extend(model.opset_import)
    try:
        inferred = onnx.shape_inference.infer_shapes(light, check_type=True, strict_mode=True, data_prop=True)
    except Exception as e:
        msg = " ".join(str(e).split())
        raise ModelError(f"ONNX shape inference failed: {msg}") from None
    known: dict[str, onnx.ValueInfoProto] = {}
    for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
            known[vi.name] = vi
    return known


def _tensor_type(vi: onnx.ValueInfoProto, what: str) -> TensorType:
    tt = vi.type.tensor_type
    et = ELEMENT_TYPES.get(tt.elem_type)
    if et is None:
        raise ModelError(f"{what} has unsupported element type {TensorProto.DataType.Name(tt.elem_type)}")
    dims = _dims(vi)
    if not all(isinstance(d, int) for d in dims):
        raise ModelError(f"cannot infer a static shape for {what}: got [{', '.join(map(str, dims))}]")
    return TensorType(et, dims)


# --------------------------------------------------------------------------------------------
# attributes and constants


def _tensor_attr(t: TensorProto, what: str) -> DenseIntOrFPElementsAttr:
    if t.data_type not in ELEMENT_TYPES:
        raise ModelError(f"{what} has unsupported element type {TensorProto.DataType.Name(t.data_type)}")
    if t.data_location == TensorProto.EXTERNAL and not t.raw_data:
        raise ModelError(f"{what}: external data was not loaded")
    try:
        arr = numpy_helper.to_array(t)
    except Exception as e:
        raise ModelError(f"{what}: cannot read the tensor data ({e})") from None
    return dense_from_numpy(arr, ELEMENT_TYPES[t.data_type])


def _convert_attribute(a: AttributeProto, where: str) -> Attribute:
    T = AttributeProto
    if a.type == T.INT:
        return IntegerAttr(int(a.i), i64)
    if a.type == T.FLOAT:
        return FloatAttr(float(a.f), f32)
    if a.type == T.STRING:
        return StringAttr(a.s.decode("utf-8", errors="replace"))
    if a.type == T.INTS:
        return DenseArrayBase.from_list(i64, [int(x) for x in a.ints])
    if a.type == T.FLOATS:
        return DenseArrayBase.from_list(f32, [float(x) for x in a.floats])
    if a.type == T.TENSOR:
        return _tensor_attr(a.t, f'attribute "{a.name}" of {where}')
    if a.type == T.STRINGS:
        return ArrayAttr([StringAttr(x.decode("utf-8", errors="replace")) for x in a.strings])
    raise ModelError(f'attribute "{a.name}" of {where} has unsupported kind {T.AttributeType.Name(a.type)}')


def _constant_node_value(node: onnx.NodeProto, where: str) -> DenseIntOrFPElementsAttr:
    if len(node.attribute) != 1:
        raise ModelError(f"{where} must have exactly one value attribute")
    a = node.attribute[0]
    if a.name == "value":
        return _tensor_attr(a.t, where)
    if a.name == "value_float":
        return dense_from_numpy(np.array(a.f, dtype=np.float32))
    if a.name == "value_floats":
        return dense_from_numpy(np.array(list(a.floats), dtype=np.float32))
    if a.name == "value_int":
        return dense_from_numpy(np.array(a.i, dtype=np.int64))
    if a.name == "value_ints":
        return dense_from_numpy(np.array(list(a.ints), dtype=np.int64))
    raise ModelError(f'{where}: attribute "{a.name}" is not supported')


# --------------------------------------------------------------------------------------------
# the importer


def _live_nodes(
    nodes: Sequence[onnx.NodeProto], outputs: Iterable[str]
) -> list[tuple[int, onnx.NodeProto]]:
    """The nodes (with their graph index) that some graph output depends on, in graph order."""
    producer: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            if o:
                producer[o] = i
    live: set[int] = set()
    stack = [producer[o] for o in outputs if o in producer]
    while stack:
        i = stack.pop()
        if i in live:
            continue
        live.add(i)
        reads = [*nodes[i].input, *(x for a in nodes[i].attribute if a.type == AttributeProto.GRAPH
                                    for x in outer_reads(a.g))]
        stack.extend(producer[x] for x in reads if x in producer)
    return [(i, nodes[i]) for i in sorted(live)]


def _node_name(index: int, node: onnx.NodeProto) -> str:
    return node.name or f"{node.op_type}_{index}"


def _unsupported_message(unsupported: Mapping[str, list[str]]) -> str:
    """One line per op type: count and the first few node names."""
    lines = []
    for t, ns in sorted(unsupported.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(ns[:3]) + (", ..." if len(ns) > 3 else "")
        lines.append(f"{t}: {len(ns)} node{'s' if len(ns) != 1 else ''} ({shown})")
    return "unsupported ONNX ops:\n  " + "\n  ".join(lines)


def _check_supported(nodes: Sequence[tuple[int, onnx.NodeProto]], opset: int) -> None:
    """Every node is of the default domain, known to axc and defined at the model's opset."""
    unsupported: dict[str, list[str]] = {}
    too_new: dict[str, list[str]] = {}
    for i, n in nodes:
        domain_ok = n.domain in ("", "ai.onnx")
        if not domain_ok or n.op_type not in ox.OP_BY_ONNX_TYPE:
            key = n.op_type if domain_ok else f"{n.domain}.{n.op_type}"
            unsupported.setdefault(key, []).append(_node_name(i, n))
            continue
        try:
            onnx.defs.get_schema(n.op_type, opset, "")
        except onnx.defs.SchemaError:
            too_new.setdefault(n.op_type, []).append(_node_name(i, n))
    if unsupported:
        raise ModelError(_unsupported_message(unsupported))
    if too_new:
        first = {t: min(s.since_version for s in onnx.defs.get_all_schemas_with_history()
                        if s.name == t and s.domain == "") for t in too_new}
        raise ModelError("; ".join(f"{t} exists from opset {first[t]}, the model imports opset {opset} "
                                   f"(nodes: {', '.join(ns[:3])})" for t, ns in too_new.items()))


def import_onnx(
    model: str | Path | onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]] | None = None,
    *, fold: bool = True, dump_folded: str | Path | None = None,
) -> ModuleOp:
    """Import an ONNX model (a path or a ModelProto) into an ``onnx``-dialect module.

    ``input_shapes`` maps graph input names to static shapes; it is required for every input with
    a symbolic dimension and may override a fixed one (with a warning). Shape arithmetic is folded
    first (:func:`axc.lowering.onnx_shape_folding.fold_graph`) unless ``fold`` is false (the
    configuration's ``run_graph_cleaner``); ``dump_folded`` names a file for the folded model
    (``graph_cleaner_dump_full_opt_onnx``). Raises :class:`ModelError` with a
    one-line message (one line per op type for unsupported ops) on any problem.
    """
    proto, _ = load_model(model)
    named = onnx.ModelProto()
    named.CopyFrom(proto)
    for i, n in enumerate(named.graph.node):  # stable names before folding renumbers the nodes
        n.name = _node_name(i, n)
    proto = named
    opset = default_opset(proto)
    if opset < 7:
        raise ModelError(f"opset {opset} is not supported (axc supports ONNX opsets 7 and later)")
    graph = proto.graph
    if not graph.output:
        raise ModelError("the model graph has no outputs")
    output_names = [o.name for o in graph.output]
    # unsupported ops first: no input shape helps them
    _check_supported(_live_nodes(list(graph.node), output_names), opset)

    for sp in graph.sparse_initializer:
        raise ModelError(f'sparse initializer "{sp.values.name}" is not supported')
    initializer_names = {t.name for t in graph.initializer}
    real_inputs = [vi for vi in graph.input if vi.name not in initializer_names]
    shapes = _resolve_input_shapes(real_inputs, input_shapes or {})

    if fold:
        proto, _report = fold_graph(proto, shapes, opset)
        if dump_folded:
            try:
                onnx.save(proto, str(dump_folded))
            except OSError as e:
                raise ModelError(f"graph_cleaner_dump_full_opt_onnx: cannot write {str(dump_folded)!r}: {e.strerror}") from None
    graph = proto.graph
    initializers: dict[str, TensorProto] = {t.name: t for t in graph.initializer}
    nodes = list(graph.node)
    live = _live_nodes(nodes, output_names)

    # names defined before use: inputs, initializers, then node outputs in graph order
    defined = set(shapes) | set(initializers)
    for i, n in live:
        for x in n.input:
            if x and x not in defined:
                raise ModelError(
                    f'node "{_node_name(i, n)}" ({n.op_type}) uses "{x}", which is not a graph input, '
                    "an initializer or the output of an earlier node"
                )
        defined.update(o for o in n.output if o)
    for o in output_names:
        if o not in defined:
            raise ModelError(f'graph output "{o}" is not produced by any node, input or initializer')

    known = _infer_types(proto, real_inputs, shapes, initializers, [n for _, n in live])

    # ------------------------------------------------------------------ build the IR
    in_types = [
        TensorType(ELEMENT_TYPES[vi.type.tensor_type.elem_type], shapes[vi.name]) for vi in real_inputs
    ]
    block = Block(arg_types=in_types)
    values: dict[str, SSAValue] = {vi.name: a for vi, a in zip(real_inputs, block.args)}

    def value(name: str) -> SSAValue:
        v = values.get(name)
        if v is None:  # an initializer, materialised at its first use
            t = initializers[name]
            attr = _tensor_attr(t, f'initializer "{name}"')
            c = ox.ConstantOp.create_with([], [attr.type], {"value": attr, "onnx_name": StringAttr(name)})
            block.add_op(c)
            v = values[name] = c.results[0]
        return v

    users: dict[str, int] = {}
    for _, n in live:
        for x in n.input:
            users[x] = users.get(x, 0) + 1
    for o in output_names:
        users[o] = users.get(o, 0) + 1

    def result_type(o: str, where: str) -> Attribute:
        vi = known.get(o)
        if vi is None:
            raise ModelError(f'cannot infer the type of "{o}" (output of {where})')
        return _tensor_type(vi, f'"{o}" (output of {where})')

    for i, n in live:
        name = _node_name(i, n)
        where = f'node "{name}" ({n.op_type})'
        cls = ox.OP_BY_ONNX_TYPE[n.op_type]
        if issubclass(cls, ox.GenericOnnxOp):
            op = _generic_node(cls, n, name, where, values, initializers, value, result_type)
        else:
            op = _typed_node(cls, n, name, where, opset, users, value, result_type)
        block.add_op(op)
        for o, r in zip([o for o in n.output if o], op.results):
            values[o] = r

    returned = [value(o) for o in output_names]
    block.add_op(func.ReturnOp(*returned))
    arg_attrs = ArrayAttr([DictionaryAttr({"onnx_name": StringAttr(vi.name)}) for vi in real_inputs])
    fn = func.FuncOp("main", (in_types, [v.type for v in returned]), Region(block), arg_attrs=arg_attrs)
    fn.attributes[INPUT_NAMES_ATTR] = ArrayAttr([StringAttr(vi.name) for vi in real_inputs])
    fn.attributes[OUTPUT_NAMES_ATTR] = ArrayAttr([StringAttr(o) for o in output_names])
    module = ModuleOp([fn])
    module.attributes[OPSET_ATTR] = IntegerAttr(opset, i64)
    try:
        module.verify()
    except VerifyException as e:
        raise ModelError(f"the imported graph is invalid: {' '.join(str(e).split())}") from None
    return module


def _typed_node(cls, n, name, where, opset, users, value, result_type) -> ox.OnnxOp:
    """An op of a dedicated class: its declared operands and results, attributes by name."""
    attrs: dict[str, Attribute] = {}
    if cls is ox.ConstantOp:
        attrs["value"] = _constant_node_value(n, where)
    else:
        for a in n.attribute:
            attrs[a.name] = _convert_attribute(a, where)
    attrs["onnx_name"] = StringAttr(name)
    if cls is ox.SoftmaxOp and opset < 13:
        attrs["opset"] = IntegerAttr(opset, i64)

    results = cls.get_irdl_definition().results
    n_results = len(results)
    if n_results > 1 and isinstance(results[-1][1], OptionalDef) and (len(n.output) < n_results or not n.output[-1]):
        n_results -= 1  # an optional result the node does not produce
    for extra in n.output[n_results:]:
        if extra and users.get(extra):
            raise ModelError(f'{where}: output "{extra}" (output {list(n.output).index(extra)}) is not supported')
    outs = [o for o in n.output[:n_results]]
    if len(outs) < n_results or not all(outs):
        raise ModelError(f"{where} must have {n_results} output(s)")
    if cls is ox.ConstantOp:
        result_types = [attrs["value"].type]  # type: ignore[union-attr]
    else:
        result_types = [result_type(o, where) for o in outs]
    # optional inputs may be given as "": only trailing ones can be dropped
    ins = list(n.input)
    while ins and not ins[-1]:
        ins.pop()
    if any(not x for x in ins):
        raise ModelError(f"{where}: an omitted optional input followed by a given one is not supported")
    try:
        return cls.create_with([value(x) for x in ins], result_types, attrs)
    except (VerifyException, ValueError, TypeError) as e:
        raise ModelError(f"{where}: {e}") from None


def _absent(names: Sequence[str]) -> list[int]:
    """Positions of omitted ("") names before the last given one."""
    trimmed = list(names)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return [k for k, x in enumerate(trimmed) if not x]


def _generic_node(cls, n, name, where, values, initializers, value, result_type) -> ox.OnnxOp:
    """An op of a generic class (see :class:`axc.dialects.onnx.GenericOnnxOp`)."""
    attrs: dict[str, Attribute] = {}
    graphs: dict[str, Attribute] = {}
    outer: list[str] = []
    for a in n.attribute:
        if a.type == AttributeProto.GRAPH:
            graphs[a.name] = StringAttr(base64.b64encode(a.g.SerializeToString()).decode("ascii"))
            outer.extend(x for x in outer_reads(a.g) if x not in outer)
        else:
            attrs[a.name] = _convert_attribute(a, where)
    if graphs:
        attrs["onnx_graphs"] = DictionaryAttr(graphs)
    outer = [x for x in outer if x in values or x in initializers]
    if outer:
        attrs["onnx_outer"] = ArrayAttr([StringAttr(x) for x in outer])
    if _absent(n.input):
        attrs["onnx_absent_inputs"] = DenseArrayBase.from_list(i64, _absent(n.input))
    if _absent(n.output):
        attrs["onnx_absent_outputs"] = DenseArrayBase.from_list(i64, _absent(n.output))
    attrs["onnx_name"] = StringAttr(name)
    operands = [value(x) for x in n.input if x] + [value(x) for x in outer]
    result_types = [result_type(o, where) for o in n.output if o]
    try:
        return cls.create_with(operands, result_types, attrs)
    except (VerifyException, ValueError, TypeError) as e:
        raise ModelError(f"{where}: {e}") from None


def main_func(module: ModuleOp) -> func.FuncOp:
    """The ``@main`` function of an imported module."""
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    raise ModelError("the module has no func.func @main")


def input_names(fn: func.FuncOp) -> list[str]:
    """ONNX names of the function arguments: ``axc.input_names``, else each argument's
    ``onnx_name`` arg attribute, its SSA name, or ``arg<i>``."""
    a = fn.attributes.get(INPUT_NAMES_ATTR)
    if isinstance(a, ArrayAttr):
        return [s.data for s in a.data]  # type: ignore[attr-defined]
    names = []
    for i, arg in enumerate(fn.args):
        d = fn.arg_attrs.data[i].data if fn.arg_attrs is not None else {}
        n = d.get("onnx_name")
        names.append(n.data if isinstance(n, StringAttr) else arg.name_hint or f"arg{i}")
    return names


def output_names(fn: func.FuncOp) -> list[str]:
    """ONNX names of the function results (``axc.output_names``), or ``out<i>`` if absent."""
    a = fn.attributes.get(OUTPUT_NAMES_ATTR)
    if isinstance(a, ArrayAttr):
        return [s.data for s in a.data]  # type: ignore[attr-defined]
    return [f"out{i}" for i in range(len(fn.function_type.outputs.data))]


__all__ = [
    "INPUT_NAMES_ATTR",
    "OPSET_ATTR",
    "OUTPUT_NAMES_ATTR",
    "dense_from_numpy",
    "element_type_for",
    "import_onnx",
    "input_names",
    "load_model",
    "main_func",
    "numpy_dtype",
    "numpy_from_dense",
    "output_names",
]
