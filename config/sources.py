"""Where a configuration comes from, and which source wins.

Sources, lowest to highest precedence: the defaults of ``CompilerConfig``; a TOML file (given
directly, or referenced by a model card's ``compiler_config_file``); a model card's inline
``compilation_config``; command-line overrides. ``load_config`` merges them, validates the result
once, and records the source of every property.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axc.config.errors import ConfigError, closest, suggest, validation_message
from axc.config.legacy import LEGACY_KEYS, LEGACY_SECTIONS, flatten_legacy, is_legacy_key
from axc.config.readers import read_toml, read_yaml
from axc.config.schema import API_ALIASES, CompilerConfig, property_names
from pydantic import ValidationError

SHIPPED_DIR = Path(__file__).parent / "models"
"""The pre-tested configurations shipped with axc (``config/models/*.toml``)."""

CARD_SUFFIXES = (".yaml", ".yml")
DEFAULT = "default"
COMMAND_LINE = "command line"


def shipped_configs() -> list[Path]:
    """The shipped TOML configurations, sorted by name."""
    return sorted(SHIPPED_DIR.glob("*.toml"))


@dataclass
class EffectiveConfig:
    """A validated configuration and the source of each property's value.

    ``sources[key]`` is ``"default"``, ``"toml:<path>"``, ``"inline:<yaml path>"`` or
    ``"command line"``.
    """

    config: CompilerConfig
    sources: dict[str, str]

    def explicit(self) -> dict[str, Any]:
        """The properties some source set (not defaults), as JSON-compatible values."""
        values = self.config.model_dump(mode="json")
        return {key: values[key] for key, src in self.sources.items() if src != DEFAULT}


@dataclass
class Layer:
    """The settings one source gives, with where each was written (for messages)."""

    source: str
    """The tag recorded in ``EffectiveConfig.sources``."""
    file: Path | None
    prefix: str = ""
    """Key path of the settings in the file: ``models.m.extra_kwargs.compilation_config.``."""
    values: dict[str, Any] = field(default_factory=dict)
    written_as: dict[str, str] = field(default_factory=dict)

    def place(self, key: str) -> str:
        """``FILE: PREFIX.KEY`` as written, or ``command line: KEY``."""
        where = str(self.file) if self.file is not None else self.source
        return f"{where}: {self.prefix}{self.written_as.get(key, key)}"

    def origin(self) -> str:
        """The source in words: ``cfg.toml``, ``card.yaml (inline)``, ``command line``."""
        if self.file is None:
            return self.source
        return f"{self.file} (inline)" if self.source.startswith("inline:") else str(self.file)


def _check_keys(raw: Mapping[str, Any], layer: Layer) -> None:
    """Reject keys that are not properties (nor legacy keys in files), with a suggestion."""
    names = property_names()
    for key in raw:
        if not isinstance(key, str):
            raise ConfigError(f"{layer.place(str(key))}: a key must be a string, got {key!r}")
        if key in names or (layer.file is not None and is_legacy_key(key)):
            continue
        if key in API_ALIASES:
            raise ConfigError(
                f"{layer.place(key)}: '{key}' is a Python API name, "
                f"write '{API_ALIASES[key]}' in a configuration"
            )
        known = [*names, *LEGACY_SECTIONS, *LEGACY_KEYS]
        raise ConfigError(f"{layer.place(key)}: unknown key{suggest(key, known)}")


def _fill(layer: Layer, raw: Mapping[str, Any]) -> Layer:
    _check_keys(raw, layer)
    flat, written_as = flatten_legacy(raw, layer.place)
    names = set(property_names())
    layer.values = {k: v for k, v in raw.items() if k in names} | flat
    layer.written_as = written_as
    return layer


def toml_layer(path: Path) -> Layer:
    """The settings of a TOML configuration file (flat, or the older nested layout)."""
    return _fill(Layer(f"toml:{path}", path), read_toml(path))


def override_layer(overrides: Mapping[str, Any]) -> Layer:
    """Command-line settings (property names only)."""
    return _fill(Layer(COMMAND_LINE, None), dict(overrides))


def resolve_config_file(ref: str, card: Path, place: str) -> Path:
    """Find the file a card's ``compiler_config_file`` names.

    A bare file name is looked for in the card's folder, then among the shipped configurations; a
    relative path resolves from the card's folder; an absolute path is used as it is. ``place``
    prefixes the error message, which lists every place looked.
    """
    path = Path(ref)
    bare = "/" not in ref and "\\" not in ref
    if path.is_absolute():
        candidates = [path]
    elif bare:
        candidates = [card.parent / ref, SHIPPED_DIR / ref]
    else:
        candidates = [card.parent / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    hint = ""
    if bare:  # compare stems: 'x.toml' is not close to 'alexnet.toml'
        stems = {p.stem: p.name for p in shipped_configs()}
        close = closest(Path(ref).stem, stems)
        hint = f" (did you mean '{stems[close]}'?)" if close else ""
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"{place}: '{ref}' not found (looked in {looked}){hint}")


def _mapping(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be {what}, got {type(value).__name__}")
    return value


def read_card(card: Path) -> dict[str, Mapping[str, Any]]:
    """The ``models`` of a YAML model card: model name -> its entry."""
    doc = read_yaml(card)
    if not isinstance(doc, Mapping) or "models" not in doc:
        raise ConfigError(f"{card}: models: missing, a model card has a 'models' mapping")
    models = _mapping(doc["models"], f"{card}: models", "a mapping of model name to model")
    if not models:
        raise ConfigError(f"{card}: models: empty, a model card names at least one model")
    return {
        str(name): _mapping(entry, f"{card}: models.{name}", "a mapping")
        for name, entry in models.items()
    }


def select_model(card: Path, models: Mapping[str, Any], model: str | None) -> str:
    """The model to configure: ``model``, or the card's only model."""
    if model is None:
        if len(models) == 1:
            return next(iter(models))
        raise ConfigError(
            f"{card}: models: the card has {len(models)} models "
            f"({', '.join(models)}), choose one (--model NAME)"
        )
    if model not in models:
        raise ConfigError(
            f"{card}: models.{model}: no such model{suggest(model, models)}"
            f" (models: {', '.join(models)})"
        )
    return model


_CARD_KEYS = ("compilation_config", "compiler_config_file")


def card_layers(card: Path, model: str, entry: Mapping[str, Any]) -> list[Layer]:
    """The layers of one model of a card: its referenced TOML file, then its inline settings."""
    for key in _CARD_KEYS:
        if key in entry:
            raise ConfigError(
                f"{card}: models.{model}.{key}: belongs under extra_kwargs "
                f"(models.{model}.extra_kwargs.{key})"
            )
    prefix = f"models.{model}.extra_kwargs"
    kwargs = _mapping(entry.get("extra_kwargs"), f"{card}: {prefix}", "a mapping")
    for key in kwargs:  # a misspelt configuration key would otherwise be ignored
        close = suggest(str(key), _CARD_KEYS)
        if key not in _CARD_KEYS and close and "config" in str(key):
            raise ConfigError(f"{card}: {prefix}.{key}: unknown key{close}")
    layers = []
    ref = kwargs.get("compiler_config_file")
    if ref is not None:
        where = f"{card}: {prefix}.compiler_config_file"
        if not isinstance(ref, str) or not ref:
            raise ConfigError(f"{where}: must be a file name or path (a string), got {ref!r}")
        layers.append(toml_layer(resolve_config_file(ref, card, where)))
    inline = _mapping(
        kwargs.get("compilation_config"), f"{card}: {prefix}.compilation_config", "a mapping"
    )
    inline_layer = Layer(f"inline:{card}", card, f"{prefix}.compilation_config.")
    layers.append(_fill(inline_layer, inline))
    return layers


def _layers(path: Path | None, model: str | None) -> tuple[list[Layer], str]:
    if path is None:
        if model is not None:
            raise ConfigError(
                f"--model {model}: a model is chosen from a YAML model card, none given"
            )
        return [], "configuration"
    if path.suffix in CARD_SUFFIXES:
        models = read_card(path)
        name = select_model(path, models, model)
        return card_layers(path, name, models[name]), f"{path}: models.{name}"
    if path.suffix == ".toml":
        if model is not None:
            raise ConfigError(
                f"{path}: --model {model} applies to a YAML model card, not a TOML file"
            )
        return [toml_layer(path)], str(path)
    raise ConfigError(f"{path}: expected a YAML model card (.yaml, .yml) or a TOML file (.toml)")


def merge(layers: list[Layer], what: str) -> EffectiveConfig:
    """Merge ``layers`` (later wins) over the defaults and validate the result."""
    merged: dict[str, Any] = {}
    owner: dict[str, Layer] = {}
    for layer in layers:
        merged.update(layer.values)
        owner.update(dict.fromkeys(layer.values, layer))

    def place(key: str) -> str:
        return owner[key].place(key) if key in owner else f"{what}: {key} (default)"

    def origin(key: str) -> str:
        return owner[key].origin() if key in owner else DEFAULT

    try:
        config = CompilerConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, place, origin)) from None
    sources = {key: owner[key].source if key in owner else DEFAULT for key in property_names()}
    return EffectiveConfig(config, sources)


def load_config(
    path: str | Path | None, model: str | None = None, overrides: Mapping[str, Any] | None = None
) -> EffectiveConfig:
    """The effective configuration of a model card, a TOML file, or the defaults (``path=None``).

    ``model`` chooses a model of a card (needed when the card has several); ``overrides`` are
    command-line values, the highest precedence. Deprecated keys warn with
    ``ConfigDeprecationWarning``. Raises ``ConfigError`` with a one-line message.
    """
    layers, what = _layers(None if path is None else Path(path), model)
    if overrides:
        layers.append(override_layer(overrides))
    return merge(layers, what)
