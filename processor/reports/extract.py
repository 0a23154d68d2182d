"""What the report index keeps of one processed crash: a few public fields, no JSON blobs.

Reports must answer "which modules lack symbols" and "which signatures dominate" over 100,000
crashes in seconds, so the index holds exactly the columns those questions group by, taken out
of the processed crash once, when it is saved. Everything here is public data (signature,
product, version, OS, CPU, process type, crash reason, release channel, module names and ids);
protected annotations never reach the index.

A processed crash comes from storage and may be old, partial or odd: every field is read
defensively and a crash always yields an entry (a missing date falls back to the crash id's).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from processor.crashid import date_from_crash_id
from processor.reports.schema import DIMENSIONS

# A module with missing_symbols in json_dump that the symbolication rule never looked up (the
# crash was processed without a symbols source): the sixth reason, next to the rule's own.
NOT_LOOKED_UP = "not-looked-up"
# A module whose symbol file the stackwalker found but could not fully parse: rust-minidump (and
# the built-in walker) mark it loaded *and* corrupt, so the symbolication rule, which skips
# loaded modules, never lists it; its frames may still lack functions.
CORRUPT = "corrupt-symbols"
MAIN_DUMP = "upload_file_minidump"
# Longest text kept per column: a runaway signature must not bloat the index.
MAX_TEXT = 1024


@dataclass(frozen=True)
class MissingModule:
    """One module of one crash that has no symbols, and why."""

    filename: str | None
    version: str | None
    debug_file: str | None
    debug_id: str | None
    code_id: str | None
    reason: str


@dataclass
class IndexEntry:
    """The index's view of one processed crash."""

    crash_id: str
    date: datetime.date
    signature: str | None
    product: str | None
    version: str | None
    stack_modules: list[str] = field(default_factory=list)
    missing: list[MissingModule] = field(default_factory=list)
    # The DIMENSIONS fields (OS, CPU, process type, crash reason, release channel).
    dimensions: dict[str, str | None] = field(default_factory=dict)

    def dimension_values(self) -> tuple[str | None, ...]:
        return tuple(self.dimensions.get(name) for name in DIMENSIONS)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_TEXT]
    return None


def crash_date(crash_id: str, processed: Mapping[str, Any]) -> datetime.date:
    """The UTC day of ``date_processed``, else the day encoded in the crash id."""
    value = processed.get("date_processed")
    if isinstance(value, str):
        try:
            when = datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if when.tzinfo is not None:
                when = when.astimezone(datetime.UTC)
            return when.date()
    return date_from_crash_id(crash_id)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def crashing_frames(processed: Mapping[str, Any]) -> list[Any]:
    """The crashing thread's frames: json_dump.crashing_thread, else threads[crashing_thread]."""
    json_dump = _dict(processed.get("json_dump"))
    crashing = json_dump.get("crashing_thread")
    if isinstance(crashing, dict) and isinstance(crashing.get("frames"), list):
        return crashing["frames"]
    threads = json_dump.get("threads")
    index = processed.get("crashing_thread")
    if isinstance(threads, list) and isinstance(index, int) and 0 <= index < len(threads):
        frames = _dict(threads[index]).get("frames")
        if isinstance(frames, list):
            return frames
    return []


def stack_modules(processed: Mapping[str, Any]) -> list[str]:
    """Distinct module names on the crashing stack, in stack order."""
    seen: dict[str, None] = {}
    for frame in crashing_frames(processed):
        name = _text(_dict(frame).get("module"))
        if name is not None:
            seen.setdefault(name, None)
    return list(seen)


def dump_containers(processed: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The processed crash itself (main dump) and each additional minidump's section."""
    yield processed
    additional = processed.get("additional_minidumps")
    if isinstance(additional, list):
        for name in additional:
            if isinstance(name, str) and name != MAIN_DUMP:
                section = processed.get(name)
                if isinstance(section, dict):
                    yield section


def _missing_module(source: Mapping[str, Any], reason: Any) -> MissingModule:
    return MissingModule(
        filename=_text(source.get("filename")),
        version=_text(source.get("version")),
        debug_file=_text(source.get("debug_file")),
        debug_id=_text(source.get("debug_id")),
        code_id=_text(source.get("code_id")),
        reason=_text(reason) or "unknown",
    )


def missing_modules(processed: Mapping[str, Any]) -> list[MissingModule]:
    """Every module of every dump still without (usable) symbols, once per crash.

    The symbolication rule's ``missing_modules`` carry the reason; a json_dump module the rule
    did not list is ``not-looked-up`` when marked ``missing_symbols``, ``corrupt-symbols`` when
    the stackwalker marked its symbols corrupt.
    """
    found: dict[MissingModule, None] = {}
    for container in dump_containers(processed):
        listed = set()
        entries = _dict(container.get("symbolication")).get("missing_modules")
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict):
                module = _missing_module(entry, entry.get("reason"))
                listed.add((module.filename, module.debug_id, module.code_id))
                found.setdefault(module, None)
        modules = _dict(container.get("json_dump")).get("modules")
        for entry in modules if isinstance(modules, list) else ():
            if not isinstance(entry, dict):
                continue
            if entry.get("missing_symbols") is True:
                module = _missing_module(entry, NOT_LOOKED_UP)
            elif entry.get("corrupt_symbols") is True:
                module = _missing_module(entry, CORRUPT)
            else:
                continue
            if (module.filename, module.debug_id, module.code_id) not in listed:
                found.setdefault(module, None)
    return list(found)


def index_entry(crash_id: str, processed: Mapping[str, Any]) -> IndexEntry:
    """The index entry of a processed crash stored under ``crash_id`` (a valid crash id)."""
    return IndexEntry(
        crash_id=crash_id,
        date=crash_date(crash_id, processed),
        signature=_text(processed.get("signature")),
        product=_text(processed.get("product")),
        version=_text(processed.get("version")),
        stack_modules=stack_modules(processed),
        missing=missing_modules(processed),
        dimensions={name: _text(processed.get(name)) for name in DIMENSIONS},
    )
