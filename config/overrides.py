"""Command-line overrides: ``KEY=VALUE`` where VALUE is written as in a TOML file.

``aipu_cores_used=4``, ``resources_used=0.25``, ``enable_icr=false``,
``profiling_levels=["[B]"]``; a bare word is a string: ``quantization_scheme=per_tensor_min_max``.
"""

from __future__ import annotations

from typing import Any

import tomllib
from axc.config.errors import ConfigError


def parse_override(text: str) -> tuple[str, Any]:
    """``"KEY=VALUE"`` -> ``(KEY, value)``, the value parsed as a TOML value (else a string)."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"command line: '{text}': expected KEY=VALUE")
    try:
        return key, tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return key, raw
