"""``ax-config convert``: a model card's compiler settings as one TOML file (the reference's
``json_to_toml_config --from-yaml``).

The result holds the card's inline ``compilation_config`` merged over the TOML file it references
(legacy keys mapped to their new names), and nothing else: defaults stay defaults. Loading the
result gives the same effective configuration as the card; ``convert_card`` checks that before
returning the text.
"""

from __future__ import annotations

from pathlib import Path

import tomllib
from axc.config.errors import ConfigError
from axc.config.sources import CARD_SUFFIXES, Layer, load_config, merge, read_card, select_model
from axc.config.toml_writer import render_explicit


def convert_card(card: str | Path, model: str | None = None) -> str:
    """The TOML text of ``card``'s settings for ``model`` (or its only model)."""
    card = Path(card)
    if card.suffix not in CARD_SUFFIXES:
        raise ConfigError(f"{card}: --from-yaml expects a YAML model card (.yaml, .yml)")
    name = select_model(card, read_card(card), model)
    eff = load_config(card, name)
    values = eff.explicit()
    froms = sorted({src.partition(":")[2] for src in eff.sources.values() if src != "default"})
    header = [
        f"axc compiler configuration of model {name}, converted from {card} by ax-config convert"
    ]
    header += [f"settings from: {', '.join(froms)}"] if froms else []
    text = render_explicit(values, header)
    back = merge([Layer("toml:<converted>", None, values=tomllib.loads(text))], "converted")
    if back.config != eff.config:  # pragma: no cover - a bug in the writer, not in the input
        raise ConfigError(f"{card}: the converted TOML does not reproduce the configuration")
    return text
