"""A report as data: a title, typed columns and rows, which every renderer presents its own way.

The queries produce these and the renderers (text, Markdown, CSV, JSON, HTML) consume them, so
no renderer knows which report it draws and no query knows how it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT, COUNT, PERCENT, RANK, CHANGE = "text", "count", "percent", "rank", "change"


@dataclass(frozen=True)
class Column:
    key: str  # the row's key, and the name in JSON and CSV
    label: str  # the header people read
    kind: str = TEXT


@dataclass
class Report:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    # What the report covers (periods, filters, totals), one line each, for the human formats.
    context: list[str] = field(default_factory=list)
    # The bar chart: the columns naming each bar, and the count columns drawn (a series each).
    label_keys: tuple[str, ...] = ()
    series: list[tuple[str, str]] = field(default_factory=list)  # (count column, legend)

    def label_of(self, row: dict[str, Any]) -> str:
        """A row's name in the chart: its label columns' values, the unknown ones left out."""
        return " ".join(str(row[k]) for k in self.label_keys if row.get(k) not in (None, ""))
