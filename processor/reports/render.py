"""Text, Markdown, CSV and JSON renderings of a Report (HTML lives in html.py, all in formats.py).

Report values come from crash data (signatures from function names, module names from
minidumps), so every format escapes them for where they land: control characters never reach a
terminal, Markdown punctuation stays literal, spreadsheet formulas are defused in CSV.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any

from processor.reports.model import COUNT, PERCENT, RANK, TEXT, Column, Report

MAX_TEXT_WIDTH = 80  # text columns are cut here in the terminal format only
NUMERIC = frozenset({COUNT, PERCENT, RANK})
MARKDOWN_SPECIAL = frozenset("\\`*_[]<>|&~")
# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """``text`` with control and format characters shown as escapes (no terminal tricks)."""
    if text.isprintable():
        return text
    return "".join(
        c
        if c == " " or unicodedata.category(c)[0] not in "CZ"
        else c.encode("unicode_escape").decode()
        for c in text
    )


def cell(column: Column, value: Any) -> str:
    """One value as people read it (None is an empty cell)."""
    if value is None:
        return ""
    if column.kind == PERCENT:
        return f"{value:.2f}%"
    return printable(str(value))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT_WIDTH else text[: MAX_TEXT_WIDTH - 1] + "…"


def render_text(report: Report) -> str:
    """Aligned columns for a terminal; long text cut to MAX_TEXT_WIDTH."""
    lines = [report.title, *map(printable, report.context), ""]
    if not report.rows:
        return "\n".join([*lines, "(no rows)"]) + "\n"
    table = [[c.label for c in report.columns]]
    table += [[_cut(cell(c, row.get(c.key))) for c in report.columns] for row in report.rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(report.columns))]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if c.kind in NUMERIC else v.ljust(w)
            for v, w, c in zip(values, widths, report.columns, strict=True)
        ).rstrip()

    lines.append(line(table[0]))
    lines.append("  ".join("-" * w for w in widths))
    lines += [line(values) for values in table[1:]]
    return "\n".join(lines) + "\n"


def markdown_escape(text: str) -> str:
    """Literal text in a Markdown table cell (CommonMark escapes any ASCII punctuation)."""
    text = printable(text)
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)


def render_markdown(report: Report) -> str:
    lines = [f"## {markdown_escape(report.title)}", ""]
    lines += [f"{markdown_escape(line)}  " for line in report.context]
    lines.append("")
    if not report.rows:
        return "\n".join([*lines, "(no rows)"]) + "\n"
    lines.append("| " + " | ".join(markdown_escape(c.label) for c in report.columns) + " |")
    lines.append(
        "|" + "|".join("---:" if c.kind in NUMERIC else "---" for c in report.columns) + "|"
    )
    for row in report.rows:
        cells = [markdown_escape(cell(c, row.get(c.key))) for c in report.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_value(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if column.kind == TEXT and isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render_csv(report: Report) -> str:
    """A header of column keys, one line per row; numbers as numbers, percent without a sign."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in report.columns])
    for row in report.rows:
        writer.writerow([csv_value(c, row.get(c.key)) for c in report.columns])
    return buffer.getvalue()


def render_json(report: Report) -> str:
    """``{"rows": [...]}``, one object per row, keyed by column key (None is null)."""
    rows = [{c.key: row.get(c.key) for c in report.columns} for row in report.rows]
    return json.dumps({"rows": rows}, ensure_ascii=False, indent=2) + "\n"
