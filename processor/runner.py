"""Process crash inputs with a pipeline built from settings: the core of every command."""

from __future__ import annotations

import logging
import tempfile
from typing import Any

from processor.config import Settings
from processor.crashdir import CrashInput
from processor.errors import ErrorReporter
from processor.pipeline import Pipeline, UnknownRuleset
from processor.rulesets import build_rulesets

logger = logging.getLogger(__name__)


class CrashProcessor:
    """Holds one pipeline (rules, schemas, caches) and processes crashes with it."""

    def __init__(
        self, settings: Settings | None = None, error_reporter: ErrorReporter | None = None
    ):
        self.settings = settings or Settings()
        self.settings.check_resources()
        self.pipeline = Pipeline(
            build_rulesets(self.settings),
            hostname=self.settings.hostname,
            error_reporter=error_reporter,
        )

    @property
    def ruleset_names(self) -> list[str]:
        return sorted(self.pipeline.rulesets)

    def check_ruleset(self, ruleset: str) -> None:
        """Raise UnknownRuleset, naming the known ones, unless ``ruleset`` exists."""
        if ruleset not in self.pipeline.rulesets:
            known = ", ".join(self.ruleset_names)
            raise UnknownRuleset(f"unknown ruleset {ruleset!r}; known: {known}")

    def process(
        self,
        crash: CrashInput,
        ruleset: str = "default",
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run ``ruleset`` over ``crash``; ``previous`` is the stored result when reprocessing."""
        self.check_ruleset(ruleset)
        processed = dict(previous or {})
        with tempfile.TemporaryDirectory(prefix=f"crashproc-{crash.crash_id}-") as tmpdir:
            return self.pipeline.process_crash(
                ruleset, crash.raw_crash, crash.dumps, processed, tmpdir, notes=crash.notes
            )

    def close(self) -> None:
        self.pipeline.close()
