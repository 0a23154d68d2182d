"""The protected names the processor's Sentry events are scrubbed of, from its schemas.

The scrubbing itself (crashproc/sentry.py) is shared by every service; the processor adds
the names below.

The names: each protected raw-crash annotation, and the processed fields copied from one or
protected themselves, so a new protected annotation is covered by a schema edit alone. Values
under these keys are masked at any depth of the data code attaches to an event.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from crashproc.sentry import ProtectedDataScrubber
from schemas.library import PROTECTED, load_schema

logger = logging.getLogger(__name__)


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


def build_scrubber(schema_dir: str | Path | None = None) -> ProtectedDataScrubber:
    """The scrubber for this deployment's schemas."""
    return ProtectedDataScrubber(protected_names(schema_dir))
