"""Process crash inputs with a pipeline built from settings: the core of every command."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from processor.config import Settings
from processor.crashdir import CrashInput
from processor.errors import ErrorReporter
from processor.jsontext import SURROGATE, compact_json, replace_lone_surrogates, surrogate_note
from processor.pipeline import Pipeline, UnknownRuleset
from processor.rulesets import build_rulesets
from processor.scratch import ScratchSpace

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
        # Crash files (protected data) only ever under this process's locked scratch directory.
        self.scratch = ScratchSpace(self.settings.scratch_dir)

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
        tmpdir: str | None = None,
    ) -> dict[str, Any]:
        """Run ``ruleset`` over ``crash``; ``previous`` is the stored result when reprocessing.

        ``tmpdir``: the crash's scratch directory when the caller already made one (a job
        fetches the dumps into it); otherwise one is made for the rules and removed after.
        """
        return clean_text(self._run(crash, ruleset, previous, tmpdir))

    def process_for_storage(
        self,
        crash: CrashInput,
        ruleset: str = "default",
        previous: dict[str, Any] | None = None,
        tmpdir: str | None = None,
    ) -> tuple[dict[str, Any], bytes | None]:
        """``process``, and the processed crash as storage encodes it when the one pass that
        looks for text UTF-8 cannot hold could make it (None: let storage encode it)."""
        return clean_and_encode(self._run(crash, ruleset, previous, tmpdir))

    def _run(
        self,
        crash: CrashInput,
        ruleset: str,
        previous: dict[str, Any] | None,
        tmpdir: str | None,
    ) -> dict[str, Any]:
        self.check_ruleset(ruleset)
        processed = dict(previous or {})
        with contextlib.ExitStack() as stack:
            if tmpdir is None:
                tmpdir = stack.enter_context(self.scratch.crash_directory(crash.crash_id))
            return self.pipeline.process_crash(
                ruleset, crash.raw_crash, crash.dumps, processed, tmpdir, notes=crash.notes
            )

    def close(self) -> None:
        self.pipeline.close()
        self.scratch.close()


def clean_and_encode(processed: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """``clean_text`` and the stored encoding (processor.storage's ``encode_json``) from one
    encoding: a production-sized crash is a megabyte of JSON, and encoding it once to look for
    lone surrogates and again to save it cost a tenth of a worker's time. None for the
    encoding when it cannot be shared (text to replace, or a value JSON cannot hold:
    clean_text and storage then decide as they always have)."""
    try:
        return processed, compact_json(processed)
    except (TypeError, ValueError):  # ValueError: UnicodeEncodeError, a lone surrogate
        return clean_text(processed), None


def clean_text(processed: dict[str, Any]) -> dict[str, Any]:
    """The processed crash with text no UTF-8 can hold replaced, and a note saying where: rules
    can bring it in from anywhere (a stackwalker output, JSON inside an annotation)."""
    # One pass in C finds out whether the walk in Python is needed at all.
    if not SURROGATE.search(json.dumps(processed, ensure_ascii=False, default=str)):
        return processed
    cleaned, replaced = replace_lone_surrogates(processed)
    if replaced:
        note = surrogate_note(replaced, "processed crash")
        notes = cleaned.get("processor_notes")
        cleaned["processor_notes"] = (
            f"{notes}\n{note}" if isinstance(notes, str) and notes else note
        )
    return cleaned
