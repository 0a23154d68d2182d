"""``crashproc config show``: the effective settings and where each came from.

One configuration serves every command; this is how a user sees what it amounts to here
(file, environment and flags merged), and which file line or variable to change. Secrets are
masked. Exit status 2 when a setting is unusable (the problems are listed after the settings).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from crashproc import config as configuration
from processor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    FLAGS,
    add_pipeline_arguments,
    add_setting_argument,
    given_flags,
)
from processor.config import FIELD_KEYS

MASK = "********"


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    flags = {FIELD_KEYS[name]: given for name, given in given_flags(args).items()}
    config = configuration.load(config_file=args.config, flags=flags)
    decls = configuration.declarations()
    if args.format == "json":
        document = {
            "file": str(config.path) if config.path else None,
            "settings": {
                key: {
                    "value": MASK if decls[key].secret and value.value is not None else value.value,
                    "source": value.source,
                    "origin": value.origin,
                }
                for key, value in config.values.items()
            },
            "problems": [message for _, message in config.problems],
        }
        print(json.dumps(document, indent=2), file=out)
    else:
        where = config.path or "none (defaults, environment and flags only)"
        print(f"# configuration file: {where}", file=out)
        section = None
        for key, value in config.values.items():
            decl = decls[key]
            if decl.section != section:
                section = decl.section
                print(f"\n[{section}]", file=out)
            name = key.split(".", 1)[1]
            origin = value.source if value.source == "default" else f"{value.source} {value.origin}"
            if value.value is None or value.value == []:
                # Commented out, so the output stays a TOML file one can start from.
                print(f"# {name} is unset: {decl.unset}  ({origin})", file=out)
            else:
                shown = configuration.format_value(decl, value.value)
                print(f"{name} = {shown}  # {origin}", file=out)
    for _, message in config.problems:
        print(f"crashproc: error: {message}", file=sys.stderr)
    return EXIT_USAGE if config.problems else EXIT_OK


def settings_table() -> str:
    """Every setting as a Markdown table (the README's settings table is this text)."""
    lines = [
        "| setting | environment variable | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for decl in configuration.declarations().values():
        meaning = decl.help
        if decl.secret:
            meaning += "; secret: never shown"
        default = decl.default_text()
        shown = f"`{default}`" if decl.default not in (None, []) else default
        meaning = meaning.replace("|", "\\|")
        lines.append(f"| `{decl.key}` | `{decl.env}` | {shown} | {meaning} |")
    return "\n".join(lines) + "\n"


def cmd_docs(args: argparse.Namespace, out: TextIO) -> int:
    out.write(settings_table())
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("config", help="the configuration every command reads")
    actions = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", help="print the effective settings and where each came from (secrets masked)"
    )
    show.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )
    # The flags every other command takes, so `config show` can show their effect too.
    add_pipeline_arguments(show)
    for name in ("storage", "queue", "workers", "report_index"):
        if name in FLAGS:
            add_setting_argument(show, name)
    show.set_defaults(func=cmd_show)
    docs = actions.add_parser("docs", help="every setting as a Markdown table")
    docs.set_defaults(func=cmd_docs)
