"""``crashproc rules list [--ruleset NAME]``: each ruleset's rules in order, and where each
rule comes from (the file and line naming it, and a dotted path or a plugin's entry point)."""

from __future__ import annotations

import argparse
from typing import TextIO

from processor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_setting_argument,
    error,
    settings_from_args,
)
from processor.rulesets import RulesetError, load_rulesets

RECORDING_RULE = "processor.rules.provenance.ProcessedWithRule"


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    rulesets = load_rulesets(settings)
    wanted = [args.ruleset] if args.ruleset else sorted(rulesets)
    for name in wanted:
        if name not in rulesets:
            error(f"unknown ruleset {name!r}; known: {', '.join(sorted(rulesets))}")
            return EXIT_USAGE
    for number, name in enumerate(wanted):
        ruleset = rulesets[name]
        if number:
            print(file=out)
        print(f"{name}  ({ruleset.path})", file=out)
        entries = ruleset.with_extra_rules(settings.extra_rules)
        for position, entry in enumerate(entries, start=1):
            _, source = entry.resolve()
            resources = ", ".join(f"{k}={v}" for k, v in entry.resources.items())
            shown = f"{entry.name}({resources})" if resources else entry.name
            origin = entry.origin.replace(str(ruleset.path), ruleset.path.name, 1)
            print(f"{position:4}  {shown}  [{source}]  {origin}", file=out)
        print(f"{len(entries) + 1:4}  {RECORDING_RULE}  [added to every ruleset]", file=out)
    return EXIT_OK


def cmd_rules(args: argparse.Namespace, out: TextIO) -> int:
    try:
        return cmd_list(args, out)
    except RulesetError as exc:
        error(str(exc))
        return EXIT_USAGE


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("rules", help="the rulesets and their rules")
    actions = parser.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="each ruleset's rules in order, with where each rule comes from"
    )
    listing.add_argument("--ruleset", metavar="NAME", help="only this ruleset (default: all)")
    add_setting_argument(listing, "rulesets_dir", metavar="DIR")
    listing.set_defaults(func=cmd_rules)
