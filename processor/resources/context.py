"""The resources rules are built with, made from settings once per pipeline, on demand.

A ruleset file names a rule's constructor arguments by these resources' names (``with:``);
RESOURCES lists them so a ruleset is checked before anything runs.
"""

from __future__ import annotations

import functools
from typing import Any

from processor.config import ConfigError, Settings
from processor.resources.stackwalker import ExternalStackwalker, Stackwalker
from schemas.library import Schema, load_schema

# Every resource a ruleset may pass to a rule's constructor.
RESOURCES = (
    "processed_schema",
    "raw_schema",
    "max_annotation_size",
    "stackwalker",
    "stackwalk_limits",
    "symbol_provider",
    "version_lookup",
)


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
    def stackwalker(self) -> Stackwalker | None:
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
            limits=self.stackwalk_limits,
        )
        if found is None and settings.stackwalker == "external":
            raise ConfigError(f"stackwalker command {settings.stackwalker_command!r} not found")
        return found if found is not None else self.builtin_stackwalker

    @functools.cached_property
    def stackwalk_limits(self) -> Any:
        """The stackwalker caps (stackwalk.limits.WalkLimits), for outputs of any origin."""
        return self.settings.walk_limits()

    @property
    def builtin_stackwalker(self) -> Any:
        from processor.resources.builtin_stackwalker import BuiltinStackwalker

        return BuiltinStackwalker(self.symbol_provider, self.stackwalk_limits)

    @functools.cached_property
    def symbol_provider(self) -> Any:
        """One provider per pipeline, so symbol files are found and opened once per process."""
        from processor.resources.symbols import build_symbol_provider

        return build_symbol_provider(self.settings)

    @functools.cached_property
    def version_lookup(self) -> Any:
        from processor.resources.versionlookup import TableVersionLookup

        return TableVersionLookup(self.settings.beta_version_table)
