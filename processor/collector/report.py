"""From a received form to a raw crash and its dumps, or one reason to refuse it.

The wire formats (facts from the clients' sources): Breakpad's HTTPUpload and
crash_report_sender send one ``form-data`` text part per annotation and the minidump as a
file part named ``upload_file_minidump`` (application/octet-stream); Crashpad's
crashpad_handler does the same, gzip-compressing the whole body (``Content-Encoding: gzip``);
Firefox's crash reporter sends its annotations as one JSON object in a part named ``extra``
(``application/json``) and its dumps as file parts (``upload_file_minidump``,
``upload_file_minidump_browser``, ``memory_report``, ...).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processor.crashid import crash_id_problem, create_crash_id
from processor.storage import StorageError
from processor.storage.crashstorage import check_dump_name
from webstack.form import Form, FormError

EXTRA_FIELD = "extra"
# Fields that name dumps; a text field under such a name is a client bug, not an annotation.
DUMP_PREFIX = "upload_file_minidump"
DUMP_NAMES = ("memory_report",)
RAW_CRASH_VERSION = 2


@dataclass
class Report:
    crash_id: str
    raw_crash: dict[str, Any]
    dumps: dict[str, Path] = field(default_factory=dict)


def _is_dump_name(name: str) -> bool:
    return name.startswith(DUMP_PREFIX) or name in DUMP_NAMES


def annotations_of(form: Form, notes: list[str]) -> tuple[dict[str, Any], str]:
    """The annotations (text fields, ``extra`` expanded) and the payload kind."""
    annotations: dict[str, Any] = {}
    has_json = has_fields = False
    for part in form.fields:
        if _is_dump_name(part.name):
            raise FormError("dump_not_a_file", f"dump field {part.name!r} is not a file part")
        if part.name == EXTRA_FIELD or part.content_type.startswith("application/json"):
            try:
                extra = json.loads(part.value.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise FormError("invalid_json", f"field {part.name!r} is not valid JSON") from None
            if not isinstance(extra, dict):
                raise FormError("invalid_json", f"field {part.name!r} is not a JSON object")
            annotations.update(extra)
            has_json = True
            continue
        try:
            annotations[part.name] = part.value.decode("utf-8")
        except UnicodeDecodeError:
            annotations[part.name] = part.value.decode("utf-8", "replace")
            notes.append(f"annotation {part.name} was not UTF-8; undecodable bytes replaced")
        has_fields = True
    if has_json and has_fields:
        notes.append("annotations came both as an extra JSON object and as form fields")
    return annotations, "json" if has_json else "multipart"


def build_report(form: Form, user_agent: str, now: datetime.datetime | None = None) -> Report:
    """The raw crash (collector metadata included) and dumps of a form, or FormError."""
    now = now or datetime.datetime.now(datetime.UTC)
    notes: list[str] = []
    annotations, payload = annotations_of(form, notes)
    if not annotations:
        raise FormError("no_annotations", "the report has no annotations")
    dumps: dict[str, Path] = {}
    checksums: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for part in form.files:
        try:
            check_dump_name(part.name)
        except StorageError:
            raise FormError(
                "bad_dump_name", "a dump field name is not [A-Za-z0-9_-]{1,100} or is reserved"
            ) from None
        if part.name in dumps:
            raise FormError("duplicate_dump", f"dump {part.name!r} sent twice")
        dumps[part.name] = part.path
        checksums[part.name] = part.sha256
        sizes[part.name] = part.size
    given = annotations.get("uuid")
    if given is not None:
        if crash_id_problem(given) is not None:
            raise FormError("invalid_crash_id", "uuid is not a crash id in Socorro's format")
        crash_id = given
    else:
        crash_id = create_crash_id(now)
    raw_crash = dict(annotations)
    raw_crash.update(
        {
            "uuid": crash_id,
            "submitted_timestamp": now.isoformat(),
            "version": RAW_CRASH_VERSION,
            "metadata": {
                "collector_notes": notes,
                "dump_checksums": checksums,
                "dump_sizes": sizes,
                "payload": payload,
                "payload_compressed": "1" if form.compressed else "0",
                "payload_size": form.wire_size,
                "user_agent": user_agent,
            },
        }
    )
    return Report(crash_id, raw_crash, dumps)
