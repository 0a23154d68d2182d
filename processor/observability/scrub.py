"""Remove protected crash data from Sentry events before they leave the process.

Sentry is read by more people than may see protected annotations (URLs, email addresses,
comments, exception messages from the crashing program...). An event can pick such values up
in several places, and each place gets a rule:

- free-form data attached by code (``extra``, ``contexts``, ``tags``): every value under a key
  named like a protected field is masked, at any depth. The names come from the schemas (each
  protected raw-crash annotation, and the processed fields copied from one or protected
  themselves), so a new protected annotation is covered by a schema edit alone;
- exception messages: formatted by arbitrary code from arbitrary data (a ValueError quoting an
  annotation, a KeyError naming a key), so they are all masked; type and stack stay;
- local variables of stack frames: masked (the SDK is also told not to collect them);
- breadcrumbs: their messages and data are log lines and their arguments, which may quote a
  value; level, category (logger) and time stay;
- log entries: the formatted message and its arguments are masked; the template stays;
- request data and the user: the processor serves no web requests and has no users, so
  anything there is unexpected and masked whole.

A rule that fails replaces its value with an error marker; a scrub that cannot even walk the
event drops the event, because sending it unscrubbed is the one thing that must not happen.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fillmore.scrubber import MASK_TEXT, Rule, Scrubber

from processor.metrics import METRICS
from schemas.library import PROTECTED, load_schema

logger = logging.getLogger(__name__)

MASK = MASK_TEXT
# fillmore paths start below the event, so the scrubber wraps the event under this key and
# rules that need the event's own top-level keys address them through it.
ROOT = "event"
# Sections of an event where code attaches data of its own choosing.
FREE_FORM_SECTIONS = ("extra", "contexts", "tags")


def mask(value: Any) -> Any:
    """The mask for a value that has content; empty values stay as they are (nothing to hide)."""
    return value if value in (None, "", {}, []) else MASK


@functools.cache
def _protected_names(schema_dir: str | None) -> frozenset[str]:
    raw = load_schema("raw_crash", schema_dir)
    processed = load_schema("processed_crash", schema_dir)
    annotations = {
        field.path
        for field in raw.iter_fields()
        if field.permission == PROTECTED and "." not in field.path and "[" not in field.path
    }
    copied = {
        name for name, source in processed.source_annotations().items() if source in annotations
    }
    processed_protected = set(processed.properties) - processed.public_field_names()
    return frozenset(name.lower() for name in annotations | copied | processed_protected)


def protected_names(schema_dir: str | Path | None = None) -> frozenset[str]:
    """Lower-cased names whose values are protected: annotations and processed fields."""
    return _protected_names(str(schema_dir) if schema_dir is not None else None)


def build_key_masker(names: Iterable[str]) -> Callable[[Any], Any]:
    """A scrub function masking, at any depth, every value whose key is one of ``names``.

    Keys match case-insensitively: the same datum is ``URL`` in a raw crash and ``url`` in a
    processed crash.
    """
    lowered = frozenset(name.lower() for name in names)

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: mask(item) if str(key).lower() in lowered else scrub(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [scrub(item) for item in value]
        return value

    return scrub


def scrub_rules(names: Iterable[str]) -> list[Rule]:
    """The fillmore rules for an event wrapped as ``{ROOT: event}``."""
    frames = "stacktrace.frames.[]"
    return [
        Rule(path=ROOT, keys=list(FREE_FORM_SECTIONS), scrub=build_key_masker(names)),
        Rule(path=ROOT, keys=["user"], scrub=mask),
        Rule(
            path=f"{ROOT}.request",
            keys=["url", "query_string", "data", "cookies", "headers", "env"],
            scrub=mask,
        ),
        Rule(path=f"{ROOT}.exception.values.[]", keys=["value"], scrub=mask),
        Rule(path=f"{ROOT}.exception.values.[].{frames}", keys=["vars"], scrub=mask),
        Rule(path=f"{ROOT}.threads.values.[].{frames}", keys=["vars"], scrub=mask),
        Rule(path=f"{ROOT}.breadcrumbs.values.[]", keys=["message", "data"], scrub=mask),
        Rule(path=f"{ROOT}.logentry", keys=["formatted", "params"], scrub=mask),
    ]


class ProtectedDataScrubber:
    """Sentry's ``before_send``: scrubs each event with fillmore, or drops it if that fails."""

    def __init__(self, names: Iterable[str], service: str = "processor"):
        self.service = service
        self.rules = scrub_rules(names)

    def __call__(self, event: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        # A scrubber per event: events are sent from several threads, each with its own errors.
        errors: list[str] = []
        wrapped = Scrubber(rules=self.rules, error_handler=errors.append)({ROOT: event}, hint)
        if not errors:
            return wrapped[ROOT]
        METRICS.incr("sentry_scrub_error", tags=[f"service:{self.service}"])
        # fillmore has replaced a value it could not scrub ("scrub fun error"); any other
        # error means a rule could not reach its part of the event, which may be unscrubbed.
        if all(message.startswith("scrub fun error") for message in errors):
            return wrapped[ROOT]
        logger.error("a Sentry event was dropped: it could not be scrubbed")
        return None


def build_scrubber(schema_dir: str | Path | None = None) -> ProtectedDataScrubber:
    """The scrubber for this deployment's schemas."""
    return ProtectedDataScrubber(protected_names(schema_dir))
