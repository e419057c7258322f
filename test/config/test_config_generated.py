"""docs/configuration.md and config/schema.json are generated from the definition and up to date;
the effects table covers every property."""

from __future__ import annotations

import json

from axc.config import gen_docs
from axc.config.effects import ACTED_ON, NOT_ACTED_ON, PROPERTY_EFFECTS
from axc.config.schema import AXC_ADDITIONS, json_schema, property_names


def test_schema_file_is_up_to_date() -> None:
    assert gen_docs.SCHEMA_PATH.read_text(encoding="utf-8") == gen_docs.render_schema(), (
        "config/schema.json is stale: run python -m axc.config.gen_docs"
    )
    assert json.loads(gen_docs.SCHEMA_PATH.read_text()) == json_schema()


def test_docs_page_is_up_to_date() -> None:
    assert gen_docs.DOCS_PATH.read_text(encoding="utf-8") == gen_docs.render_docs(), (
        "docs/configuration.md is stale: run python -m axc.config.gen_docs"
    )


def test_check_mode(capsys) -> None:  # type: ignore[no-untyped-def]
    assert gen_docs.main(["--check"]) == 0


def test_docs_describe_every_property_and_the_acted_on_list() -> None:
    page = gen_docs.render_docs()
    for key in property_names():
        assert f"- **`{key}`**" in page
    acted = page.split("## What axc acts on", 1)[1].split("## Properties", 1)[0]
    for key in ACTED_ON:
        assert f"- `{key}`: " in acted


def test_effects_cover_every_property() -> None:
    assert set(PROPERTY_EFFECTS) == set(property_names())
    assert set(property_names()) == ACTED_ON | NOT_ACTED_ON and not ACTED_ON & NOT_ACTED_ON
    assert len(ACTED_ON) == 38
    assert set(AXC_ADDITIONS) <= set(property_names())
