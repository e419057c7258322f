"""The aipu dialect (custom syntax round trip, verifiers) and the assembly (IR -> asm -> parsed
program, text round trip, parse errors with line numbers)."""

from __future__ import annotations

import io

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from axc.dialects import aipu
from axc.dialects.onnx import ONNX
from axc.lowering.aipu_asm import AipuAsmTarget, assembly_text, host_segment_model
from axc.runtime.asm_parser import parse_asm
from axc.runtime.isa import AsmError, format_program

PROGRAM = """\
builtin.module {
  aipu.program cores = 1, frequency = 800000000, instances = 2 {
    aipu.data name = "w", at = ddr[0x0], value = dense<1> : tensor<8x1x3x3xi8>
    aipu.data name = "t", at = ddr[0x100], value = dense<[[0, 0, 0, 0, 0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824], [31, 31, 31, 31, 31, 31, 31, 31]]> : tensor<3x8xi32>
    aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3
    aipu.io kind = output, name = "y", at = l2[0x2000], dtype = f32, shape = [1, 8, 8, 8], stored = [1, 8, 8, 8], scale = 1.0, zp = 0
    aipu.task_list core = 0 {
      aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [72], signal = 0, src = "conv1"
      aipu.dma from = ddr[0x100], to = l1[0x100], sizes = [96], channel = 1, signal = 1, src = "conv1"
      aipu.dma from = l2[0x0], to = l1[0x1000], sizes = [8, 8, 1], from_strides = [512, 64], to_strides = [512, 64], signal = 2, src = "conv1"
      aipu.wait tokens = [0, 1, 2]
      aipu.mvm in = l1[0x1000], in_shape = [8, 8, 64], w = l1[0x0], w_shape = [8, 1, 3, 3], table = l1[0x100], out = l1[0x2000], out_shape = [8, 8, 64], channels = [1, 8], pads = [1, 1, 1, 1], in_zp = -3, signal = 3, src = "conv1"
      aipu.wait tokens = [3]
      aipu.dwpu op = maxpool, in = l1[0x2000], in_shape = [8, 8, 64], out = l1[0x3000], out_shape = [4, 4, 64], channels = [8, 8], kernel = [2, 2], strides = [2, 2], src = "pool"
      aipu.dma from = l1[0x2000], to = l2[0x1000], sizes = [4096], signal = 4, src = "conv1"
      aipu.wait tokens = [4]
      aipu.host segment = 0, inputs = [{at = l2[0x1000], dtype = i8, shape = [1, 8, 8, 8], stored = [8, 8, 64], scale = 0.25, zp = 0}], outputs = [{at = l2[0x2000], dtype = f32, shape = [1, 8, 8, 8], stored = [1, 8, 8, 8], scale = 1.0, zp = 0}], src = "relu" {
      ^bb0(%0 : tensor<1x8x8x8xf32>):
        %1 = onnx.Relu %0 {onnx_name = "relu"} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
        aipu.yield %1 : tensor<1x8x8x8xf32>
      }
    }
  }
}
"""


def ctx() -> Context:
    c = Context()
    for d in (Builtin, ONNX, aipu.AIPU):
        c.load_dialect(d)
    return c


def parse(text: str) -> ModuleOp:
    m = Parser(ctx(), text).parse_module()
    m.verify()
    return m


def printed(m: ModuleOp, generic: bool = False) -> str:
    s = io.StringIO()
    Printer(stream=s, print_generic_format=generic).print_op(m)
    return s.getvalue()


def test_custom_syntax_round_trips():
    m = parse(PROGRAM)
    text = printed(m)
    assert printed(parse(text)) == text
    assert printed(parse(printed(m, generic=True))) == text
    assert "aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [72], signal = 0" in text
    assert 'aipu.wait tokens = [0, 1, 2]' in text


def test_ir_to_asm_to_parsed_program_is_identical():
    m = parse(PROGRAM)
    prog = aipu.program_of(next(o for o in m.walk() if isinstance(o, aipu.ProgramOp)))
    text = assembly_text(m)
    parsed = parse_asm(text)
    assert parsed == prog
    assert [i for _, i in parsed.instructions()] == [i for _, i in prog.instructions()]
    assert len(list(parsed.instructions())) == 10
    assert format_program(parsed) == text
    out = io.StringIO()
    AipuAsmTarget().emit(ctx(), m, out)
    assert out.getvalue() == text
    assert '  mvm   in=l1:0x1000 in_shape=[8,8,64] w=l1:0x0 w_shape=[8,1,3,3]' in text
    assert ".data name=\"t\" at=ddr:0x100 offset=128 size=96 dtype=i32 shape=[3,8]" in text


def test_host_region_becomes_an_onnx_model():
    m = parse(PROGRAM)
    host = next(o for o in m.walk() if isinstance(o, aipu.HostOp))
    model = host_segment_model(host, "segment_0")
    assert [n.op_type for n in model.graph.node] == ["Relu", "Identity"]
    assert [i.name for i in model.graph.input] == ["in_0"] and [o.name for o in model.graph.output] == ["out_0"]


def _replace(old: str, new: str) -> str:
    assert old in PROGRAM
    return PROGRAM.replace(old, new)


INVALID = {
    "address out of range": (
        _replace("out = l1[0x3000], out_shape = [4, 4, 64]", "out = l1[0x37ffff], out_shape = [4, 4, 64]"),
        "'aipu.dwpu' op out: 1024 bytes at l1:0x37ffff must end within the l1 size 3670016"),
    "waited before signalled": (
        _replace("aipu.wait tokens = [4]\n", "aipu.wait tokens = [5]\n"),
        "'wait' waits for token 5, which no instruction signals"),
    "wait on a later signal": (
        _replace("aipu.wait tokens = [0, 1, 2]", "aipu.wait tokens = [0, 1, 2, 4]"),
        "'wait' waits for token 4 before it is signalled"),
    "token signalled twice": (
        _replace("sizes = [96], channel = 1, signal = 1", "sizes = [96], channel = 1, signal = 0"),
        "signals token 0, expected a fresh id"),
    "wrong output shape": (
        _replace("out_shape = [8, 8, 64], channels = [1, 8]", "out_shape = [8, 7, 64], channels = [1, 8]"),
        "'aipu.mvm' op out_shape must be [8, 8, _] for in_shape [8, 8, 64] and kernel [3, 3], got [8, 7, 64]"),
    "missing operand": (
        _replace(", w_shape = [8, 1, 3, 3]", ""), "'aipu.mvm' op needs operand 'w_shape'"),
    "bad channel": (
        _replace("channel = 1, signal = 1", "channel = 2, signal = 1"),
        "'aipu.dma' op channel must be 0 or 1, got 2"),
    "compute outside l1": (
        _replace("in = l1[0x2000], in_shape = [8, 8, 64], out", "in = l2[0x2000], in_shape = [8, 8, 64], out"),
        "'aipu.dwpu' op in must be in l1, got l2"),
    "host arguments": (
        _replace("^bb0(%0 : tensor<1x8x8x8xf32>)", "^bb0(%0 : tensor<1x8x8x4xf32>)").replace(
            "%1 = onnx.Relu %0 {onnx_name = \"relu\"} : (tensor<1x8x8x8xf32>)", "%1 = onnx.Relu %0 {onnx_name = \"relu\"} : (tensor<1x8x8x4xf32>)"),
        "'aipu.host' op argument 0 must be a tensor of shape [1, 8, 8, 8], got tensor<1x8x8x4xf32>"),
    "stored shape": (
        _replace("shape = [1, 1, 8, 8], stored = [8, 8, 64]", "shape = [1, 1, 8, 8], stored = [8, 4, 64]"),
        "stored shape must be [8, 8, 1] (HWC, channels may be padded) for logical shape [1, 1, 8, 8], got [8, 4, 64]"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_verifier_messages(case: str):
    text, message = INVALID[case]
    with pytest.raises(VerifyException) as e:
        parse(text)
    assert message in str(e.value)


def test_unknown_operand_is_a_parse_error():
    from xdsl.utils.exceptions import ParseError

    with pytest.raises(ParseError, match="'aipu.dma' has no operand 'bogus'"):
        parse(_replace("sizes = [72], signal = 0", "sizes = [72], bogus = 0"))


ASM_ERRORS = {
    "unknown instruction": ("  frob x=1", "line 3: unknown instruction 'frob'"),
    "unknown operand": ("  wait tokens=[0] extra=1", "line 3: 'wait' has no operand 'extra'"),
    "wrong kind": ("  wait tokens=3", "line 3: 'wait' operand 'tokens' must be a list of integers"),
    "bad space": ("  dma from=l9:0x0 to=l1:0x0 sizes=[4]", "line 3: memory space must be one of"),
    "unclosed list": ("  dma from=l2:0x0 to=l1:0x0 sizes=[4", "line 3: syntax error at column 37: unexpected end of line"),
    "bad character": ("  dma from=l2:0x0 to=l1:0x0 sizes=[4] ?", "line 3: syntax error at column 39: unexpected character '?'"),
    "missing operand": ("  dma from=l2:0x0 sizes=[4]", "line 3: 'dma' needs operand 'to'"),
}


@pytest.mark.parametrize("case", list(ASM_ERRORS))
def test_asm_errors_name_the_line(case: str):
    line, message = ASM_ERRORS[case]
    text = ".program cores=1 frequency=800000000 instances=1 l1_size=4096 l2_size=4096 ddr_size=4096\n.core 0\n" + line + "\n"
    with pytest.raises(AsmError) as e:
        parse_asm(text)
    assert str(e.value).startswith(message), str(e.value)


def test_asm_structure_errors():
    with pytest.raises(AsmError, match="line 1: instruction 'wait' outside a task list"):
        parse_asm("wait tokens=[0]\n")
    with pytest.raises(AsmError, match="expected a .program header"):
        parse_asm("; nothing\n")
    with pytest.raises(AsmError, match="task lists must be for cores \\[0, 1\\], got \\[0\\]"):
        parse_asm(".program cores=2 frequency=800000000 instances=1 l1_size=1 l2_size=1 ddr_size=1\n.core 0\n")
    with pytest.raises(AsmError, match="line 3: .data \"b\" overlaps .data \"a\" in ddr"):
        parse_asm(".program cores=1 frequency=800000000 instances=1 l1_size=1 l2_size=1 ddr_size=100\n"
                  '.data name="a" at=ddr:0x0 offset=0 size=8 dtype=i8 shape=[8]\n'
                  '.data name="b" at=ddr:0x4 offset=64 size=8 dtype=i8 shape=[8]\n.core 0\n')


def test_scalar_io_is_f32():
    """A 0-d (scalar) graph input / output is an f32 buffer of shape [] (one element); int8 is refused."""
    head = ".program cores=1 frequency=800000000 instances=1 l1_size=64 l2_size=64 ddr_size=64\n"
    prog = parse_asm(head + '.input name="s" at=ddr:0x0 dtype=f32 shape=[] stored=[] scale=1.0 zp=0\n.core 0\n')
    assert prog.inputs[0].shape == () and prog.inputs[0].nbytes == 4
    with pytest.raises(AsmError, match='line 2: .input "s": a 0-d \\(scalar\\) buffer must hold its tensor \\(f32, i64, ...\\), got i8'):
        parse_asm(head + '.input name="s" at=ddr:0x0 dtype=i8 shape=[] stored=[] scale=1.0 zp=0\n.core 0\n')


def test_every_operand_is_documented():
    """docs/isa.md has a section per instruction naming each of its operands."""
    import re
    from pathlib import Path

    from axc.runtime.isa import ISA

    text = (Path(__file__).resolve().parents[2] / "docs" / "isa.md").read_text()
    for mnemonic, spec in ISA.items():
        m = re.search(rf"^### {mnemonic}\b(.*?)(?=^### |^## )", text, re.S | re.M)
        assert m, f"docs/isa.md has no section for {mnemonic}"
        for name in spec:
            assert re.search(rf"`{name}`", m.group(1)), f"docs/isa.md: {mnemonic} does not document `{name}`"


RACE_HEAD = ".program cores=1 frequency=800000000 instances=1 l1_size=65536 l2_size=65536 ddr_size=65536\n.core 0\n"
CLAMP = "dpu op=clamp in=l1:0x0 in_shape=[1,1,64] out=l1:0x100 out_shape=[1,1,64] channels=8"


@pytest.mark.parametrize("body, message", [
    # read after write: the clamp reads what the DMA writes, no wait
    (["dma from=l2:0x0 to=l1:0x0 sizes=[64] signal=0", CLAMP],
     "line 4: race: 'dpu' reads l1:0x0..0x40 that 'dma' writes (line 3) with nothing ordering them: "
     "expected a wait for the token of line 3 before line 4"),
    # write after read: the DMA overwrites what the clamp reads
    ([CLAMP, "dma from=l2:0x0 to=l1:0x20 sizes=[64]"],
     "line 4: race: 'dma' writes l1:0x20..0x40 that 'dpu' reads (line 3)"),
    # write after write on different DMA channels
    (["dma from=l2:0x0 to=l1:0x0 sizes=[64] signal=0", "dma from=l2:0x100 to=l1:0x0 sizes=[64] channel=1"],
     "line 4: race: 'dma' writes l1:0x0..0x40 that 'dma' writes (line 3)"),
])
def test_races_are_rejected(body, message):
    with pytest.raises(AsmError) as e:
        parse_asm(RACE_HEAD + "\n".join("  " + b for b in body) + "\n")
    assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize("body", [
    ["dma from=l2:0x0 to=l1:0x0 sizes=[64] signal=0", "wait tokens=[0]", CLAMP],  # a wait orders them
    ["dma from=l2:0x0 to=l1:0x0 sizes=[64]", "dma from=l2:0x100 to=l1:0x0 sizes=[64]"],  # one in-order channel
    # transitively: the clamp follows the second DMA, which follows the first on its channel
    ["dma from=l2:0x0 to=l1:0x0 sizes=[64]", "dma from=l2:0x200 to=l1:0x200 sizes=[64] signal=1",
     "wait tokens=[1]", CLAMP],
    # transitively through another unit: the wait covers the clamp, which waited for the DMA
    ["dma from=l2:0x0 to=l1:0x0 sizes=[64] signal=0", "wait tokens=[0]", CLAMP + " signal=1", "wait tokens=[1]",
     "dma from=l2:0x300 to=l1:0x0 sizes=[64] channel=1"],
])
def test_ordered_accesses_are_accepted(body):
    parse_asm(RACE_HEAD + "\n".join("  " + b for b in body) + "\n")


def test_comments_and_blank_lines_anywhere():
    text = ("; head\n\n   ; indented comment\n.program cores=1 frequency=800000000 instances=1 l1_size=4096 "
            "l2_size=4096 ddr_size=4096 ; trailing\n\n; between\n.core 0\n  ; inside\n\n"
            "  dma from=l2:0x0 to=l1:0x0 sizes=[4] ; why\n; last\n  wait tokens=[0]")
    with pytest.raises(AsmError, match="line 12: 'wait' waits for token 0, which no instruction signals"):
        parse_asm(text)
    prog = parse_asm(text.replace("sizes=[4] ;", "sizes=[4] signal=0 ;"))
    assert [i.line for _, i in prog.instructions()] == [10, 12]
    assert parse_asm(text.replace("sizes=[4] ;", "sizes=[4] signal=0 ;") + "\n; end") == prog


HOST_OPS = """\
aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.host segment = 3, inputs = [{at = l2[0x0], dtype = i8, shape = [1, 4, 2, 3], stored = [2, 3, 64], scale = 0.5, zp = 1}], outputs = [{at = l2[0x1000], dtype = f32, shape = [1, 24], stored = [1, 24], scale = 1.0, zp = 0}, {at = l2[0x2000], dtype = f32, shape = [1, 4, 2, 3], stored = [1, 4, 2, 3], scale = 1.0, zp = 0}] {
    ^bb0(%x: tensor<1x4x2x3xf32>):
      %l = onnx.LRN %x {size = 3 : i64, alpha = 0.0001 : f32, beta = 0.75 : f32, bias = 2.0 : f32, onnx_name = "lrn"} : (tensor<1x4x2x3xf32>) -> tensor<1x4x2x3xf32>
      %t = onnx.Transpose %l {perm = array<i64: 0, 2, 3, 1>, onnx_name = "tr"} : (tensor<1x4x2x3xf32>) -> tensor<1x2x3x4xf32>
      %s = onnx.Constant {value = dense<[1, 24]> : tensor<2xi64>, onnx_name = "shape"} : () -> tensor<2xi64>
      %r = onnx.Reshape %t, %s {onnx_name = "rs"} : (tensor<1x2x3x4xf32>, tensor<2xi64>) -> tensor<1x24xf32>
      %k = onnx.Constant {value = dense<1.5> : tensor<1x24xf32>} : () -> tensor<1x24xf32>
      %m = onnx.Mul %r, %k {onnx_name = "mul"} : (tensor<1x24xf32>, tensor<1x24xf32>) -> tensor<1x24xf32>
      %p = onnx.Softmax %m {axis = 1 : i64, opset = 11 : i64, onnx_name = "sm"} : (tensor<1x24xf32>) -> tensor<1x24xf32>
      aipu.yield %p, %x : tensor<1x24xf32>, tensor<1x4x2x3xf32>
    }
  }
}
"""


def test_host_segment_attributes_survive_the_onnx_model():
    """The ONNX model of a host region computes exactly what the onnx interpreter computes on the
    region (attributes, constants as initializers, Softmax opset, a block argument yielded as is)."""
    import numpy as np

    from axc.runtime.host_segment import HostSegment
    from axc.runtime.interp_onnx import evaluate_op

    m = parse("builtin.module {\n" + HOST_OPS + "}\n")
    host = next(o for o in m.walk() if isinstance(o, aipu.HostOp))
    model = host_segment_model(host, "segment_3")
    assert model.opset_import[0].version == 11
    assert [n.op_type for n in model.graph.node] == ["LRN", "Transpose", "Reshape", "Mul", "Softmax",
                                                      "Identity", "Identity"]
    assert len(model.graph.initializer) == 2
    x = np.random.default_rng(3).normal(size=(1, 4, 2, 3)).astype(np.float32)
    env = {host.regions[0].block.args[0]: x}
    for op in host.regions[0].block.ops:
        if isinstance(op, aipu.YieldOp):
            want = [env[v] for v in op.values]
        else:
            env[op.results[0]] = evaluate_op(op, [env[v] for v in op.operands])
    got = HostSegment.from_bytes(model.SerializeToString()).run([x])
    assert len(got) == 2
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
