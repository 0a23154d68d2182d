"""Every output format of the report commands, by its ``--format`` name."""

from __future__ import annotations

from collections.abc import Callable

from processor.reports.html import render_html
from processor.reports.model import Report
from processor.reports.render import render_csv, render_json, render_markdown, render_text

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "md": render_markdown,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
}
