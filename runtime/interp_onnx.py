"""The onnx-level interpreter: xDSL interpreter functions for every ``onnx.*`` op.

Values are numpy arrays (float32 for ``tensor<...xf32>``, int64 for shape tensors). Each op calls
the float kernel of :mod:`axc.runtime.float_kernels` with its ONNX attributes as keyword
arguments, so the interpreter has exactly the semantics the host ops have in every other level.

* :class:`OnnxFunctions`: the ``@impl`` of every op (register it on an xDSL ``Interpreter``);
* :func:`evaluate_op`: the same computation outside an interpreter (constant folding uses it);
* :class:`OnnxRunner`: an interpreter bound to a module, run frame after frame with inputs and
  outputs keyed by ONNX names, with an optional ``observer(op, results)`` called after each op
  (calibration uses it; results are passed without copying: do not modify them);
* :func:`run_onnx_module`: a one-shot :class:`OnnxRunner` run.

``onnx.Constant`` values are numpy views of the attribute bytes (``np.frombuffer``, read-only),
cached per op for the lifetime of the interpreter, so frames after the first do not convert them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Attribute, Operation

from axc.dialects import onnx
from axc.lowering.onnx_export import outer_names
from axc.lowering.onnx_importer import (
    OPSET_ATTR,
    input_names,
    main_func,
    numpy_dtype,
    numpy_from_dense,
    output_names,
)
from axc.runtime import float_kernels as fk
from axc.runtime.errors import InputDataError, ModelError
from axc.runtime.onnx_node import NodeRunner

Observer = Callable[[Operation, PythonValues], None]

#: attributes that are ours, never ONNX attributes handed to a kernel
_NOT_ONNX = frozenset({"onnx_name", "calibration", "opset"})


def attr_to_python(a: Attribute) -> Any:
    """An ONNX attribute as the Python value the kernels take."""
    if isinstance(a, IntegerAttr):
        return a.value.data
    if isinstance(a, FloatAttr):
        return a.value.data
    if isinstance(a, DenseArrayBase):
        return list(a.get_values())
    if isinstance(a, StringAttr):
        return a.data
    if isinstance(a, DenseIntOrFPElementsAttr):
        return numpy_from_dense(a)
    if isinstance(a, ArrayAttr):
        return [attr_to_python(x) for x in a.data]
    return a


def _kwargs(op: Operation, *names: str) -> dict[str, Any]:
    return {n: attr_to_python(op.attributes[n]) for n in names if n in op.attributes}


def _f32(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == np.float32 else x.astype(np.float32)


# one function per op: (op, operand values) -> result value ------------------------------------


def _constant(op: onnx.ConstantOp, args: Sequence[np.ndarray]) -> np.ndarray:
    assert op.value is not None
    return numpy_from_dense(op.value)


def _constant_of_shape(op: onnx.ConstantOfShapeOp, args: Sequence[np.ndarray]) -> np.ndarray:
    value = numpy_from_dense(op.value) if op.value is not None else None
    return fk.constant_of_shape(args[0], value=value)


def _conv(op: onnx.ConvOp, args: Sequence[np.ndarray]) -> np.ndarray:
    kw = _kwargs(op, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
    return fk.conv(*args, **kw)


def _relu(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.relu(args[0])


def _max_pool(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    kw = _kwargs(op, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides")
    return fk.max_pool(args[0], **kw)


def _average_pool(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    kw = _kwargs(op, "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides")
    return fk.average_pool(args[0], **kw)


def _global_average_pool(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.global_average_pool(args[0])


def _batch_normalization(op: onnx.BatchNormalizationOp, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.batch_normalization(*args, **_kwargs(op, "epsilon", "momentum", "spatial"))


def _gemm(op: onnx.GemmOp, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.gemm(*args, **_kwargs(op, "alpha", "beta", "transA", "transB"))


def _matmul(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.matmul(*args)


def _add(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.add(*args)


def _mul(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.mul(*args)


def _sum(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.sum(*args)


def _concat(op: onnx.ConcatOp, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.concat(*args, axis=op.int_attr("axis", 1))


def _reshape(op: onnx.ReshapeOp, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.reshape(*args, **_kwargs(op, "allowzero"))


def _flatten(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.flatten(args[0], **_kwargs(op, "axis"))


def _transpose(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.transpose(args[0], **_kwargs(op, "perm"))


def _softmax(op: onnx.OnnxOp, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.softmax(args[0], opset=op.int_attr("opset", 13), **_kwargs(op, "axis"))


def _lrn(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return fk.lrn(args[0], **_kwargs(op, "size", "alpha", "beta", "bias"))


def _dropout(op: onnx.DropoutOp, args: Sequence[np.ndarray]) -> np.ndarray:
    # training mode (training_mode input true; is_test = 0, opsets < 7) is random: refused with a
    # ValueError (not the onnxruntime fallback of NotImplementedError), as onnx-remove-identity does
    if op.int_attr("is_test", 1) == 0 or (len(args) > 2 and bool(np.any(args[2]))):
        raise ValueError("training-mode Dropout is random and not supported: export the model for inference")
    return fk.dropout(*args, **_kwargs(op, "seed"))


def _unsqueeze(op: onnx.UnsqueezeOp, args: Sequence[np.ndarray]) -> np.ndarray:
    axes = args[1] if len(args) > 1 else op.ints_attr("axes")
    return fk.unsqueeze(args[0], axes)


def _identity(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    return args[0]


_EVAL: dict[type[Operation], Callable[[Any, Sequence[np.ndarray]], np.ndarray]] = {
    onnx.ConstantOp: _constant,
    onnx.ConstantOfShapeOp: _constant_of_shape,
    onnx.ConvOp: _conv,
    onnx.ReluOp: _relu,
    onnx.MaxPoolOp: _max_pool,
    onnx.AveragePoolOp: _average_pool,
    onnx.GlobalAveragePoolOp: _global_average_pool,
    onnx.BatchNormalizationOp: _batch_normalization,
    onnx.GemmOp: _gemm,
    onnx.MatMulOp: _matmul,
    onnx.AddOp: _add,
    onnx.SumOp: _sum,
    onnx.MulOp: _mul,
    onnx.ConcatOp: _concat,
    onnx.ReshapeOp: _reshape,
    onnx.FlattenOp: _flatten,
    onnx.TransposeOp: _transpose,
    onnx.SoftmaxOp: _softmax,
    onnx.LRNOp: _lrn,
    onnx.DropoutOp: _dropout,
    onnx.UnsqueezeOp: _unsqueeze,
    onnx.IdentityOp: _identity,
}


def node_runner(op: onnx.OnnxOp, cache: dict[Operation, NodeRunner] | None = None) -> NodeRunner:
    """The :class:`NodeRunner` of a generic onnx op (built once per op when ``cache`` is given).

    Raises :class:`ModelError` naming the node when neither onnxruntime nor the ONNX reference
    evaluator accepts it."""
    runner = cache.get(op) if cache is not None else None
    if runner is not None:
        return runner
    from axc.lowering.onnx_export import node_proto

    ins = [f"in{k}" for k in range(len(op.operands))]
    outer = outer_names(op)
    if outer:
        ins[len(ins) - len(outer):] = outer
    node = node_proto(op, ins, [f"out{k}" for k in range(len(op.results))])
    types = []
    for v in op.operands:
        t = v.type
        if not isinstance(t, TensorType):
            raise ModelError(f"{op.describe()}: operand type {t} is not a tensor")
        types.append((numpy_dtype(t.get_element_type()), tuple(t.get_shape())))
    n_own = len(types) - len(outer)
    try:
        runner = NodeRunner(node, _opset_of(op), types[:n_own], dict(zip(outer, types[n_own:])))
    except ValueError as e:
        raise ModelError(str(e)) from None
    if cache is not None:
        cache[op] = runner
    return runner


def _opset_of(op: Operation) -> int:
    """The default-domain opset of the module holding ``op`` (13 if it records none)."""
    p: Operation | None = op
    while p is not None:
        a = p.attributes.get(OPSET_ATTR)
        if isinstance(a, IntegerAttr):
            return a.value.data
        p = p.parent_op()
    return 13


def evaluate_generic(op: onnx.OnnxOp, args: Sequence[np.ndarray],
                     cache: dict[Operation, NodeRunner] | None = None) -> tuple[np.ndarray, ...]:
    """All results of a generic onnx op, cast to its result element types and checked against
    its result shapes. Raises :class:`ModelError` naming the node."""
    try:
        outs = node_runner(op, cache).run(list(args))
    except ValueError as e:
        raise ModelError(str(e)) from None
    results = []
    for r, y in zip(op.results, outs, strict=True):
        t = r.type
        if isinstance(t, TensorType):
            dt = numpy_dtype(t.get_element_type())
            if y.dtype != dt:
                y = y.astype(dt)
            if tuple(y.shape) != tuple(t.get_shape()):
                raise ModelError(f"{op.describe()}: result has shape {list(y.shape)}, "
                                 f"the IR says {list(t.get_shape())}")
        results.append(y)
    return tuple(results)


#: NodeRunners of typed ops whose float kernel raised NotImplementedError, per op
_FALLBACK_RUNNERS: dict[Operation, NodeRunner] = weakref.WeakKeyDictionary()  # type: ignore[assignment]


def evaluate_op(op: Operation, args: Sequence[np.ndarray]) -> np.ndarray:
    """Compute the (single) result of an onnx op from its operand values.

    The result has the dtype of the op's result element type and is checked against its shape.
    Raises :class:`ModelError` naming the node if the kernel rejects the op.
    """
    if isinstance(op, onnx.GenericOnnxOp):
        return evaluate_generic(op, args)[0]
    fn = _EVAL.get(type(op))
    if fn is None:
        raise ModelError(f"no onnx interpreter implementation for '{op.name}'")
    try:
        y = np.asarray(fn(op, args))
    except NotImplementedError:
        # a configuration our float kernel lacks (3-D pooling, ...): ONNX's semantics via onnxruntime
        return evaluate_generic(op, args, _FALLBACK_RUNNERS)[0]  # type: ignore[arg-type]
    except (ValueError, TypeError) as e:
        who = op.describe() if isinstance(op, onnx.OnnxOp) else f"'{op.name}'"
        raise ModelError(f"{who}: {e}") from None
    t = op.results[0].type
    if isinstance(t, TensorType):
        dt = numpy_dtype(t.get_element_type())
        if y.dtype != dt:
            y = y.astype(dt)
    return y


@register_impls
class OnnxFunctions(InterpreterFunctions):
    """Interpreter implementations of the onnx dialect (float numpy kernels)."""

    def _run(self, op: Operation, args: PythonValues) -> PythonValues:
        return (evaluate_op(op, args),)

    @impl(onnx.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: onnx.ConstantOp, args: PythonValues) -> PythonValues:
        cache: dict[Operation, np.ndarray] = interpreter.get_data(OnnxFunctions, "constants", dict)
        v = cache.get(op)
        if v is None:
            v = cache[op] = _constant(op, args)
        return (v,)

    @impl(onnx.ConstantOfShapeOp)
    def run_constant_of_shape(self, interpreter: Interpreter, op: onnx.ConstantOfShapeOp, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.ConvOp)
    def run_conv(self, interpreter: Interpreter, op: onnx.ConvOp, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.ReluOp)
    def run_relu(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.MaxPoolOp)
    def run_max_pool(self, interpreter: Interpreter, op: onnx.MaxPoolOp, args: PythonValues) -> PythonValues:
        if op.Indices is not None:  # the argmax output: ONNX's semantics through the node runner
            return evaluate_generic(op, args, interpreter.get_data(OnnxFunctions, "node_runners", dict))
        return self._run(op, args)

    @impl(onnx.AveragePoolOp)
    def run_average_pool(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.GlobalAveragePoolOp)
    def run_global_average_pool(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.BatchNormalizationOp)
    def run_batch_normalization(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.GemmOp)
    def run_gemm(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.MatMulOp)
    def run_matmul(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.AddOp)
    def run_add(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.SumOp)
    def run_sum(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.MulOp)
    def run_mul(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.FlattenOp)
    def run_flatten(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.TransposeOp)
    def run_transpose(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.SoftmaxOp)
    def run_softmax(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.LRNOp)
    def run_lrn(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.DropoutOp)
    def run_dropout(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.UnsqueezeOp)
    def run_unsqueeze(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)

    @impl(onnx.IdentityOp)
    def run_identity(self, interpreter: Interpreter, op: Operation, args: PythonValues) -> PythonValues:
        return self._run(op, args)


def _run_generic(ft: InterpreterFunctions, interpreter: Interpreter, op: onnx.GenericOnnxOp,
                 args: PythonValues) -> PythonValues:
    cache: dict[Operation, NodeRunner] = interpreter.get_data(OnnxFunctions, "node_runners", dict)
    return evaluate_generic(op, args, cache)


# every generic op (onnx.Sigmoid, onnx.Resize, ...) runs through its NodeRunner
for _cls in onnx.GENERIC_OPS:
    getattr(OnnxFunctions, "__impl_dict")[_cls] = impl(_cls)(_run_generic)


class _ObserverListener(Interpreter.Listener):
    def __init__(self, observer: Observer):
        self.observer = observer

    def did_interpret_op(self, op: Operation, results: PythonValues) -> None:
        if isinstance(op, onnx.OnnxOp):
            self.observer(op, results)


class OnnxRunner:
    """An onnx interpreter bound to ``module``'s ``@main``, reused across frames.

    ``run(inputs)`` takes arrays keyed by the ONNX input names (``axc.input_names``) and returns
    the outputs keyed by the ONNX output names. An input whose leading axis is k times the
    function's batch size is k frames stacked on axis 0: they run one after the other and the
    outputs are concatenated on axis 0. ``observer(op, results)``, if given, is called after every
    onnx op of every frame with the op's result arrays (not copies).
    """

    def __init__(self, module: ModuleOp, observer: Observer | None = None, *, extra: Sequence[InterpreterFunctions] = ()):
        self.module = module
        self.fn = main_func(module)
        self.input_names = input_names(self.fn)
        self.output_names = output_names(self.fn)
        self.input_types: list[TensorType] = [a.type for a in self.fn.args]  # type: ignore[misc]
        listeners = (_ObserverListener(observer),) if observer is not None else ()
        self.interpreter = Interpreter(module, listeners=listeners)
        self.interpreter.register_implementations(FuncFunctions())
        self.interpreter.register_implementations(OnnxFunctions())
        for f in extra:
            self.interpreter.register_implementations(f)

    def frames_of(self, inputs: Mapping[str, np.ndarray]) -> list[tuple[np.ndarray, ...]]:
        """Split stacked inputs into per-frame argument tuples (InputDataError if they do not fit)."""
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise InputDataError(
                f"missing input(s) {', '.join(repr(n) for n in missing)}; "
                f"the model inputs are {', '.join(repr(n) for n in self.input_names)}"
            )
        arrays: list[np.ndarray] = []
        counts: list[int] = []
        for name, t in zip(self.input_names, self.input_types):
            x = np.asarray(inputs[name])
            shape = tuple(t.get_shape())
            dt = numpy_dtype(t.get_element_type())
            if x.dtype != dt:
                if dt.kind == "f" and x.dtype.kind in "fiu":
                    x = x.astype(dt)
                else:
                    raise InputDataError(f"input '{name}' has dtype {x.dtype}, expected {dt}")
            ok = x.ndim == len(shape) and x.shape[1:] == shape[1:] and (
                (shape and x.shape[0] % shape[0] == 0 and x.shape[0] > 0) or (not shape and x.shape == shape)
            )
            if not ok:
                want = "x".join(map(str, shape))
                raise InputDataError(
                    f"input '{name}' has shape {'x'.join(map(str, x.shape))}, expected {want} "
                    "(or frames of it stacked on axis 0)"
                )
            arrays.append(x)
            counts.append(x.shape[0] // shape[0] if shape else 1)
        if len(set(counts)) > 1:
            raise InputDataError(
                "inputs hold different numbers of frames: "
                + ", ".join(f"'{n}': {c}" for n, c in zip(self.input_names, counts))
            )
        k = counts[0] if counts else 1
        frames: list[tuple[np.ndarray, ...]] = []
        for i in range(k):
            frames.append(
                tuple(
                    x if k == 1 else x[i * t.get_shape()[0] : (i + 1) * t.get_shape()[0]]
                    for x, t in zip(arrays, self.input_types)
                )
            )
        return frames

    def run_frame(self, args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Run one frame given the function arguments in order; returns the results in order."""
        return tuple(self.interpreter.call_op(self.fn, tuple(args)))

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        frames = self.frames_of(inputs)
        results = [self.run_frame(f) for f in frames]
        if len(results) == 1:
            outs = results[0]
        else:
            outs = tuple(np.concatenate(parts, axis=0) for parts in zip(*results))
        return dict(zip(self.output_names, outs))


def run_onnx_module(
    module: ModuleOp, inputs: Mapping[str, np.ndarray], observer: Observer | None = None
) -> dict[str, np.ndarray]:
    """Interpret ``module`` (onnx level) on ``inputs`` keyed by ONNX input names.

    Returns the outputs keyed by ONNX output names. See :class:`OnnxRunner` for stacked frames and
    ``observer``.
    """
    return OnnxRunner(module, observer).run(inputs)


__all__ = ["OnnxFunctions", "OnnxRunner", "Observer", "attr_to_python", "evaluate_generic", "evaluate_op",
           "node_runner", "run_onnx_module"]
