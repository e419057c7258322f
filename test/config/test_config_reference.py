"""The definition matches the full reference, property by property (parsed from a copy of
compiler-config-full-reference.md in test/config/data)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from axc.config.enums import ALL_ENUMS
from axc.config.schema import AXC_ADDITIONS
from config_helpers import SCHEMA, resolve

REFERENCE = (Path(__file__).parent / "data" / "compiler-config-full-reference.md").read_text()


def _blocks() -> dict[str, str]:
    body = REFERENCE.split("## Properties", 1)[1].split("## Definitions", 1)[0]
    parts = re.split(r"^- \*\*`(\w+)`\*\*", body, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


BLOCKS = _blocks()


ENUMS = {enum.__name__: [member.value for member in enum] for enum in ALL_ENUMS}


def test_every_reference_property_is_defined() -> None:
    assert len(BLOCKS) == 93
    extra = set(SCHEMA["properties"]) - set(BLOCKS)
    assert extra == {"l2_reserved_nbytes_tasklist"}  # the legacy-only key carried as a property
    assert set(BLOCKS) <= set(SCHEMA["properties"])


def test_order_follows_the_reference() -> None:
    ours = [key for key in SCHEMA["properties"] if key in BLOCKS]
    assert ours == list(BLOCKS)


@pytest.mark.parametrize("key", list(BLOCKS))
def test_default_matches_reference(key: str) -> None:
    found = re.findall(r"Default: `([^`]*)`", BLOCKS[key])
    prop = SCHEMA["properties"][key]
    if not found:
        assert key in AXC_ADDITIONS and prop["default"] is None
        return
    expected = json.loads(found[-1])
    assert prop["default"] == expected


_BOUNDS = {
    "Minimum": "minimum",
    "Maximum": "maximum",
    "Exclusive minimum": "exclusiveMinimum",
    "Exclusive maximum": "exclusiveMaximum",
}


@pytest.mark.parametrize("key", list(BLOCKS))
def test_bounds_match_reference(key: str) -> None:
    expected = {
        _BOUNDS[name]: float(value)
        for name, value in re.findall(
            r"(Minimum|Maximum|Exclusive minimum|Exclusive maximum): `([^`]*)`", BLOCKS[key]
        )
    }
    ours = {
        bound: float(option[bound])
        for option in resolve(SCHEMA["properties"][key])
        for bound in _BOUNDS.values()
        if bound in option
    }
    if key in AXC_ADDITIONS:  # axc may add bounds, never drop or change the reference's
        assert expected.items() <= ours.items()
    else:
        assert ours == expected


@pytest.mark.parametrize("key", list(BLOCKS))
def test_enum_matches_reference(key: str) -> None:
    block = BLOCKS[key]
    listed = re.search(r"Must be one of: `(\[.*?\])`", block)
    ref = re.search(r"Refer to \[(\w+)\]", block)
    options = resolve(SCHEMA["properties"][key])
    if SCHEMA["properties"][key].get("type") == "array":
        options = resolve(SCHEMA["properties"][key]["items"])
    ours = [v for option in options for v in option.get("enum", [])]
    if listed:
        assert ours == ast.literal_eval(listed[1])
    elif ref:
        assert ours == ENUMS[ref[1]]
    else:
        assert not ours or key in AXC_ADDITIONS


_TYPES = {
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "string": "string",
    "array": "array",
}


@pytest.mark.parametrize("key", list(BLOCKS))
def test_type_matches_reference(key: str) -> None:
    head = re.match(r"\s*\*\((\w+)", BLOCKS[key])
    kinds = {option.get("type") for option in resolve(SCHEMA["properties"][key])}
    if head:
        assert _TYPES[head[1]] in kinds
    any_of = re.findall(r"^    - \*(\w+)\*", BLOCKS[key], flags=re.M)
    for kind in any_of:
        if kind != "null":
            assert kind in kinds
        else:
            assert {"type": "null"} in SCHEMA["properties"][key]["anyOf"]


def test_enum_definitions_match_reference() -> None:
    defs = REFERENCE.split("## Definitions", 1)[1]
    for enum in ALL_ENUMS:
        section = defs.split(f"### {enum.__name__}", 1)[1]
        values = ast.literal_eval(re.search(r"Must be one of: `(\[.*?\])`", section, flags=re.S)[1])
        assert [m.value for m in enum] == values
        assert SCHEMA["$defs"][enum.__name__]["enum"] == values
