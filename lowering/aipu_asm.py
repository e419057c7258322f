"""The ``aipu-asm`` target and the package writer's view of an ``aipu.program``.

* :class:`AipuAsmTarget` (``ax-opt -t aipu-asm``): prints the program as assembly text
  (runtime/asm.lark; :func:`axc.runtime.isa.format_program`).
* :func:`host_segment_model`: an ``aipu.host`` region as an ONNX model (onnx.helper): block
  arguments become graph inputs, ``onnx.Constant`` ops initializers, the other ``onnx.*`` ops nodes
  with their ONNX attributes, the ``aipu.yield`` operands graph outputs.
* :func:`package_contents`: everything :func:`axc.runtime.package.save_package` writes (assembly,
  constants file, host segments, configuration) for a module holding one ``aipu.program``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.target import Target

from axc.dialects import aipu
from axc.lowering.onnx_export import node_proto, outer_names
from axc.runtime.errors import CompileError
from axc.runtime.isa import format_program
from axc.runtime.package import PackageContents

__all__ = ["AipuAsmTarget", "program_op", "assembly_text", "host_segment_model", "package_contents"]

_ONNX_ELEM = {"f32": TensorProto.FLOAT, "f64": TensorProto.DOUBLE, "f16": TensorProto.FLOAT16,
              "i64": TensorProto.INT64, "i32": TensorProto.INT32, "i8": TensorProto.INT8,
              "ui8": TensorProto.UINT8, "i16": TensorProto.INT16, "ui16": TensorProto.UINT16,
              "ui32": TensorProto.UINT32, "ui64": TensorProto.UINT64, "i1": TensorProto.BOOL}
DEFAULT_OPSET = 13


def program_op(module: ModuleOp) -> aipu.ProgramOp:
    """The single ``aipu.program`` of a module (raises :class:`CompileError` otherwise)."""
    progs = [op for op in module.walk() if isinstance(op, aipu.ProgramOp)]
    if len(progs) != 1:
        raise CompileError(f"expected exactly one aipu.program in the module, found {len(progs)}")
    return progs[0]


def assembly_text(module: ModuleOp) -> str:
    return format_program(aipu.program_of(program_op(module)))


@dataclass(frozen=True)
class AipuAsmTarget(Target):
    """``-t aipu-asm``: the AIPU program as assembly text (one instruction per line)."""

    name = "aipu-asm"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        output.write(assembly_text(module))


# --------------------------------------------------------------------------------------------------
# host segments


def _value_info(name: str, t: Attribute) -> onnx.ValueInfoProto:
    if not isinstance(t, TensorType):
        raise CompileError(f"host segment value {name} must be a tensor, got {t}")
    elem = _ONNX_ELEM.get(str(t.get_element_type()))
    if elem is None:
        raise CompileError(f"host segment value {name}: unsupported element type {t.get_element_type()}")
    return helper.make_tensor_value_info(name, elem, list(t.get_shape()))


def _module_opset(op: aipu.InstructionOp) -> int | None:
    """The model's default-domain opset recorded on an enclosing op (``axc.onnx_opset``)."""
    p = op.parent_op()
    while p is not None:
        a = p.attributes.get("axc.onnx_opset")
        if isinstance(a, IntegerAttr):
            return a.value.data
        p = p.parent_op()
    return None


def host_segment_model(op: aipu.InstructionOp, name: str = "host_segment") -> onnx.ModelProto:
    """The ONNX model of an ``aipu.host`` region (see the module docstring)."""
    from axc.lowering.onnx_importer import numpy_from_dense

    block = op.regions[0].block
    names: dict[SSAValue, str] = {}
    inputs = []
    for i, arg in enumerate(block.args):
        names[arg] = f"in_{i}"
        inputs.append(_value_info(names[arg], arg.type))
    nodes, inits, outputs, value_info = [], [], [], []
    outer_done: set[str] = set()
    opset = None
    counter = 0
    for child in block.ops:
        if isinstance(child, aipu.YieldOp):
            for i, v in enumerate(child.values):
                out = f"out_{i}"
                nodes.append(helper.make_node("Identity", [names[v]], [out], name=f"yield_{i}"))
                outputs.append(_value_info(out, v.type))
            continue
        if not child.name.startswith("onnx."):
            raise CompileError(f"host segment holds '{child.name}', expected onnx ops only")
        op_type = child.name.removeprefix("onnx.")
        node_name = child.attributes["onnx_name"].data if isinstance(child.attributes.get("onnx_name"), StringAttr) \
            else f"{op_type}_{counter}"
        if op_type == "Constant" and isinstance(child.attributes.get("value"), DenseIntOrFPElementsAttr):
            cname = f"c{counter}_{node_name}"
            counter += 1
            inits.append(numpy_helper.from_array(np.asarray(numpy_from_dense(child.attributes["value"]), order="C"), cname))
            names[child.results[0]] = cname
            continue
        if op_type == "Softmax" and isinstance(child.attributes.get("opset"), IntegerAttr):
            o = child.attributes["opset"].value.data  # type: ignore[union-attr]
            if opset is not None and opset != o:
                raise CompileError(f"host segment mixes Softmax opsets {opset} and {o}")
            opset = o
        outs = []
        for r in child.results:
            names[r] = f"v{counter}"
            counter += 1
            outs.append(names[r])
            value_info.append(_value_info(names[r], r.type))
        ins = [names[o] for o in child.operands]
        outer = outer_names(child)
        for k, x in enumerate(outer):  # subgraphs read outer-scope values by their model names
            src = ins[len(ins) - len(outer) + k]
            if src != x and x not in outer_done:
                outer_done.add(x)
                nodes.append(helper.make_node("Identity", [src], [x], name=f"{node_name}/outer_{k}"))
                value_info.append(_value_info(x, child.operands[len(ins) - len(outer) + k].type))
        nodes.append(node_proto(child, ins, outs, name=node_name))
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits, value_info=value_info)
    model_opset = _module_opset(op)
    if model_opset is not None:
        opset = model_opset
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset or DEFAULT_OPSET)],
                              producer_name="axc")
    model.ir_version = 8
    return model


def package_contents(module: ModuleOp, configuration: dict[str, Any] | None = None) -> PackageContents:
    """What :func:`axc.runtime.package.save_package` needs for a module holding one ``aipu.program``:
    the assembly, the constants file, one ONNX model per host segment, the configuration.

    A segment index appears at most once per task list; the task lists of a Batch-x program call
    the same segments on their own buffers (one model each, that of the first task list)."""
    prog = program_op(module)
    segments: dict[int, bytes] = {}
    for tl in prog.body.block.ops:
        if not isinstance(tl, aipu.TaskListOp):
            continue
        seen: set[int] = set()
        for op in tl.walk():
            if isinstance(op, aipu.HostOp):
                seg = op.instr()["segment"]
                if seg in seen:
                    raise CompileError(f"host segment {seg} appears twice in the task list of core {tl.core_id}")
                seen.add(seg)
                if seg not in segments:
                    segments[seg] = host_segment_model(op, f"segment_{seg}").SerializeToString()
    return PackageContents(program=format_program(aipu.program_of(prog)), constants=aipu.constants_of(prog),
                           host_segments=segments, configuration=dict(configuration or {}))
