"""Throttling as data: ordered rules over annotations decide whether a report is kept.

A rules file (``collector.throttle_rules``) is YAML::

    rules:
      - name: nightly_everything          # [a-z0-9_]+, answered as Discarded=<name>
        match: {ReleaseChannel: nightly}  # every condition must hold
        accept: 100                       # percent of matching reports kept (0: none)
      - name: old_firefox
        match: {ProductName: Firefox, Version: {prefix: "52."}}
        accept: 0
      - name: release_sample
        match: {ReleaseChannel: [release, esr]}   # a list: any of these values
        accept: 10

A condition is a string (equal), a list of strings (one of), or a mapping with one of
``prefix``, ``regex`` (the whole value matches) or ``present`` (true/false). The first rule
whose conditions all hold decides; a report sent with ``Throttleable=0`` is always kept
(rule ``throttleable_0``, before every other); when no rule matches, the report is kept by
``accept_everything``. Sampling draws once per report (Antenna's rule: kept when a draw in
[0, 100) is below ``accept``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from processor.config import ConfigError

RULE_NAME_RE = re.compile(r"^[a-z0-9_]{1,64}$")
THROTTLEABLE_0 = "throttleable_0"
ACCEPT_EVERYTHING = "accept_everything"

Condition = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    accept: float  # percent

    def matches(self, annotations: Mapping[str, Any]) -> bool:
        return all(condition(annotations) for condition in self.conditions)


@dataclass(frozen=True)
class Decision:
    accepted: bool
    rule: str


class Throttler:
    """Decides per report; ``draw`` returns a number in [0, 100) (tests pass their own)."""

    def __init__(self, rules: list[Rule], draw: Callable[[], float] | None = None) -> None:
        self.rules = rules
        self.draw = draw or (lambda: random.random() * 100.0)

    def decide(self, annotations: Mapping[str, Any]) -> Decision:
        if str(annotations.get("Throttleable", "")) == "0":
            return Decision(True, THROTTLEABLE_0)
        for rule in self.rules:
            if rule.matches(annotations):
                if rule.accept >= 100:
                    return Decision(True, rule.name)
                return Decision(rule.accept > 0 and self.draw() < rule.accept, rule.name)
        return Decision(True, ACCEPT_EVERYTHING)


def _condition(key: str, spec: Any, where: str) -> Condition:
    if isinstance(spec, str | int | float) and not isinstance(spec, bool):
        wanted = str(spec)
        return lambda a: key in a and str(a[key]) == wanted
    if isinstance(spec, list) and spec and all(isinstance(v, str | int | float) for v in spec):
        choices = frozenset(str(v) for v in spec)
        return lambda a: key in a and str(a[key]) in choices
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, value),) = spec.items()
        if kind == "prefix" and isinstance(value, str):
            return lambda a: key in a and str(a[key]).startswith(value)
        if kind == "regex" and isinstance(value, str):
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ConfigError(f"{where}: bad regex for {key}: {exc}") from None
            return lambda a: key in a and pattern.fullmatch(str(a[key])) is not None
        if kind == "present" and isinstance(value, bool):
            return lambda a: (key in a) == value
    raise ConfigError(
        f"{where}: condition for {key!r} must be a string, a list of strings, or one of "
        "{prefix: ...}, {regex: ...}, {present: true|false}"
    )


def parse_rules(document: Any, source: str = "throttle rules") -> list[Rule]:
    """Rules from a parsed YAML document; ConfigError naming the rule for anything wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise ConfigError(f"{source}: expected a mapping with a 'rules' list")
    unknown = set(document) - {"rules"}
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}")
    rules, seen = [], set()
    for index, entry in enumerate(document["rules"], 1):
        where = f"{source}: rule {index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        extra = set(entry) - {"name", "match", "accept"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}")
        name = entry.get("name")
        if not isinstance(name, str) or not RULE_NAME_RE.match(name):
            raise ConfigError(f"{where}: name must match [a-z0-9_]+ (got {name!r})")
        if name in seen or name in (THROTTLEABLE_0, ACCEPT_EVERYTHING):
            raise ConfigError(f"{where}: rule name {name!r} is taken")
        seen.add(name)
        where = f"{source}: rule {name}"
        accept = entry.get("accept")
        if (
            isinstance(accept, bool)
            or not isinstance(accept, int | float)
            or not 0 <= accept <= 100
        ):
            raise ConfigError(f"{where}: accept must be a percentage from 0 to 100")
        match = entry.get("match", {})
        if not isinstance(match, dict):
            raise ConfigError(f"{where}: match must map annotation names to conditions")
        conditions = tuple(_condition(str(k), v, where) for k, v in match.items())
        rules.append(Rule(name, conditions, float(accept)))
    return rules


def load_throttler(path: Path | None) -> Throttler:
    """The throttler a rules file describes; None: accept everything."""
    if path is None:
        return Throttler([])
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read throttle rules: {exc}") from None
    return Throttler(parse_rules(document, str(path)))
