"""ax-config: show, check, convert and list compiler configurations, and print their JSON schema.

    ax-config show [CARD.yaml|CONFIG.toml] [--model NAME] [--set KEY=VALUE ...]
    ax-config check CARD.yaml|CONFIG.toml [--model NAME] [--set KEY=VALUE ...]
    ax-config convert --from-yaml CARD.yaml [--model NAME] [-o OUT.toml]
    ax-config list
    ax-config schema

Errors print ``ax-config: error: <message>`` (one line) to stderr and exit with status 1; nothing
is written. Deprecation warnings print ``ax-config: warning: <message>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from axc.config import ConfigError, check_card_budget, json_schema, load_config, parse_override
from axc.config.convert import convert_card
from axc.config.sources import CARD_SUFFIXES, shipped_configs
from axc.config.toml_writer import render_effective, write_atomic

PROG = "ax-config"


def _overrides(pairs: list[str]) -> dict[str, object]:
    overrides: dict[str, object] = {}
    for pair in pairs:
        key, value = parse_override(pair)
        overrides[key] = value
    return overrides


def _is_card(path: Path | None) -> bool:
    return path is not None and path.suffix in CARD_SUFFIXES


def cmd_show(args: argparse.Namespace) -> str:
    """The effective configuration as TOML, each value's source as a comment."""
    overrides = _overrides(args.set)
    eff = load_config(args.config, args.model, overrides)
    if _is_card(args.config):
        budget = check_card_budget(args.config, args.model, overrides)
        model = args.model or next(iter(budget.models))
        title = f"{args.config}, model {model}"
    else:
        title = str(args.config) if args.config else "defaults"
    return render_effective(eff, title)


def cmd_check(args: argparse.Namespace) -> str:
    """Validate a card (every model, and the cascade's budget) or a TOML file."""
    overrides = _overrides(args.set)
    if _is_card(args.config):
        return check_card_budget(args.config, args.model, overrides).summary() + ": ok\n"
    load_config(args.config, args.model, overrides)
    return f"{args.config}: ok\n"


def cmd_convert(args: argparse.Namespace) -> str:
    """A card's settings (its TOML file merged under its inline settings) as one TOML file."""
    text = convert_card(args.from_yaml, args.model)
    if args.output is None:
        return text
    write_atomic(args.output, text)
    return ""


def cmd_list(args: argparse.Namespace) -> str:
    """The shipped configurations, with the first line of each file's comment."""
    rows = []
    for path in shipped_configs():
        first = path.read_text(encoding="utf-8").splitlines()[:1]
        about = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""
        rows.append((path.name, about))
    width = max((len(name) for name, _ in rows), default=0)
    return "".join(f"{name:<{width}}  {about}".rstrip() + "\n" for name, about in rows)


def cmd_schema(args: argparse.Namespace) -> str:
    """The JSON schema of the configuration."""
    return json.dumps(json_schema(), indent=2) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ax-config."""
    parser = argparse.ArgumentParser(prog=PROG, description="axc compiler configurations.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(name: str, help_text: str, optional: bool) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument(
            "config", type=Path, nargs="?" if optional else None, metavar="CARD.yaml|CONFIG.toml"
        )
        cmd.add_argument("--model", help="the model of a card with several models")
        cmd.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="command-line value (TOML syntax; a bare word is a string)",
        )
        return cmd

    with_config(
        "show", "print the effective configuration with the source of each value", optional=True
    ).set_defaults(run=cmd_show)
    with_config(
        "check",
        "validate a card (every model and the multi-core budget) or a TOML file",
        optional=False,
    ).set_defaults(run=cmd_check)
    convert = sub.add_parser("convert", help="write a card's compiler settings as a TOML file")
    convert.add_argument("--from-yaml", type=Path, required=True, metavar="CARD.yaml")
    convert.add_argument("--model", help="the model of a card with several models")
    convert.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="OUT.toml",
        help="output file (written atomically); default: standard output",
    )
    convert.set_defaults(run=cmd_convert)
    sub.add_parser("list", help="list the shipped configurations").set_defaults(run=cmd_list)
    sub.add_parser("schema", help="print the JSON schema").set_defaults(run=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ax-config; returns the exit status."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            output = args.run(args)
        except ConfigError as exc:
            output = None
            error = str(exc)
    for message in dict.fromkeys(str(w.message) for w in caught):  # each once, in order
        print(f"{PROG}: warning: {message}", file=sys.stderr)
    if output is None:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
