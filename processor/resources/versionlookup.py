"""Where BetaVersionRule learns the real version of a beta or aurora build.

Beta and aurora (Developer Edition) builds report the version they will have on release
("120.0"), not the beta they are ("120.0b3"). The true version is known per build id from the
release records. Socorro asks its own web API; crashproc must work offline, so the lookup is a
pluggable object, and the default one reads a local table exported from the release records.

Table formats (columns ``product``, ``channel``, ``build_id``, ``version_string``, the names
of Socorro's VersionString API):

* JSON: a list of objects with those keys, or ``{"hits": [...]}`` with such a list (the API's
  response shape, so a saved response works as a table).
* CSV: a header row naming those columns, then one build per row.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

COLUMNS = ("product", "channel", "build_id", "version_string")


@runtime_checkable
class VersionLookup(Protocol):
    """Answers "which version is this build?"; ``None`` means "not known (yet)"."""

    def lookup(self, product: str, channel: str, build_id: str) -> str | None: ...


class VersionTableError(ValueError):
    """The version table file cannot be read or does not have the documented shape."""


class TableVersionLookup:
    """A ``VersionLookup`` over a local JSON or CSV table, loaded once.

    With no path the table is empty, so every lookup misses and BetaVersionRule falls back to
    the ``b0`` suffix. Channels are compared lowercased, as the rule lowercases them.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._table: dict[tuple[str, str, str], str] = {}
        if self.path is not None:
            for row_number, row in enumerate(_read_rows(self.path), start=1):
                key, version = _table_entry(row, row_number)
                self._table[key] = version

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"<TableVersionLookup path={self.path} entries={len(self._table)}>"

    def lookup(self, product: str, channel: str, build_id: str) -> str | None:
        return self._table.get((product, channel.lower(), build_id))


def _read_rows(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VersionTableError(f"cannot read version table {path}: {exc}") from exc
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise VersionTableError(f"version table {path} lacks columns: {', '.join(missing)}")
        return list(reader)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise VersionTableError(f"version table {path} is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and "hits" in data:
        data = data["hits"]
    if not isinstance(data, list):
        raise VersionTableError(f"version table {path} is not a list of rows")
    return data


def _table_entry(row: Any, row_number: int) -> tuple[tuple[str, str, str], str]:
    if not isinstance(row, dict):
        raise VersionTableError(f"version table row {row_number} is not an object")
    values = []
    for column in COLUMNS:
        value = row.get(column)
        if column == "build_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # JSON tables may write build ids as numbers
        if not isinstance(value, str) or not value.strip():
            raise VersionTableError(
                f"version table row {row_number}: {column} must be a non-empty string"
            )
        values.append(value.strip())
    product, channel, build_id, version = values
    return (product, channel.lower(), build_id), version
