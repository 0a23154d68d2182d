"""Rules for crash reports from Java code (Fenix, GeckoView)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processor.resources.javastack import MalformedJavaStackTrace, parse_java_stack_trace
from processor.rules.base import AnnotationRule
from processor.status import Status

MALFORMED_NOTE = "JavaStackTrace: malformed JavaStackTrace"


class JavaStackTraceRule(AnnotationRule):
    """Keep the ``JavaStackTrace`` annotation as is (protected) and publish a sanitised copy.

    ``java_stack_trace_raw`` holds the annotation unchanged: its exception messages can carry
    user data, so the field is protected. ``java_stack_trace`` is public and holds only the
    exception class and the top-level frames; the signature generator works from it. Text that
    does not parse gives ``java_stack_trace = "malformed"`` and a note.
    """

    ANNOTATION = "JavaStackTrace"

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = raw_crash[self.ANNOTATION]
        if isinstance(value, str):
            processed_crash["java_stack_trace_raw"] = value
        try:
            public = parse_java_stack_trace(value).to_public_string()
        except MalformedJavaStackTrace:
            status.add_note(MALFORMED_NOTE)
            public = "malformed"
        processed_crash["java_stack_trace"] = public
