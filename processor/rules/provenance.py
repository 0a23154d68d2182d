"""Record in the processed crash how this pass processed it (``processed_with``)."""

from __future__ import annotations

from typing import Any

import crashproc
from processor.resources.provenance import FIELD, stackwalker_record
from processor.rules.base import Rule
from processor.status import Status


class ProcessedWithRule(Rule):
    """Writes ``processed_with``: crashproc's version, the ruleset, and for rulesets that walk
    the dumps the stackwalker and the symbol sources.

    A ruleset that does not walk (``regenerate_signature``) leaves the stack as an earlier pass
    made it, so it keeps that pass's stackwalker and sources: the record must keep saying what
    the stored stack was made with, or a later reprocessing could not tell what it would lose.
    Built by ``build_rulesets``, the one place that knows the ruleset, settings and backend.
    """

    def __init__(
        self,
        ruleset: str,
        walks: bool = False,
        stackwalker: Any = None,
        symbol_sources: list[dict[str, str]] | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.walks = walks
        self.stackwalker = stackwalker
        self.symbol_sources = list(symbol_sources or [])
        self._stackwalker_record: dict[str, Any] | None = None

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        record: dict[str, Any] = {"crashproc_version": crashproc.version(), "ruleset": self.ruleset}
        if self.walks:
            if self._stackwalker_record is None:  # the external --version is asked once
                self._stackwalker_record = stackwalker_record(self.stackwalker)
            record["stackwalker"] = dict(self._stackwalker_record)
            record["symbol_sources"] = [dict(source) for source in self.symbol_sources]
        else:
            previous = processed_crash.get(FIELD)
            previous = previous if isinstance(previous, dict) else {}
            for key in ("stackwalker", "symbol_sources"):
                if key in previous:
                    record[key] = previous[key]
        processed_crash[FIELD] = record
