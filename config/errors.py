"""Configuration errors and warnings, and the one-line messages made from pydantic's errors."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from axc.runtime.errors import AxcError
from pydantic import ValidationError


class ConfigError(AxcError):
    """A configuration that cannot be used. The message is one line naming the file, the key and
    the rule, e.g. ``card.yaml: models.m.extra_kwargs.compilation_config.resources_used: must be a
    multiple of 0.25, got 0.3``."""


class ConfigDeprecationWarning(FutureWarning):
    """A deprecated configuration key (the older nested layout); the message names the new key.

    A ``FutureWarning``, so that it is shown to the users who write configuration files.
    """


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (difflib, similarity at least 0.6), or None."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = closest(word, candidates)
    return f" (did you mean '{close}'?)" if close else ""


def show_value(value: Any) -> str:
    """A value as a configuration file spells it: ``"text"``, ``true``, ``0.3``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {show_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (int, float)):
        return repr(value)
    return f"{value} (a {type(value).__name__})"  # e.g. a TOML date


_TYPE_RULES = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be a boolean (true or false)",
    "bool_parsing": "must be a boolean (true or false)",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be a string",
    "path_type": "must be a path (a string)",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "enum_type": "must be a string",
}

_BOUND_RULES = {
    "greater_than_equal": ("must be >= {}", "ge"),
    "greater_than": ("must be > {}", "gt"),
    "less_than_equal": ("must be <= {}", "le"),
    "less_than": ("must be < {}", "lt"),
    "multiple_of": ("must be a multiple of {}", "multiple_of"),
}


def _allowed(expected: str) -> list[str]:
    """The allowed values out of pydantic's ``"'a', 'b' or 'c'"``."""
    return [part.strip().strip("'") for part in expected.replace(" or ", ", ").split(",")]


def rule_of(error: dict[str, Any]) -> str:
    """The rule a pydantic error dict broke, and the value found: ``must be >= 1, got 0``."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = f", got {show_value(error.get('input'))}"
    if kind in _TYPE_RULES:
        return _TYPE_RULES[kind] + got
    if kind in _BOUND_RULES:
        text, name = _BOUND_RULES[kind]
        return text.format(ctx[name]) + got
    if kind in ("enum", "literal_error"):
        allowed = _allowed(ctx.get("expected", ""))
        found = error.get("input")
        hint = suggest(found, allowed) if isinstance(found, str) else ""
        return "must be one of " + ", ".join(map(show_value, allowed)) + got + hint
    if kind == "cross_field":
        return error["msg"]
    return error["msg"][0].lower() + error["msg"][1:] + got


def _key_of(loc: tuple[Any, ...]) -> str:
    key = str(loc[0]) if loc else ""
    for part in loc[1:]:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def validation_message(
    exc: ValidationError, place: Callable[[str], str], origin: Callable[[str], str]
) -> str:
    """One line for a ``CompilerConfig`` validation error.

    ``place(key)`` says where a key was written (``card.yaml: models.m...compilation_config.key``);
    ``origin(key)`` names the source of a key's value for the other keys of a cross-field rule.
    """
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "cross_field":
        keys = first["ctx"]["keys"]
        message = f"{place(keys[0])}: {rule_of(first)}"
        if len(keys) > 1:
            message += " (" + ", ".join(f"{k} from {origin(k)}" for k in keys[1:]) + ")"
    else:
        loc = first["loc"]
        message = f"{place(str(loc[0]))}{_key_of(loc)[len(str(loc[0])) :]}: {rule_of(first)}"
    if len(errors) > 1:
        others = sorted({_key_of(e["loc"]) for e in errors[1:] if e["loc"]})
        message += f" (and {len(errors) - 1} more error{'s' * (len(errors) > 2)}"
        message += (": " + ", ".join(others)) if others else ""
        message += ")"
    return message
