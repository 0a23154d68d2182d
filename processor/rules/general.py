"""Rules that clean up the raw crash and copy collector-provided data.

They run first in the default ruleset: later rules (and the stackwalker, which reads the raw
crash as "evil JSON") rely on the raw crash having no NUL bytes and no None values.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from processor.metrics import METRICS
from processor.rules.base import Rule
from processor.rules.safe import dig
from processor.status import Status


def _strip_nuls(value: Any) -> tuple[Any, bool]:
    """Remove NUL characters from str and bytes; leave every other type alone.

    Returns the cleaned value and whether anything was removed.
    """
    if isinstance(value, str) and "\0" in value:
        return value.replace("\0", ""), True
    if isinstance(value, bytes) and b"\0" in value:
        return value.replace(b"\0", b""), True
    return value, False


class DeNullRule(Rule):
    """Remove NUL characters from raw-crash keys and (top-level) values.

    NULs come from buggy crash reporters and break storage (Postgres text, Elasticsearch)
    and the stackwalker's JSON input. A key containing NULs is re-added under its cleaned
    name, unless that name already exists: the clean annotation is then the genuine one and
    wins.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        had_nulls = False
        for key, value in list(raw_crash.items()):
            clean_key, key_changed = _strip_nuls(key)
            clean_value, value_changed = _strip_nuls(value)
            if not (key_changed or value_changed):
                continue
            had_nulls = True
            if key_changed:
                del raw_crash[key]
                if clean_key in raw_crash:
                    continue
            raw_crash[clean_key] = clean_value
        if had_nulls:
            METRICS.incr("processor.denullrule.has_nulls")


class DeNoneRule(Rule):
    """Delete raw-crash keys whose value is None.

    None is never a meaningful annotation value (on the wire every value is a string); it
    comes from JSON ``null`` in reporters that submit annotations as one JSON document.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        none_keys = [key for key, value in raw_crash.items() if value is None]
        for key in none_keys:
            del raw_crash[key]
        if none_keys:
            METRICS.incr("processor.denonerule.had_nones")


class CrashReportKeysRule(Rule):
    """Record the names of all annotations and dumps as ``crash_report_keys``.

    The list lets people search for reports that carry a given annotation. Names are
    user-controlled, so only plain ``[a-zA-Z0-9_-]`` names (cut to ``max_length``) are kept;
    anything dropped or cut gets one note (without the offending names, which could carry
    arbitrary text).
    """

    VALID_KEY = re.compile(r"[a-zA-Z0-9_-]+")

    def __init__(self, max_length: int = 100) -> None:
        self.max_length = max_length

    def sanitize(self, key: Any) -> str | None:
        """The key as stored, or None if it is not a valid name."""
        if not isinstance(key, str) or not self.VALID_KEY.fullmatch(key):
            return None
        return key[: self.max_length]

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        all_keys = set(raw_crash) | set(dumps)
        kept = {self.sanitize(key) for key in all_keys} - {None}
        processed_crash["crash_report_keys"] = sorted(kept)
        if kept != all_keys:
            status.add_note("invalidkeys: Crash report contains invalid keys")


class CollectorMetadataRule(Rule):
    """Copy the collector's ``metadata`` block into ``collector_metadata``.

    The block (collector notes, dump checksums, payload kind) is written by our own collector,
    so anything but a dict means a broken pipeline upstream and earns a note. The copy is deep
    so later edits to the processed crash cannot alter the raw crash.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        metadata = raw_crash.get("metadata", {})
        if not isinstance(metadata, dict):
            status.add_note(
                f"CollectorMetadataRule: metadata is {type(metadata).__qualname__} and not dict"
            )
            metadata = {}
        processed_crash["collector_metadata"] = copy.deepcopy(metadata)


class IdentifierRule(Rule):
    """Copy the crash id (raw ``uuid``) into ``crash_id`` and ``uuid``."""

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        if "uuid" in raw_crash:
            processed_crash["crash_id"] = raw_crash["uuid"]
            processed_crash["uuid"] = raw_crash["uuid"]


class MinidumpSha256HashRule(Rule):
    """Copy the collector's SHA-256 of the main minidump into ``minidump_sha256_hash``.

    It lets people find every report that shipped the same minidump. The default is "" so
    the field is always a string.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        processed_crash["minidump_sha256_hash"] = dig(
            raw_crash, "metadata.dump_checksums.upload_file_minidump", str, ""
        )
