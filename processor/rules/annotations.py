"""Schema-driven handling of raw annotations: checking them and copying them to fields.

Which annotations exist and which processed fields they feed is read from the schemas, so a
new annotation needs a schema edit and no code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from processor.rules.base import Rule
from processor.status import Status
from schemas.library import Schema, coerce, node_types

DEFAULT_MAX_VALUE_SIZE = 1024 * 1024
# Written by the collector, not the client; never size-limited away.
COLLECTOR_FIELDS = frozenset({"uuid", "submitted_timestamp", "version", "metadata"})
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_NAMES_IN_NOTE = 20


def safe_annotation_name(name: object) -> str:
    """An annotation name fit for a public note: odd characters replaced, length capped."""
    return _SAFE_NAME_RE.sub("?", str(name))[:100]


def _name_list(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES_IN_NOTE])
    extra = len(names) - _MAX_NAMES_IN_NOTE
    return shown + (f" and {extra} more" if extra > 0 else "")


class RawCrashSchemaRule(Rule):
    """Notes annotations the raw crash schema does not know and values of the wrong type.

    Unknown annotations are kept in the raw crash (nothing is lost) but never copied or made
    public; the note tells an operator the schema needs an entry.
    """

    def __init__(self, raw_schema: Schema):
        self.raw_schema = raw_schema
        self.fields = raw_schema.properties

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        unknown = sorted(safe_annotation_name(key) for key in raw_crash if key not in self.fields)
        if unknown:
            status.add_note(f"annotations not in the raw crash schema: {_name_list(unknown)}")
        for key in sorted(k for k in raw_crash if k in self.fields):
            for problem in self.raw_schema.field_errors(key, raw_crash[key], strict=False):
                status.add_note(f"raw crash annotation {problem}")


class OversizedAnnotationRule(Rule):
    """Leaves annotations larger than ``max_value_size`` out of processing, with a note.

    Every later rule reads the raw crash, so one check here protects them all from a 10 MB
    value; the stored raw crash keeps the annotation, so nothing is lost.
    """

    def __init__(self, max_value_size: int = DEFAULT_MAX_VALUE_SIZE):
        self.max_value_size = max_value_size

    def _size(self, value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, dict | list):
            return len(json.dumps(value, default=str))
        return 0

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        for key in sorted(k for k in raw_crash if k not in COLLECTOR_FIELDS):
            size = self._size(raw_crash[key])
            if size > self.max_value_size:
                del raw_crash[key]
                status.add_note(
                    f"{safe_annotation_name(key)} is too large ({size} characters, limit "
                    f"{self.max_value_size}); left out of processing"
                )


class CopyFromRawCrashRule(Rule):
    """Copies every annotation named by a processed field's ``source_annotation``, coerced to the
    field's type; the field's ``default`` applies when the annotation is absent.

    A value that cannot be converted is left out with a note naming the annotation (never its
    value).
    """

    def __init__(self, schema: Schema):
        self.schema = schema
        self.copies = sorted(schema.source_annotations().items())

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        for field_name, annotation in self.copies:
            node = self.schema.field(field_name)
            if annotation not in raw_crash:
                if "default" in node:
                    processed_crash[field_name] = coerce(node["default"], node_types(node)).value
                continue
            result = self.schema.coerce_field(field_name, raw_crash[annotation])
            if result.ok:
                processed_crash[field_name] = result.value
            else:
                status.add_note(f"{annotation} {result.error}")
