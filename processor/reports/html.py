"""A report as one self-contained HTML page: the table, and its counts as an inline SVG bar chart.

The page is mailed, attached to bugs and opened offline, so it carries everything itself: no
scripts, no fonts, no images or style sheets from elsewhere, no URLs at all. Every value is
escaped: signatures hold ``<``, ``&`` and quotes (C++ templates, IPC message names), and module
names come from minidumps, which anyone can write.
"""

from __future__ import annotations

from html import escape
from typing import Any

from processor.reports.model import CHANGE, COUNT, PERCENT, RANK, Column, Report
from processor.reports.render import cell, printable

NUMERIC = frozenset({COUNT, PERCENT, RANK})
COLORS = ("#3b6ea5", "#d9822b")  # one per series: before/after in a comparison
CHART_WIDTH = 960
LABEL_WIDTH = 360
VALUE_WIDTH = 60
BAR_HEIGHT = 14
BAR_GAP = 2
ROW_GAP = 8
LABEL_CHARS = 52  # longer labels are cut in the chart; the full text is the bar's tooltip
FONT = "font-family: system-ui, -apple-system, 'Segoe UI', sans-serif"

STYLE = f"""
body {{ {FONT}; margin: 2em; color: #222; background: #fff; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
p.context {{ margin: 0.1em 0; color: #555; }}
figure {{ margin: 1.5em 0; }}
svg text {{ font-size: 12px; fill: #222; }}
svg text.value {{ fill: #555; }}
table {{ border-collapse: collapse; margin-top: 1em; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.text {{ word-break: break-word; max-width: 40em; }}
td.change-new, td.change-up {{ color: #a12; }}
td.change-gone, td.change-down {{ color: #181; }}
.legend {{ display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.3em 0 1em; }}
"""


def _e(value: Any) -> str:
    """Text for HTML (elements and quoted attributes alike), control characters shown."""
    return escape(printable(str(value)), quote=True)


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def render_chart(report: Report) -> str:
    """Horizontal bars, one group per row, one bar per series, scaled to the largest count."""
    series = report.series
    largest = max((row.get(key) or 0 for row in report.rows for key, _ in series), default=0)
    scale = (CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH) / largest if largest else 0.0
    group = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP + ROW_GAP
    height = max(group * len(report.rows), group)
    parts = [
        f'<svg role="img" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" aria-label="{_e(report.title)}: bar chart">',
        f"<title>{_e(report.title)}</title>",
    ]
    for index, row in enumerate(report.rows):
        label = report.label_of(row)
        top = index * group
        middle = top + (group - ROW_GAP) / 2 + 4
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end">'
            f"{_e(_cut(label))}</text>"
        )
        for number, (key, legend) in enumerate(series):
            count = row.get(key) or 0
            y = top + number * (BAR_HEIGHT + BAR_GAP)
            width = count * scale
            parts.append(
                f'<rect class="bar series-{number}" x="{LABEL_WIDTH}" y="{y}" '
                f'width="{width:.1f}" height="{BAR_HEIGHT}" fill="{COLORS[number % len(COLORS)]}">'
                f"<title>{_e(label)}: {count} ({_e(legend)})</title></rect>"
            )
            parts.append(
                f'<text class="value" x="{LABEL_WIDTH + width + 4:.1f}" '
                f'y="{y + BAR_HEIGHT - 3}">{count}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(report: Report) -> str:
    if len(report.series) < 2:
        return ""
    items = "".join(
        f'<span class="legend" style="background: {COLORS[n % len(COLORS)]}"></span>{_e(legend)}'
        for n, (_, legend) in enumerate(report.series)
    )
    return f'<p class="context">{items}</p>'


def _td(column: Column, value: Any) -> str:
    text = _e(cell(column, value))
    if column.kind in NUMERIC:
        return f'<td class="num">{text}</td>'
    if column.kind == CHANGE and value:
        return f'<td class="change-{_e(str(value).split()[0])}">{text}</td>'
    return f'<td class="text">{text}</td>'


def render_html(report: Report) -> str:
    """The whole page."""
    head = [f"<th>{_e(c.label)}</th>" for c in report.columns]
    body = [
        "<tr>" + "".join(_td(c, row.get(c.key)) for c in report.columns) + "</tr>"
        for row in report.rows
    ]
    context = "".join(f'<p class="context">{_e(line)}</p>' for line in report.context)
    if report.rows:
        content = (
            f"<figure>{render_chart(report)}{_legend(report)}</figure>\n"
            f"<table>\n<thead><tr>{''.join(head)}</tr></thead>\n"
            f"<tbody>\n{chr(10).join(body)}\n</tbody>\n</table>"
        )
    else:
        content = '<p class="empty">No rows.</p>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(report.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{_e(report.title)}</h1>\n{context}\n{content}\n</body>\n</html>\n"
    )
