"""Writing configurations as TOML: the effective configuration with the source of every value
(``ax-config show``), the explicit settings of a card (``ax-config convert``), and atomic writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from axc.config.effects import NOT_ACTED_ON
from axc.config.errors import ConfigError
from axc.config.schema import OPTION_GROUPS, CompilerConfig
from axc.config.sources import COMMAND_LINE, DEFAULT, EffectiveConfig


def source_label(source: str) -> str:
    """``default``, ``TOML <path>``, ``inline <yaml path>`` or ``command line``."""
    kind, _, where = source.partition(":")
    if source in (DEFAULT, COMMAND_LINE):
        return source
    return f"{'TOML' if kind == 'toml' else kind} {where}"


def toml_line(key: str, value: Any) -> str:
    """``key = value`` in TOML; a None value (which TOML cannot spell) as a comment."""
    if value is None:
        return f"# {key} is unset"
    return tomli_w.dumps({key: value}).strip()


def render_effective(eff: EffectiveConfig, title: str) -> str:
    """Every property as TOML, grouped by section, each with the source of its value as a comment.

    The text is a valid TOML file that loads to the same configuration.
    """
    values = eff.config.model_dump(mode="json")
    defaults = CompilerConfig().model_dump(mode="json")
    rows: list[tuple[str, str] | str] = []
    for group in OPTION_GROUPS:
        rows += ["", f"# -- {group.__doc__} --"]
        for key in group.model_fields:
            note = source_label(eff.sources[key])
            if key in NOT_ACTED_ON and values[key] != defaults[key]:
                note += " (not acted on by axc yet)"
            rows.append((toml_line(key, values[key]), note))
    width = min(60, max(len(row[0]) for row in rows if isinstance(row, tuple)))
    lines = [
        f"# Effective axc compiler configuration: {title}",
        "# Each value's source is in the comment after it.",
    ]
    lines += [row if isinstance(row, str) else f"{row[0]:<{width}}  # {row[1]}" for row in rows]
    return "\n".join(lines) + "\n"


def render_explicit(values: Mapping[str, Any], header: list[str]) -> str:
    """The given settings as a TOML file, in the order of the definition, after comment lines."""
    order = list(CompilerConfig.model_fields)
    body = {k: values[k] for k in sorted(values, key=order.index) if values[k] is not None}
    text = "".join(f"# {line}\n" for line in header)
    return text + ("\n" if header and body else "") + tomli_w.dumps(body)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    ``path`` is either untouched or complete."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
