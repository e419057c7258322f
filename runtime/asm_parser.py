"""Reads AIPU assembly text (runtime/asm.lark) back into a :class:`~axc.runtime.isa.Program`.

The deployed runtime's reader: numpy and lark only, no xdsl. :func:`parse_asm` checks the syntax, the
operand names and kinds (against :data:`~axc.runtime.isa.ISA`) and then the semantics
(:func:`~axc.runtime.isa_checks.check_program`); every error is an :class:`~axc.runtime.isa.AsmError`
carrying the line number.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .isa import ISA, SPACES, AsmError, DataBlob, HostBuffer, IODecl, Mem, Program, make_instr
from .isa_checks import check_program

__all__ = ["parse_asm", "AsmError"]


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("asm.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


class _Word(str):
    """A bare identifier value (``op=add``), distinct from a quoted string."""


def _value(t: Tree | Token, line: int) -> Any:
    kind = t.data
    ch = t.children
    if kind == "int":
        return int(ch[0])
    if kind == "hex":
        return int(ch[0], 16)
    if kind == "float":
        return float(ch[0])
    if kind == "string":
        return json.loads(ch[0])
    if kind == "word":
        return _Word(ch[0])
    if kind == "mem":
        space, addr = str(ch[0]), str(ch[1])
        if space not in SPACES:
            raise AsmError(f"memory space must be one of {list(SPACES)}, got '{space}'", line)
        return Mem(space, int(addr, 0))
    if kind == "list":
        return [_value(c, line) for c in ch if c is not None]
    if kind == "record":
        return _args(ch, line)
    raise AsmError(f"unexpected value {kind}", line)


def _args(children: list, line: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in children:
        key = str(a.children[0])
        if key in out:
            raise AsmError(f"operand '{key}' given twice", line)
        out[key] = _value(a.children[1], line)
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _typed(kind: str, key: str, v: Any, line: int, what: str) -> Any:
    """Check a parsed value against an operand kind; returns the canonical value."""
    def bad(expected: str) -> AsmError:
        return AsmError(f"{what} operand '{key}' must be {expected}, got {v!r}", line)

    if kind == "int":
        if not _is_int(v):
            raise bad("an integer")
        return v
    if kind == "ints":
        if not isinstance(v, list) or not all(_is_int(x) for x in v):
            raise bad("a list of integers [a,b,...]")
        return tuple(v)
    if kind == "float":
        if not (isinstance(v, float) or _is_int(v)):
            raise bad("a number")
        return float(v)
    if kind == "str":
        if not isinstance(v, str) or isinstance(v, _Word):
            raise bad('a quoted string "..."')
        return str(v)
    if kind == "word":
        if not isinstance(v, _Word):
            raise bad("an identifier")
        return str(v)
    if kind == "mem":
        if not isinstance(v, Mem):
            raise bad("an address space:0xADDR")
        return v
    if kind == "hostbufs":
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            raise bad("a list of records [{at=... shape=[...] stored=[...] scale=... zp=...}]")
        return tuple(_hostbuf(x, line, f"{what} {key}[{i}]") for i, x in enumerate(v))
    raise AsmError(f"unknown operand kind {kind}", line)


_HOSTBUF = {"at": "mem", "dtype": "word", "shape": "ints", "stored": "ints", "scale": "float", "zp": "int"}
_DIRECTIVES: dict[str, dict[str, str]] = {
    "program": {"cores": "int", "frequency": "int", "instances": "int", "batch": "int", "l1_size": "int",
                "l2_size": "int", "ddr_size": "int"},
    "data": {"name": "str", "at": "mem", "offset": "int", "size": "int", "dtype": "word", "shape": "ints"},
    "input": {"name": "str", "frame": "int", **_HOSTBUF},
    "output": {"name": "str", "frame": "int", **_HOSTBUF},
}
#: optional directive operands and their defaults (left out of the text when they hold the default)
_OPTIONAL: dict[str, Any] = {"batch": 1, "frame": 0}


def _record(args: dict[str, Any], keys: dict[str, str], line: int, what: str) -> dict[str, Any]:
    extra = sorted(set(args) - set(keys))
    if extra:
        raise AsmError(f"{what} has no operand '{extra[0]}', expected {list(keys)}", line)
    missing = [k for k in keys if k not in args and k not in _OPTIONAL]
    if missing:
        raise AsmError(f"{what} needs operand '{missing[0]}'", line)
    return {k: _typed(kind, k, args[k], line, what) if k in args else _OPTIONAL[k] for k, kind in keys.items()}


def _hostbuf(args: dict[str, Any], line: int, what: str) -> HostBuffer:
    r = _record(args, _HOSTBUF, line, what)
    return HostBuffer(r["at"], r["shape"], r["stored"], r["scale"], r["zp"], r["dtype"])


_TOKENS = {"COMMA": "','", "RSQB": "']'", "LSQB": "'['", "LBRACE": "'{'", "RBRACE": "'}'", "EQUAL": "'='",
           "COLON": "':'", "DOT": "'.'", "NAME": "a name", "INT": "an integer", "HEX": "a hex integer",
           "FLOAT": "a number", "STRING": "a string", "CORE": "'.core'"}


def _syntax_error(e: UnexpectedInput, text: str) -> AsmError:
    line = getattr(e, "line", 0) or 0
    if isinstance(e, UnexpectedEOF) or line < 1:
        return AsmError("syntax error: unexpected end of file", max(text.count("\n"), 1))
    if isinstance(e, UnexpectedToken):
        tok = e.token
        found = "end of line" if tok.type == "_NL" else repr(str(tok))
        exp = sorted(_TOKENS.get(x, x) for x in e.expected if not x.startswith("_") and x != "$END")
        hint = f", expected {' or '.join(exp)}" if exp else ""
        return AsmError(f"syntax error at column {e.column}: unexpected {found}{hint}", line)
    if isinstance(e, UnexpectedCharacters):
        return AsmError(f"syntax error at column {e.column}: unexpected character {e.char!r}", line)
    return AsmError(f"syntax error: {e}", line)


def parse_asm(text: str, check: bool = True) -> Program:
    """Parse assembly text into a :class:`Program` (and run :func:`check_program` if ``check``).

    Raises :class:`AsmError` (``.line`` = the 1-based line) for a syntax error, an unknown
    instruction or operand, an operand of the wrong kind, or a program that breaks the ISA rules.
    """
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, text) from None
    prog: Program | None = None
    core: int | None = None
    for st in tree.children:
        line = st.meta.line if not st.meta.empty else 0
        if st.data == "core":
            if prog is None:
                raise AsmError("expected .program before .core", line)
            core = int(st.children[0])
            if core in prog.task_lists:
                raise AsmError(f".core {core} is declared twice", line)
            prog.task_lists[core] = []
            continue
        name = str(st.children[0])
        args = _args(st.children[1:], line)
        if st.data == "directive":
            keys = _DIRECTIVES.get(name)
            if keys is None:
                raise AsmError(f"unknown directive '.{name}', expected one of "
                               f"{['.' + d for d in _DIRECTIVES] + ['.core']}", line)
            if name == "program":
                if prog is not None:
                    raise AsmError(".program is declared twice", line)
                r = _record(args, keys, line, ".program")
                prog = Program(cores=r["cores"], frequency=r["frequency"], instances=r["instances"],
                               batch=r["batch"], memory={"l1": r["l1_size"], "l2": r["l2_size"], "ddr": r["ddr_size"]})
                continue
            if prog is None:
                raise AsmError(f"expected .program before .{name}", line)
            if core is not None:
                raise AsmError(f".{name} must come before the first .core", line)
            r = _record(args, keys, line, f".{name}")
            if name == "data":
                prog.data.append(DataBlob(line=line, **r))
            else:
                prog.io.append(IODecl(kind=name, line=line, **r))
            continue
        # an instruction
        if core is None or prog is None:
            raise AsmError(f"instruction '{name}' outside a task list: expected .core N before it", line)
        spec = ISA.get(name)
        if spec is None:
            raise AsmError(f"unknown instruction '{name}', expected one of {sorted(ISA)}", line)
        typed = {}
        for k, v in args.items():
            o = spec.get(k)
            if o is None:
                raise AsmError(f"'{name}' has no operand '{k}', expected one of {list(spec)}", line)
            typed[k] = _typed(o.kind, k, v, line, f"'{name}'")
        prog.task_lists[core].append(make_instr(name, line, **typed))
    if prog is None:
        raise AsmError("expected a .program header, found none", 1)
    if check:
        check_program(prog)
    return prog
