"""HTML of the crash browser: a page frame, tables and a per-day bar chart as inline SVG.

Plain f-strings with ``html.escape`` on every value rather than a template engine: the pages
are a few tables, and one escaping helper used everywhere is easy to audit for a page that
shows data from crash reports. The chart is inline SVG so nothing is fetched from a network,
and there is no script at all (a strict Content-Security-Policy holds).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from processor.web.tokens import Viewer

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fff}
header{background:#2b3a4a;color:#fff;padding:8px 16px}
header a{color:#fff;margin-right:16px;text-decoration:none;font-weight:600}
main{padding:12px 16px}
table{border-collapse:collapse;margin:8px 0 16px}
th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,monospace;font-size:13px}
.missing{color:#a33}
.note{color:#555}
form.filters label{margin-right:12px}
svg.chart rect{fill:#4a78a8}
svg.spark rect{fill:#4a78a8}
ul.legend{list-style:none;padding:0;margin:0 0 12px}
.breakdowns,.facets{display:flex;flex-wrap:wrap;column-gap:24px;align-items:flex-start}
ul.legend li{display:inline-block;margin-right:14px}
ul.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
th a{color:inherit}
header .who{float:right;font-weight:400}
header .who a{margin:0 0 0 8px}
header form.signout{display:inline;margin-left:8px}
section.protected{border:2px solid #a33;padding:4px 12px;margin:12px 0}
section.protected h2{color:#a33}
"""

# The browser page has no script and loads nothing from elsewhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'"


def e(value: Any) -> str:
    """A value as escaped text (None is empty)."""
    return "" if value is None else escape(str(value), quote=True)


def url(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return escape(f"{path}?{query}" if query else path, quote=True)


def who(viewer: Viewer | None) -> str:
    """The header's corner: who is signed in and a sign-out button (a form: signing out
    changes state, so it is a POST), the token's name for an ``Auth-Token`` request, or a
    sign-in link."""
    if viewer is None:
        return '<span class="who"><a href="/signin">Sign in</a></span>'
    if not viewer.session:
        return f'<span class="who">Token <b>{e(viewer.name)}</b></span>'
    return (
        f'<span class="who">Signed in as <b class="viewer">{e(viewer.name)}</b>'
        '<form class="signout" method="post" action="/signout">'
        '<button type="submit">Sign out</button></form></span>'
    )


def page(title: str, body: str, viewer: Viewer | None = None) -> str:
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{e(title)} – crashproc</title>"
        '<link rel="icon" href="data:,">'
        f"<style>{STYLE}</style></head><body>"
        f"<header>{who(viewer)}"
        '<a href="/">Top crashers</a><a href="/search/">Search</a>'
        '<a href="/missing-symbols/">Missing symbols</a></header>'
        f"<main><h1>{e(title)}</h1>{body}</main></body></html>"
    )


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", head_html: bool = False
) -> str:
    """A table of already-escaped cells (build them with ``e``); headers are text, or markup
    with ``head_html``."""
    head = "".join(f"<th>{h if head_html else e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def td(value: Any, cls: str = "") -> str:
    return f'<td class="{e(cls)}">{e(value)}</td>' if cls else f"<td>{e(value)}</td>"


def td_html(markup: str, cls: str = "") -> str:
    return f'<td class="{e(cls)}">{markup}</td>' if cls else f"<td>{markup}</td>"


def link(href: str, text: Any) -> str:
    """``href`` must come from ``url`` (already escaped)."""
    return f'<a href="{href}">{e(text)}</a>'


def bar_chart(
    days: Sequence[datetime.date],
    counts: Sequence[int],
    *,
    width: int = 600,
    height: int = 120,
    spark: bool = False,
) -> str:
    """Crashes per day as SVG bars (a sparkline without labels when ``spark``)."""
    if spark:
        width, height = 3 * max(len(counts), 1) + 2, 20
    peak = max(counts, default=0) or 1
    pad_bottom = 0 if spark else 16
    pad_top = 0 if spark else 14
    plot = height - pad_bottom - pad_top
    step = width / max(len(counts), 1)
    bars = []
    for n, (when, count) in enumerate(zip(days, counts, strict=True)):
        h = plot * count / peak
        x = n * step
        bars.append(
            f'<rect x="{x + 0.5:.1f}" y="{pad_top + plot - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h:.1f}"><title>{e(when)}: {count}</title></rect>'
        )
    labels = ""
    if not spark and days:
        labels = (
            f'<text x="0" y="{height - 3}" font-size="11">{e(days[0])}</text>'
            f'<text x="{width}" y="{height - 3}" font-size="11" text-anchor="end">'
            f"{e(days[-1])}</text>"
            f'<text x="0" y="11" font-size="11">peak {max(counts, default=0)} per day</text>'
        )
    cls = "spark" if spark else "chart"
    return (
        f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="crashes per day">{"".join(bars)}{labels}</svg>'
    )


# Series colours of a split chart (colour-blind friendly: Okabe and Ito's), then grey for other.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")


def stacked_chart(
    days: Sequence[datetime.date],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 600,
    height: int = 120,
) -> str:
    """Crashes per day as SVG bars stacked by series (a version, an OS), with a legend."""
    totals = [sum(counts) for counts in zip(*(c for _, c in series), strict=True)] or [0]
    peak = max(totals, default=0) or 1
    pad_bottom, pad_top = 16, 14
    plot = height - pad_bottom - pad_top
    step = width / max(len(days), 1)
    bars = []
    for n, when in enumerate(days):
        base = pad_top + plot
        for number, (label, counts) in enumerate(series):
            if not counts[n]:
                continue
            h = plot * counts[n] / peak
            base -= h
            bars.append(
                f'<rect x="{n * step + 0.5:.1f}" y="{base:.1f}" width="{max(step - 1, 1):.1f}" '
                f'height="{h:.1f}" style="fill:{PALETTE[min(number, len(PALETTE) - 1)]}">'
                f"<title>{e(when)} {e(label)}: {counts[n]}</title></rect>"
            )
    labels = ""
    if days:
        labels = (
            f'<text x="0" y="{height - 3}" font-size="11">{e(days[0])}</text>'
            f'<text x="{width}" y="{height - 3}" font-size="11" text-anchor="end">'
            f"{e(days[-1])}</text>"
            f'<text x="0" y="11" font-size="11">peak {max(totals, default=0)} per day</text>'
        )
    legend = "".join(
        f'<li><i style="background:{PALETTE[min(number, len(PALETTE) - 1)]}"></i>{e(label)}</li>'
        for number, (label, _) in enumerate(series)
    )
    return (
        f'<svg class="chart stacked" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="crashes per day by series">{"".join(bars)}{labels}</svg>'
        f'<ul class="legend">{legend}</ul>'
    )
