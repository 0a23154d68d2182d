"""Expected report contents computed straight from the processed crashes (not from the index).

The tests compare the SQL reports against these plain-Python counts over the same crashes, so
a wrong join, filter or grouping in the index shows up as a difference.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from processor.reports.extract import NOT_LOOKED_UP


def in_period(
    processed: dict[str, Any], since: datetime.date | None, until: datetime.date | None
) -> bool:
    when = datetime.datetime.fromisoformat(processed["date_processed"]).date()
    return (since is None or when >= since) and (until is None or when <= until)


def stack_has(processed: dict[str, Any], module: str) -> bool:
    frames = ((processed.get("json_dump") or {}).get("crashing_thread") or {}).get("frames", [])
    return any((f.get("module") or "").lower() == module.lower() for f in frames)


def selected(crashes: dict[str, dict], since=None, until=None, module=None) -> list[dict]:
    return [
        p
        for p in crashes.values()
        if in_period(p, since, until) and (module is None or stack_has(p, module))
    ]


def signature_counts(crashes: dict[str, dict], **filters: Any) -> Counter:
    return Counter(p["signature"] for p in selected(crashes, **filters))


def missing_counts(crashes: dict[str, dict], **filters: Any) -> Counter:
    """(module, version, debug_file, debug_id, code_id, reason) -> crash reports.

    The symbolication rule's entries, then the stackwalker's modules it did not list: missing
    ones were never looked up, corrupt ones were loaded by the stackwalker despite errors.
    """
    counts: Counter = Counter()
    for processed in selected(crashes, **filters):
        keys = set()
        listed = (processed.get("symbolication") or {}).get("missing_modules") or []
        for m in listed:
            keys.add(
                (
                    m["filename"],
                    m["version"],
                    m["debug_file"],
                    m["debug_id"],
                    m["code_id"],
                    m["reason"],
                )
            )
        seen = {(m["filename"], m["debug_id"], m["code_id"]) for m in listed}
        for m in (processed.get("json_dump") or {}).get("modules", []):
            if (m["filename"], m.get("debug_id"), m.get("code_id")) in seen:
                continue
            reason = (
                NOT_LOOKED_UP
                if m.get("missing_symbols")
                else "corrupt-symbols"
                if m.get("corrupt_symbols")
                else None
            )
            if reason:
                keys.add(
                    (
                        m["filename"],
                        m.get("version"),
                        m.get("debug_file"),
                        m.get("debug_id"),
                        m.get("code_id"),
                        reason,
                    )
                )
        counts.update(keys)
    return counts


def ranking(counts: Counter) -> list[tuple]:
    """Keys in report order: most crash reports first, ties by key ('' for unknown sorts first)."""
    return sorted(counts, key=lambda k: (-counts[k], _sortable(k)))


def _sortable(key: Any) -> tuple:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple("" if p is None else p for p in parts)
