"""The rulesets, as data: which rules run, in which order, built with which resources.

Each entry names a rule class by dotted path and, for constructor arguments, the name of a
``RulesetContext`` attribute to pass. Order matters and the comments say why.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any

from processor.config import ConfigError, Settings
from processor.resources.provenance import symbol_sources
from processor.resources.stackwalker import ExternalStackwalker
from processor.rules.base import Rule
from processor.rules.provenance import ProcessedWithRule
from schemas.library import Schema, load_schema


@dataclass(frozen=True)
class RuleSpec:
    """A rule class by dotted path, with constructor arguments named by context attribute."""

    path: str
    kwargs: dict[str, str] = field(default_factory=dict)

    def build(self, context: RulesetContext) -> Rule:
        rule_class = import_rule_class(self.path)
        return rule_class(**{name: getattr(context, attr) for name, attr in self.kwargs.items()})


def spec(path: str, **kwargs: str) -> RuleSpec:
    return RuleSpec(path, dict(kwargs))


SIGNATURE_RULE = "processor.rules.signature.SignatureGeneratorRule"
STACKWALK_RULE = "processor.rules.stackwalk.StackwalkRule"

DEFAULT_RULESET: list[RuleSpec] = [
    # -- Clean up the raw crash: every later rule reads it.
    spec("processor.rules.general.DeNullRule"),
    spec("processor.rules.general.DeNoneRule"),
    spec(
        "processor.rules.annotations.OversizedAnnotationRule", max_value_size="max_annotation_size"
    ),
    # -- Collector data.
    spec("processor.rules.general.CrashReportKeysRule"),
    spec("processor.rules.general.CollectorMetadataRule"),
    # -- Raw -> processed: schema check and schema-driven copy first, so the rules below can
    #    read typed fields (product, version, startup_time, ...).
    spec("processor.rules.annotations.RawCrashSchemaRule", raw_schema="raw_schema"),
    spec("processor.rules.annotations.CopyFromRawCrashRule", schema="processed_schema"),
    spec("processor.rules.mozilla.ESRVersionRewrite"),
    spec("processor.rules.mozilla.SubmittedFromRule"),
    spec("processor.rules.general.IdentifierRule"),
    spec("processor.rules.general.MinidumpSha256HashRule"),
    # -- Stackwalker output, then everything derived from json_dump.
    spec(STACKWALK_RULE, stackwalker="stackwalker"),
    # Before anything reads frames or modules: fills what the stackwalker could not symbolicate
    # (code-info recovery of modules without a debug id included).
    spec(
        "processor.rules.symbolication.SymbolicationRule",
        symbols="symbol_provider",
        stackwalker="stackwalker",
    ),
    spec("processor.rules.breakpad.ModuleURLRewriteRule"),
    spec("processor.rules.breakpad.CrashingThreadInfoRule"),
    spec("processor.rules.breakpad.TruncateStacksRule"),
    spec("processor.rules.breakpad.PossibleBitFlipsRule"),
    spec("processor.rules.breakpad.CrashInconsistenciesRule"),
    spec("processor.rules.breakpad.HasGuardPageAccessRule"),
    # -- Annotation-derived fields.
    spec("processor.rules.mozilla.MajorVersionRule"),
    spec("processor.rules.mozilla.PluginRule"),
    spec("processor.rules.mozilla.ProcessTypeRule"),
    spec("processor.rules.mozilla.AccessibilityRule"),
    spec("processor.rules.mozilla.AddonsRule"),
    spec("processor.rules.mozilla.DatesAndTimesRule"),
    spec("processor.rules.memory.OutOfMemoryBinaryRule"),
    spec("processor.rules.mozilla.PHCRule"),
    spec("processor.rules.breadcrumbs.BreadcrumbsRule", schema="processed_schema"),
    spec("processor.rules.java.JavaStackTraceRule"),
    spec("processor.rules.breakpad.MacBootArgsRule"),
    spec("processor.rules.breakpad.MacCrashInfoRule"),
    spec("processor.rules.mozilla.MozCrashReasonRule"),
    spec("processor.rules.mozilla.UtilityActorsNameRule"),
    spec("processor.rules.breakpad.ReportTypeRule"),
    # -- Post-processing of the processed crash. CPU/OS from the minidump first, then the
    #    Android fallbacks, then annotation fallbacks for crashes without a minidump
    #    (PlatformInfoRule), and only then the pretty OS version built from them.
    spec("processor.rules.platform.CPUInfoRule"),
    spec("processor.rules.platform.AndroidCPUInfoRule"),
    spec("processor.rules.mozilla.DistributionIdRule"),
    spec("processor.rules.platform.OSInfoRule"),
    spec("processor.rules.platform.AndroidOSInfoRule"),
    spec("processor.rules.platform.PlatformInfoRule"),
    spec("processor.rules.mozilla.BetaVersionRule", version_lookup="version_lookup"),
    spec("processor.rules.platform.OSPrettyVersionRule"),
    spec("processor.rules.breakpad.TopMostFilesRule"),
    spec("processor.rules.breakpad.ModulesInStackRule"),
    spec("processor.rules.breakpad.MissingSymbolsRule"),
    spec("processor.rules.mozilla.ThemePrettyNameRule"),
    spec("processor.rules.memory.MemoryReportExtraction"),
    spec("processor.rules.breakpad.SoftErrorsRule"),
    spec("processor.rules.breakpad.ThreadCountRule"),
    # -- Signature generation after everything it reads; extra rules from configuration are
    #    inserted just before it.
    spec(SIGNATURE_RULE, schema="processed_schema"),
    # -- After the signature: only changes the stored crashing_thread for shutdown hangs.
    spec("processor.rules.breakpad.ShutDownHangCrashingThreadRule"),
    # -- Every ruleset ends with ProcessedWithRule, added by build_rulesets (it needs the
    #    ruleset's name).
]

# Reprocessing that only recomputes the signature from the stored processed crash.
REGENERATE_SIGNATURE_RULESET: list[RuleSpec] = [
    spec(SIGNATURE_RULE, schema="processed_schema"),
]

RULESETS: dict[str, list[RuleSpec]] = {
    "default": DEFAULT_RULESET,
    "regenerate_signature": REGENERATE_SIGNATURE_RULESET,
}


class RulesetError(ValueError):
    """A rule that cannot be loaded; the message names it."""


def ruleset_walks(name: str) -> bool:
    """Whether the ruleset walks the dumps (so its result depends on stackwalker and symbols)."""
    return any(s.path == STACKWALK_RULE for s in RULESETS.get(name, []))


def import_rule_class(path: str) -> type[Rule]:
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise RulesetError(f"rule {path!r} is not a dotted path (module.Class)")
    try:
        rule_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise RulesetError(f"cannot load rule {path!r}: {exc}") from exc
    if not (isinstance(rule_class, type) and issubclass(rule_class, Rule)):
        raise RulesetError(f"{path!r} is not a Rule class")
    return rule_class


class RulesetContext:
    """The resources rules are built with, made once per pipeline and only when asked for."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @functools.cached_property
    def processed_schema(self) -> Schema:
        return load_schema("processed_crash", self.settings.schema_dir)

    @functools.cached_property
    def raw_schema(self) -> Schema:
        return load_schema("raw_crash", self.settings.schema_dir)

    @property
    def max_annotation_size(self) -> int:
        return self.settings.max_annotation_size

    @functools.cached_property
    def stackwalker(self) -> Any:
        """The configured backend: ExternalStackwalker, BuiltinStackwalker or None."""
        settings = self.settings
        settings.check()
        if settings.stackwalker == "none":
            return None
        if settings.stackwalker == "builtin":
            return self.builtin_stackwalker
        found = ExternalStackwalker.find(
            settings.stackwalker_command,
            symbols_paths=list(settings.symbols_paths),
            symbols_urls=list(settings.symbols_urls),
            symbols_cache=str(settings.symbols_cache) if settings.symbols_cache else None,
            timeout=settings.stackwalker_timeout,
        )
        if found is None and settings.stackwalker == "external":
            raise ConfigError(f"stackwalker command {settings.stackwalker_command!r} not found")
        return found if found is not None else self.builtin_stackwalker

    @property
    def builtin_stackwalker(self) -> Any:
        from processor.resources.builtin_stackwalker import BuiltinStackwalker

        return BuiltinStackwalker(self.symbol_provider)

    @functools.cached_property
    def symbol_provider(self) -> Any:
        """One provider per pipeline, so symbol files are found and opened once per process."""
        from processor.resources.symbols import build_symbol_provider

        return build_symbol_provider(self.settings)

    @functools.cached_property
    def version_lookup(self) -> Any:
        from processor.resources.versionlookup import TableVersionLookup

        return TableVersionLookup(self.settings.beta_version_table)


def build_rulesets(settings: Settings | None = None) -> dict[str, list[Rule]]:
    """Instantiate every ruleset, with the configured extra rules in ``default``."""
    settings = settings or Settings()
    context = RulesetContext(settings)
    rulesets = {}
    for name, specs in RULESETS.items():
        specs = list(specs)
        if name == "default" and settings.extra_rules:
            position = next(
                (i for i, s in enumerate(specs) if s.path == SIGNATURE_RULE), len(specs)
            )
            specs[position:position] = [RuleSpec(path) for path in settings.extra_rules]
        rulesets[name] = [s.build(context) for s in specs]
        rulesets[name].append(processed_with_rule(name, context))
    return rulesets


def processed_with_rule(name: str, context: RulesetContext) -> Rule:
    """The rule recording how ruleset ``name`` ran: here the ruleset's name, the settings and
    the backend are all known."""
    if not ruleset_walks(name):
        return ProcessedWithRule(name)
    return ProcessedWithRule(
        name,
        walks=True,
        stackwalker=context.stackwalker,
        symbol_sources=symbol_sources(context.settings),
    )
