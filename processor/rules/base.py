"""The rule interface every processing step implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from processor.metrics import METRICS
from processor.status import Status


class Rule:
    """One processing step over (raw_crash, dumps, processed_crash, tmpdir, status).

    ``dumps`` maps a dump's form-field name (``upload_file_minidump``, ``memory_report``, ...)
    to the path of its file; ``tmpdir`` names a per-crash scratch directory, removed after the
    crash is processed and made by the first writer (``processor.scratch.make_crash_directory``:
    most crashes need none). Rules change ``processed_crash`` in place and report problems as
    notes on ``status``; an exception is isolated by the pipeline, so raising is for bugs, not
    for bad input.
    """

    @property
    def name(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__}>"

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return True

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        return None

    def act(
        self,
        *,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        """Run the action when the predicate holds, timed per rule."""
        kwargs = dict(
            raw_crash=raw_crash,
            dumps=dumps,
            processed_crash=processed_crash,
            tmpdir=tmpdir,
            status=status,
        )
        with METRICS.timer("processor.rule.act.timing", tags=[f"rule:{type(self).__name__}"]):
            if self.predicate(**kwargs):
                self.action(**kwargs)

    def close(self) -> None:
        """Release resources held across crashes (caches, sessions)."""


class AnnotationRule(Rule):
    """A rule whose work is turning one annotation, ``ANNOTATION``, into processed fields.

    Such rules share one gate: they run only when the annotation is present and not empty
    (a JSON ``extra`` blob may also send ``false``, ``0``, ``[]`` or ``{}``, which count as
    empty), so their action can read ``raw_crash[self.ANNOTATION]`` without checking again.
    """

    ANNOTATION: ClassVar[str]

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return bool(raw_crash.get(self.ANNOTATION))
