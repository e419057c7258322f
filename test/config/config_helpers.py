"""Shared helpers of the configuration tests: files in tmp_path, the schema, error capture."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from axc.config import ConfigError, load_config
from axc.config.schema import json_schema

SCHEMA = json_schema()


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` (creating folders) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def card_text(models: dict[str, dict[str, Any]]) -> str:
    """A model card's YAML for ``{name: extra_kwargs}``."""
    import yaml

    doc = {"models": {n: {"class": "AxONNXModel", "extra_kwargs": kw} for n, kw in models.items()}}
    return yaml.safe_dump(doc, sort_keys=False)


def error_of(*args: Any, **kwargs: Any) -> str:
    """The message of the ``ConfigError`` that ``load_config(*args, **kwargs)`` raises."""
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def resolve(prop: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a property's schema, with ``$ref`` resolved."""
    options = prop.get("anyOf", [prop])
    out = []
    for option in options:
        if "$ref" in option:
            option = SCHEMA["$defs"][option["$ref"].rsplit("/", 1)[1]]
        if option.get("type") != "null":
            out.append(option)
    return out


COMPANIONS: dict[str, dict[str, Any]] = {
    "l2_reserved_nbytes_tasklist": {"elf_in_ddr": False},
    "ddr_size_max": {"ddr_size_used": 0},
}
"""Settings a property's test value needs to satisfy the cross-field rules."""
