"""Checks every crashproc command-line parser must pass, as helpers taking a parser.

Each returns the offending arguments as ``"PROG: ARGUMENT"`` strings (empty when the parser
conforms), so a test can assert ``== []`` and the failure names every argument to fix, in
every subcommand, however deeply nested.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator


def walk_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and all its subcommand parsers, depth first (aliases visited once)."""
    yield parser
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from walk_parsers(sub)


def _name(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or action.metavar or action.dest


def _arguments(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The arguments a user types (not -h), hidden ones included."""
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction):
            yield action


def arguments_without_help(parser: argparse.ArgumentParser) -> list[str]:
    """Arguments and subcommands that ``--help`` lists without saying what they are.

    Hidden arguments (``help=argparse.SUPPRESS``, e.g. a flag's former name) are fine.
    """
    missing = []
    for each in walk_parsers(parser):
        for action in _arguments(each):
            if isinstance(action, argparse._SubParsersAction):
                # A subcommand added without help= has no entry in _choices_actions.
                helped = {c.dest for c in action._choices_actions if (c.help or "").strip()}
                names: dict[int, list[str]] = {}
                for name, sub in action.choices.items():
                    names.setdefault(id(sub), []).append(name)  # a command and its aliases
                missing += [
                    f"{each.prog}: {aliases[0]}"
                    for aliases in names.values()
                    if not helped.intersection(aliases)
                ]
            elif not (action.help or "").strip():
                missing.append(f"{each.prog}: {_name(action)}")
    return missing


def defaults_not_shown(parser: argparse.ArgumentParser) -> list[str]:
    """Options whose default is something (not off, empty or none) that their help hides.

    The help must name the default itself (``%(default)s`` keeps the two from drifting).
    """
    hidden = []
    for each in walk_parsers(parser):
        for action in _arguments(each):
            default = action.default
            if action.help == argparse.SUPPRESS or not default or default == argparse.SUPPRESS:
                continue
            text = action.help or ""  # no help at all is arguments_without_help's finding
            if "%(default)" not in text and str(default) not in text:
                hidden.append(f"{each.prog}: {_name(action)} (default {default!r})")
    return hidden
