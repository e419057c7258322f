"""Reading TOML files and YAML model cards: syntax errors become one-line ``ConfigError``s that
name the file and the line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomllib
import yaml
from axc.config.errors import ConfigError


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def read_toml(path: Path) -> dict[str, Any]:
    """The tables of a TOML file.

    Raises ``ConfigError`` ``FILE:LINE:COL: TOML syntax error: ...``.
    """
    text = _read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        at_end = re.search(r"\s*\(at end of document\)$", message)
        if found:
            where = f"{path}:{found[1]}:{found[2]}"
            message = message[: found.start()]
        elif at_end:
            where = f"{path}:{max(1, len(text.splitlines()))}"
            message = message[: at_end.start()] + " at the end of the file"
        else:
            where = f"{path}"
        raise ConfigError(f"{where}: TOML syntax error: {message}") from None


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        try:
            duplicate = key in seen
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
        if duplicate:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def read_yaml(path: Path) -> Any:
    """The document of a YAML file (duplicate keys rejected).

    Raises ``ConfigError`` ``FILE:LINE:COL: YAML syntax error: ...``.
    """
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {' '.join(str(exc).split())}") from None
