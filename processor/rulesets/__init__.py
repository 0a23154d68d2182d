"""Rulesets are data: YAML files naming rules in order, with the resources each is built with.

The bundled rulesets are the ``*.yaml`` files beside this module (``default``,
``regenerate_signature``); a directory named by the ``processor.rulesets`` setting adds
rulesets or replaces bundled ones by file name. A rule is named by dotted path or by the name
a package registered in the ``crashproc.rules`` entry-point group, so a third-party package
adds rules without touching crashproc. Files are checked against ``ruleset.schema.yaml`` and
every rule and resource is resolved before anything runs; an error names the file and line.

Every ruleset ends with ``ProcessedWithRule``, which records how the crash was processed.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from crashproc import yamlfile
from processor.config import Settings
from processor.resources.context import RESOURCES, RulesetContext
from processor.resources.provenance import symbol_sources
from processor.rules.base import Rule
from processor.rules.provenance import ProcessedWithRule

BUNDLED_DIR = Path(__file__).parent
FORMAT_FILE = BUNDLED_DIR / "ruleset.schema.yaml"
ENTRY_POINT_GROUP = "crashproc.rules"
EXTRA_RULES = "extra_rules"
STACKWALK_RULE = "processor.rules.stackwalk.StackwalkRule"


class RulesetError(ValueError):
    """A ruleset or rule that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class RuleEntry:
    """One rule of a ruleset file: its name as written, its resources, where it was written."""

    name: str
    resources: dict[str, str] = field(default_factory=dict)
    origin: str = ""

    def resolve(self) -> tuple[type[Rule], str]:
        """The Rule class and where it comes from (an entry point's distribution, or a path)."""
        try:
            return resolve_rule(self.name)
        except RulesetError as exc:
            raise RulesetError(f"{self.origin}: {exc}") from None


@dataclass(frozen=True)
class Ruleset:
    """A named list of rule entries (``None`` marks where extra rules go), from one file."""

    name: str
    path: Path
    entries: tuple[RuleEntry | None, ...]

    @property
    def walks(self) -> bool:
        """Whether it walks the dumps (so its result depends on stackwalker and symbols)."""
        return any(e is not None and e.name == STACKWALK_RULE for e in self.entries)

    def with_extra_rules(self, extra: Iterable[str]) -> list[RuleEntry]:
        """The entries with the configured extra rules at the ruleset's marker (if any)."""
        rules: list[RuleEntry] = []
        for entry in self.entries:
            if entry is None:
                rules += [
                    RuleEntry(path, {}, f"setting processor.extra_rules ({path})") for path in extra
                ]
            else:
                rules.append(entry)
        return rules


# -- reading files ----------------------------------------------------------------------------


@functools.cache
def _format() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(yamlfile.load(FORMAT_FILE))


def _node_at(node: yaml.Node, path: Iterable[Any]) -> yaml.Node:
    """The YAML node at a JSON path (as far as it goes), for its line number."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == step), None)
            if found is None:
                found = next((k for k, _ in node.value if k.value == step), node)
            node = found
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
        else:
            break
    return node


def read_ruleset(path: Path) -> Ruleset:
    """One ruleset file, checked against the format; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
        # libyaml when present (yamlfile.SafeLoader): PyYAML's own parser took a tenth of a
        # worker's start-up for the three bundled files, read twice (nodes for line numbers,
        # then the document).
        root = yaml.compose(text, Loader=yamlfile.SafeLoader)
    except OSError as exc:
        raise RulesetError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RulesetError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    document = yamlfile.parse(text) if root is not None else None
    errors = sorted(_format().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        node = _node_at(root, error.absolute_path) if root is not None else None
        line = node.start_mark.line + 1 if node is not None else 1
        where = "/".join(str(p) for p in error.absolute_path) or "the file"
        raise RulesetError(f"{path}:{line}: {where}: {_reason(error)}")
    entries: list[RuleEntry | None] = []
    items = _node_at(root, ["rules"])
    for index, item in enumerate(document["rules"]):
        line = items.value[index].start_mark.line + 1
        if item == EXTRA_RULES:
            if None in entries:
                raise RulesetError(f"{path}:{line}: extra_rules appears twice")
            entries.append(None)
        else:
            entries.append(RuleEntry(item["rule"], dict(item.get("with") or {}), f"{path}:{line}"))
    return Ruleset(path.stem, path, tuple(entries))


def _reason(error: jsonschema.ValidationError) -> str:
    if error.validator == "oneOf":
        return "each rule is `- rule: NAME` (with an optional `with:` mapping) or `- extra_rules`"
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    return error.message


def ruleset_files(directory: Path | None) -> dict[str, Path]:
    """The bundled ruleset files, replaced or extended by those of ``directory``."""
    found = {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.yaml")) if p != FORMAT_FILE}
    if directory is not None:
        if not directory.is_dir():
            raise RulesetError(f"processor.rulesets: {directory} is not a directory")
        found.update({p.stem: p for p in sorted(directory.glob("*.yaml"))})
    return found


def load_rulesets(settings: Settings) -> dict[str, Ruleset]:
    """Every ruleset the settings give, read and checked (rules resolved, resources known)."""
    rulesets = {
        name: read_ruleset(path) for name, path in ruleset_files(settings.rulesets_dir).items()
    }
    for ruleset in rulesets.values():
        for entry in ruleset.with_extra_rules(settings.extra_rules):
            check_entry(entry)
    return rulesets


# -- resolving rules ------------------------------------------------------------------------


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return _entry_points_on(tuple(sys.path))


@functools.lru_cache(maxsize=4)
def _entry_points_on(path: tuple[str, ...]) -> dict[str, metadata.EntryPoint]:
    """The registered rules of the distributions on ``path``: scanning every installed
    distribution takes about 10 ms, and a ruleset asks for each of its 50-odd rules (twice)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def resolve_rule(name: str) -> tuple[type[Rule], str]:
    """A rule by entry-point name or dotted path, with a description of where it comes from."""
    plugins = _entry_points()
    if name in plugins:
        entry_point = plugins[name]
        try:
            found = entry_point.load()
        except Exception as exc:  # a broken plugin is the plugin's error, named as such
            raise RulesetError(
                f"rule {name!r}: entry point {entry_point.value} cannot be loaded: "
                f"{exc.__class__.__name__}"
            ) from None
        dist = entry_point.dist
        source = f"entry point {entry_point.value}" + (
            f" ({dist.name} {dist.version})" if dist is not None else ""
        )
    else:
        module_name, _, class_name = name.rpartition(".")
        if not module_name:
            known = ", ".join(sorted(plugins)) or "none installed"
            raise RulesetError(
                f"rule {name!r} is neither a dotted path (module.Class) nor a registered "
                f"{ENTRY_POINT_GROUP} entry point ({known})"
            )
        try:
            found = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise RulesetError(f"cannot load rule {name!r}: {exc}") from None
        source = "dotted path"
    if not (isinstance(found, type) and issubclass(found, Rule)):
        raise RulesetError(f"{name!r} is not a Rule class")
    return found, source


def check_entry(entry: RuleEntry) -> type[Rule]:
    """Resolve an entry's rule and check its resources against the constructor."""
    rule_class, _ = entry.resolve()
    for argument, resource in entry.resources.items():
        if resource not in RESOURCES:
            raise RulesetError(
                f"{entry.origin}: {entry.name}: unknown resource {resource!r} for {argument!r} "
                f"(resources: {', '.join(RESOURCES)})"
            )
    try:
        inspect.signature(rule_class).bind(**entry.resources)
    except TypeError as exc:
        raise RulesetError(f"{entry.origin}: {entry.name}: {exc}") from None
    return rule_class


# -- building ---------------------------------------------------------------------------------


def build_rulesets(settings: Settings | None = None) -> dict[str, list[Rule]]:
    """Instantiate every ruleset, each ending with the rule that records how it ran."""
    settings = settings or Settings()
    context = RulesetContext(settings)
    built = {}
    for name, ruleset in load_rulesets(settings).items():
        rules = []
        for entry in ruleset.with_extra_rules(settings.extra_rules):
            rule_class = check_entry(entry)
            rules.append(
                rule_class(**{arg: getattr(context, res) for arg, res in entry.resources.items()})
            )
        rules.append(processed_with_rule(ruleset, context))
        built[name] = rules
    return built


def processed_with_rule(ruleset: Ruleset, context: RulesetContext) -> Rule:
    """The rule recording how ``ruleset`` ran: here the ruleset's name, the settings and the
    backend are all known."""
    if not ruleset.walks:
        return ProcessedWithRule(ruleset.name)
    return ProcessedWithRule(
        ruleset.name,
        walks=True,
        stackwalker=context.stackwalker,
        symbol_sources=symbol_sources(context.settings),
    )


def bundled_ruleset_names() -> list[str]:
    """The names of the bundled rulesets (for help texts)."""
    return sorted(ruleset_files(None))
