"""The older nested layout of ``compilation_config``, mapped to today's flat properties.

::

    compilation_config:
      quantization_config: {ptq_scheme: ...}
      backend_config: {elf_in_ddr: ..., in_core_replication: ..., l2_reserved_nbytes_tasklist: ...,
                       page_memory: ..., tiling_depth: ...}
      quantize_only: true          # replaced by compiler_mode

Each legacy key is accepted, mapped, and reported with a ``ConfigDeprecationWarning`` that names
the new key. A key given both ways in one source is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from axc.config.errors import ConfigDeprecationWarning, ConfigError, show_value, suggest

LEGACY_SECTIONS: dict[str, dict[str, str]] = {
    "quantization_config": {"ptq_scheme": "quantization_scheme"},
    "backend_config": {
        "elf_in_ddr": "elf_in_ddr",
        "in_core_replication": "enable_icr",
        "l2_reserved_nbytes_tasklist": "l2_reserved_nbytes_tasklist",
        "page_memory": "page_memory",
        "tiling_depth": "tiling_depth",
    },
}
"""Legacy section -> {legacy key -> property}."""

LEGACY_KEYS: dict[str, tuple[str, dict[Any, str]]] = {
    "quantize_only": ("compiler_mode", {True: "quantize_only", False: "quantize_and_lower"}),
}
"""Legacy top-level key -> (property, legacy value -> property value)."""


def flatten_legacy(
    raw: Mapping[str, Any], place: Callable[[str], str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Map the legacy keys of one source to properties.

    ``place(path)`` prefixes a key path with its file and position for messages. Returns the flat
    values and, for every mapped property, the key path it was written as. Keys that are not legacy
    are passed through unchecked.
    """
    flat: dict[str, Any] = {}
    written_as: dict[str, str] = {}

    def put(new: str, value: Any, old: str) -> None:
        if new in flat or new in raw:
            first = written_as.get(new, new)
            raise ConfigError(
                f"{place(old)}: sets {new} again (already set as {first}): give it once"
            )
        flat[new] = value
        written_as[new] = old
        warnings.warn(
            f"{place(old)}: deprecated nested layout, write {new} at the top level instead",
            ConfigDeprecationWarning,
            stacklevel=4,
        )

    for key, value in raw.items():
        if key in LEGACY_SECTIONS:
            mapping = LEGACY_SECTIONS[key]
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"{place(key)}: must be a table of settings, got {type(value).__name__}"
                )
            for sub, sub_value in value.items():
                path = f"{key}.{sub}"
                if sub not in mapping:
                    raise ConfigError(
                        f"{place(path)}: unknown key in {key}{suggest(str(sub), mapping)}"
                        f" (keys of {key}: {', '.join(mapping)})"
                    )
                put(mapping[sub], sub_value, path)
        elif key in LEGACY_KEYS:
            new, values = LEGACY_KEYS[key]
            if not isinstance(value, bool):
                raise ConfigError(
                    f"{place(key)}: must be a boolean (true or false), got {show_value(value)}"
                )
            put(new, values[value], key)
    return flat, written_as


def is_legacy_key(key: str) -> bool:
    """Whether ``key`` is a top-level key of the older layout (a section or a replaced key)."""
    return key in LEGACY_SECTIONS or key in LEGACY_KEYS
