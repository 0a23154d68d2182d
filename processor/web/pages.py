"""The crash browser's pages as HTML strings, from data the queries and storage gave.

The pages other than a crash's get the report index (which holds public columns only). The
report page gets the stored public copy of a processed crash, or, for a viewer with
``view_protected``, the whole processed crash beside that public copy: what the public copy
lacks is shown apart, in a section marked protected. Every page names its viewer (who is
signed in) in the header.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from processor.reports.browse import Filters, SignatureSummary, TopCrasher
from processor.web.render import (
    bar_chart,
    e,
    link,
    page,
    stacked_chart,
    table,
    td,
    td_html,
    url,
)
from processor.web.tokens import Viewer

# Fields the report page shows in its own sections, not among the annotations.
SHOWN_ELSEWHERE = {"json_dump", "processed_with", "processor_notes", "symbolication"}
SUMMARY_FIELDS = [
    ("Signature", "signature"),
    ("Crash ID", "crash_id"),
    ("Product", "product"),
    ("Version", "version"),
    ("Build ID", "build"),
    ("Release channel", "release_channel"),
    ("Process type", "process_type"),
    ("OS", "os_pretty_version"),
    ("OS version", "os_version"),
    ("CPU", "cpu_arch"),
    ("Crash reason", "reason"),
    ("Crash address", "address"),
    ("Uptime (s)", "uptime"),
    ("Processed", "date_processed"),
]


def signature_link(signature: str | None) -> str:
    return link(url("/signature/", signature=signature or ""), signature or "(no signature)")


def _select(name: str, label: str, values: list[str], chosen: str | None) -> str:
    options = "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(v)}</option>'
        for v in values
    )
    return (
        f'<label>{e(label)} <select name="{e(name)}"><option value="">all</option>{options}'
        "</select></label>"
    )


def filters_form(filters: Filters, choices: dict[str, list[str]], action: str = "/") -> str:
    """The period and filter form; ``choices`` has the known products, OS names and process
    types (the selects' options)."""
    days = (filters.until - filters.since).days + 1
    return (
        f'<form class="filters" method="get" action="{e(action)}">'
        + _select("product", "Product", choices.get("product", []), filters.product)
        + f'<label>Version <input name="version" value="{e(filters.version)}" size="10"></label>'
        + _select("os_name", "OS", choices.get("os_name", []), filters.os_name)
        + _select(
            "process_type", "Process type", choices.get("process_type", []), filters.process_type
        )
        + f'<label>Days <input name="days" value="{days}" size="3"></label>'
        f'<label>Until <input name="until" value="{e(filters.until)}" size="10"></label>'
        '<button type="submit">Show</button></form>'
    )


def top_crashers_page(
    filters: Filters,
    rows: list[TopCrasher],
    total: int,
    choices: dict[str, list[str]],
    viewer: Viewer | None = None,
) -> str:
    def change(row: TopCrasher) -> str:
        if row.previous_rank is None:
            return "new"
        moved = row.previous_rank - row.rank
        return f"+{moved}" if moved > 0 else str(moved) if moved else "="

    days = filters.days()
    body = [
        filters_form(filters, choices),
        f'<p class="note">{total} crash reports from {e(filters.since)} to {e(filters.until)}.</p>',
    ]
    if rows:
        body.append(
            table(
                ["Rank", "Change", "Signature", "Crashes", "%", "Per day"],
                (
                    [
                        td(row.rank, "num"),
                        td(change(row), "num"),
                        td_html(signature_link(row.signature), "signature"),
                        td(row.crashes, "num"),
                        td(f"{row.percent:.2f}", "num"),
                        td_html(bar_chart(days, row.per_day, spark=True)),
                    ]
                    for row in rows
                ),
                "top-crashers",
            )
        )
    else:
        body.append("<p>No crashes in this period.</p>")
    return page("Top crashers", "".join(body), viewer)


def signature_page(
    summary: SignatureSummary,
    filters: Filters | None,
    per_day: list[int],
    crashes: list[dict[str, Any]],
    page_number: int,
    page_size: int,
    split: str | None = None,
    series: list[tuple[str, list[int]]] | None = None,
    viewer: Viewer | None = None,
) -> str:
    """``split`` (a SPLITS key) draws the chart as ``series`` stacked, else ``per_day``."""
    sig = summary.signature
    body = [
        f'<p class="mono signature">{e(sig or "(no signature)")}</p>',
        table(
            ["Crashes", "First seen", "Last seen"],
            [
                [
                    td(summary.crashes, "num"),
                    td(summary.first_seen),
                    td(summary.last_seen),
                ]
            ],
        ),
    ]
    if filters is not None:
        choices = [
            link(url("/signature/", signature=sig, chart=key), label)
            if key != (split or "")
            else f"<strong>{e(label)}</strong>"
            for key, label in (("", "total"), ("version", "by version"), ("os", "by OS"))
        ]
        body.append(
            "<h2>Crashes per day</h2>"
            f'<p class="chart-split">Chart: {" · ".join(choices)}</p>'
            + (
                stacked_chart(filters.days(), series or [])
                if split
                else bar_chart(filters.days(), per_day)
            )
        )
    body.append('<div class="breakdowns">')
    for heading, pairs in summary.breakdowns.items():
        body.append(
            table(
                [heading, "Crashes", "%"],
                (
                    [
                        td(name or "(unknown)"),
                        td(count, "num"),
                        td(f"{100.0 * count / summary.crashes:.1f}", "num"),
                    ]
                    for name, count in pairs
                ),
                f"breakdown breakdown-{heading.lower().replace(' ', '-')}",
            )
        )
    body.append("</div>")
    body.append("<h2>Crash reports</h2>")
    body.append(
        table(
            ["Crash ID", "Date", "Product", "Version", "OS", "Process type"],
            (
                [
                    td_html(link(url(f"/report/{c['crash_id']}"), c["crash_id"]), "mono"),
                    td(c["date"]),
                    td(c["product"]),
                    td(c["version"]),
                    td(c["os_pretty_version"]),
                    td(c["process_type"]),
                ]
                for c in crashes
            ),
            "crashes",
        )
    )
    pages = []
    if page_number > 1:
        pages.append(link(url("/signature/", signature=sig, page=page_number - 1), "newer"))
    if len(crashes) == page_size:
        pages.append(link(url("/signature/", signature=sig, page=page_number + 1), "older"))
    body.append(" ".join(pages))
    return page("Signature", "".join(body), viewer)


def _thread_frames(thread: dict[str, Any]) -> str:
    rows = []
    for frame in thread.get("frames") or []:
        if not isinstance(frame, dict):
            continue
        if "truncated" in frame and "frame" not in frame:
            rows.append([td("…"), td_html("<em>frames cut</em>"), td(""), td(""), td(""), td("")])
            continue
        for inline in frame.get("inlines") or []:
            if isinstance(inline, dict):
                rows.append(
                    [
                        td(frame.get("frame"), "num"),
                        td(frame.get("module")),
                        td_html(f"{e(inline.get('function'))} <em>(inlined)</em>", "mono"),
                        td(_file_line(inline), "mono"),
                        td("inline"),
                        td(""),
                    ]
                )
        function = frame.get("function")
        missing = frame.get("missing_symbols")
        rows.append(
            [
                td(frame.get("frame"), "num"),
                td(frame.get("module")),
                td(
                    function
                    if function
                    else f"{frame.get('module') or ''} + {frame.get('module_offset') or frame.get('offset')}",
                    "mono" + (" missing" if missing and not function else ""),
                ),
                td(_file_line(frame), "mono"),
                td(frame.get("trust")),
                td("missing symbols" if missing else "", "missing"),
            ]
        )
    return table(["Frame", "Module", "Function", "Source", "Trust", ""], rows, "frames")


def _file_line(frame: dict[str, Any]) -> str:
    file = frame.get("file")
    if not file:
        return ""
    return f"{file}:{frame['line']}" if frame.get("line") is not None else str(file)


def _crashing_thread(processed: dict[str, Any]) -> tuple[int | None, dict[str, Any] | None]:
    dump = processed.get("json_dump") or {}
    threads = dump.get("threads") or []
    index = processed.get("crashing_thread")
    if isinstance(index, int) and 0 <= index < len(threads):
        return index, threads[index]
    crashing = dump.get("crashing_thread")
    if isinstance(crashing, dict):
        return crashing.get("threads_index"), crashing
    return None, None


def _module_key(module: dict[str, Any]) -> tuple[Any, Any]:
    """What names a module in both json_dump and symbolication (a module without a debug id
    has an empty debug file in one and null in the other)."""
    return module.get("filename"), module.get("code_id")


def _modules(processed: dict[str, Any]) -> str:
    dump = processed.get("json_dump") or {}
    symbolication = processed.get("symbolication") or {}
    reasons = {
        _module_key(m): m.get("reason")
        for m in symbolication.get("missing_modules") or []
        if isinstance(m, dict)
    }
    recovered = {
        _module_key(m) for m in symbolication.get("recovered_modules") or [] if isinstance(m, dict)
    }
    rows = []
    for module in dump.get("modules") or []:
        if not isinstance(module, dict):
            continue
        key = _module_key(module)
        if module.get("loaded_symbols"):
            status = "symbols loaded" + (" (corrupt)" if module.get("corrupt_symbols") else "")
        elif module.get("missing_symbols"):
            status = f"missing: {reasons.get(key) or 'not looked up'}"
        else:
            status = ""
        if key in recovered:
            status += " (debug id recovered from code info)"
        rows.append(
            [
                td(module.get("filename")),
                td(module.get("version")),
                td(module.get("debug_file"), "mono"),
                td(module.get("debug_id"), "mono"),
                td(module.get("code_id"), "mono"),
                td(status, "missing" if "missing" in status else ""),
            ]
        )
    return table(
        ["Module", "Version", "Debug file", "Debug ID", "Code ID", "Symbols"], rows, "modules"
    )


_ABSENT = object()  # a field the public copy does not have (None is a value)


def _value_cell(value: Any) -> str:
    """A field's value: text for a scalar, indented JSON for an object or a list."""
    if isinstance(value, dict | list):
        return td_html(f"<pre>{e(json.dumps(value, indent=2, ensure_ascii=False))}</pre>", "mono")
    return td(value, "mono")


def _protected_section(
    crash_id: str, processed: dict[str, Any], public: dict[str, Any], dump_names: list[str]
) -> str:
    """The fields the public copy leaves out (or holds redacted), and the crash's dumps."""
    rows = [
        [td(key, "mono"), _value_cell(value)]
        for key, value in sorted(processed.items())
        if key not in SHOWN_ELSEWHERE and public.get(key, _ABSENT) != value
    ]
    dumps = "".join(
        f"<li>{link(url(f'/report/{crash_id}/dumps/{name}'), name)}</li>" for name in dump_names
    )
    return (
        '<section class="protected"><h2>Protected fields</h2>'
        '<p class="note">Not in the public copy: shown because you have view_protected.</p>'
        + table(["Field", "Value"], rows, "protected-fields")
        + "<h2>Dumps</h2>"
        + (f'<ul class="dumps">{dumps}</ul>' if dumps else "<p>No dump is stored.</p>")
        + "</section>"
    )


def report_page(
    crash_id: str,
    processed: dict[str, Any],
    viewer: Viewer | None = None,
    public: dict[str, Any] | None = None,
    dump_names: list[str] | None = None,
) -> str:
    """One crash. ``public`` None: ``processed`` is the public copy, shown as it is. Else
    ``processed`` is the whole crash and ``public`` its public copy: the fields the public
    copy has are shown as for everyone, the others in the protected section, with links to
    the raw crash and the ``dump_names``."""
    full = public is not None
    shown = public if public is not None else processed  # outside the protected section
    summary = []
    for label, key in SUMMARY_FIELDS:
        value = shown.get(key)
        if key == "signature":
            summary.append([td(label), td_html(signature_link(value), "mono")])
        elif value not in (None, ""):
            summary.append([td(label), td(value, "mono")])
    body = [
        '<p class="links">'
        + link(url("/api/ProcessedCrash/", crash_id=crash_id), "processed JSON")
        + " · "
        + link(
            url("/api/RawCrash/", crash_id=crash_id),
            "raw JSON" if full else "raw JSON (needs a token)",
        )
        + "</p>",
        "<h2>Summary</h2>",
        table(["", ""], summary, "summary"),
    ]
    index, crashing = _crashing_thread(processed)
    body.append("<h2>Crashing thread</h2>")
    if crashing is not None:
        name = crashing.get("thread_name")
        body.append(f"<p>Thread {e(index)}{' (' + e(name) + ')' if name else ''}</p>")
        body.append(_thread_frames(crashing))
    else:
        body.append("<p>No stack: the crash has no walked minidump.</p>")
    threads = (processed.get("json_dump") or {}).get("threads") or []
    for n, thread in enumerate(threads):
        if n == index or not isinstance(thread, dict):
            continue
        name = thread.get("thread_name")
        body.append(
            f"<details><summary>Thread {n}{' (' + e(name) + ')' if name else ''}, "
            f"{len(thread.get('frames') or [])} frames</summary>{_thread_frames(thread)}</details>"
        )
    body.append("<h2>Modules</h2>" + _modules(processed))
    annotations = [
        [td(key, "mono"), td(value, "mono")]
        for key, value in sorted(shown.items())
        if key not in SHOWN_ELSEWHERE
        and isinstance(value, str | int | float | bool)
        and value not in ("",)
    ]
    body.append(
        "<h2>Annotations and fields</h2>" + table(["Field", "Value"], annotations, "fields")
    )
    if public is not None:
        body.append(_protected_section(crash_id, processed, public, dump_names or []))
    notes = processed.get("processor_notes") or ""
    if isinstance(notes, list):
        notes = "\n".join(map(str, notes))
    body.append(f"<h2>Processor notes</h2><pre class=notes>{e(notes)}</pre>")
    body.append(
        "<h2>Processed with</h2><pre class=processed-with>"
        f"{e(json.dumps(processed.get('processed_with'), indent=2))}</pre>"
    )
    return page(f"Crash {crash_id}", "".join(body), viewer)


# The search form's text inputs: (parameter, label).
SEARCH_INPUTS = (
    ("signature", "signature"),
    ("product", "product"),
    ("version", "version"),
    ("os_name", "OS"),
    ("os_pretty_version", "OS version"),
    ("cpu_arch", "CPU"),
    ("process_type", "process type"),
    ("reason", "crash reason"),
    ("release_channel", "channel"),
    ("module", "module on stack"),
    ("missing_symbols", "module missing symbols"),
)
# The results table: (column, header); each header sorts by its column.
RESULT_COLUMNS = (
    ("uuid", "Crash ID"),
    ("date", "Date"),
    ("signature", "Signature"),
    ("product", "Product"),
    ("version", "Version"),
    ("os_pretty_version", "OS"),
    ("cpu_arch", "CPU"),
    ("process_type", "Process type"),
    ("reason", "Crash reason"),
)
# The facets a search page offers, checked by default when the URL names none.
PAGE_FACETS = (
    "signature",
    "product",
    "version",
    "os_name",
    "os_pretty_version",
    "cpu_arch",
    "process_type",
    "reason",
    "release_channel",
)
DEFAULT_PAGE_FACETS = ("signature", "product", "version", "os_pretty_version", "process_type")


def _search_href(params: list[tuple[str, Any]]) -> str:
    return e("/search/?" + urlencode(params))


def _sort_header(
    params: list[tuple[str, str]], sort: tuple[str, ...], name: str, label: str
) -> str:
    """A results header linking to the search sorted by its column: ascending first, then
    the other way while it is the first sort key (date, newest first by default, the
    other way round); an arrow marks the current order."""
    current = sort[0] if sort else ""
    if current.lstrip("-") == name:
        descending = current.startswith("-")
        arrow = " ▼" if descending else " ▲"
        target = name if descending else f"-{name}"
    else:
        arrow, target = "", f"-{name}" if name == "date" else name
    rest = [(k, v) for k, v in params if k not in ("_sort", "_results_offset")]
    return f'<a href="{_search_href([*rest, ("_sort", target)])}">{e(label)}{e(arrow)}</a>'


def search_page(
    params: list[tuple[str, str]],
    result: dict[str, Any] | None,
    problem: str | None,
    query: Any = None,
    viewer: Viewer | None = None,
) -> str:
    """The search form (the query lives in the URL), facets and results sortable by any
    column, a page at a time."""
    given = dict(params)
    dates = [v for k, v in params if k == "date"] + ["", ""]
    inputs = "".join(
        f'<label>{e(label)} <input name="{e(name)}" value="{e(given.get(name))}" size="18"></label>'
        for name, label in SEARCH_INPUTS
    )
    chosen = query.facets if query is not None else DEFAULT_PAGE_FACETS
    facet_boxes = "".join(
        f'<label><input type="checkbox" name="_facets" value="{e(name)}"'
        f"{' checked' if name in chosen else ''}>{e(name)}</label>"
        for name in PAGE_FACETS
    )
    sort = [v for k, v in params if k == "_sort"]
    form = (
        '<form class="filters" method="get" action="/search/">'
        f"{inputs}"
        f'<label>date <input name="date" value="{e(dates[0])}" size="12"></label>'
        f'<label>date <input name="date" value="{e(dates[1])}" size="12"></label>'
        f'<p class="facet-choice">Facets: {facet_boxes}</p>'
        + "".join(f'<input type="hidden" name="_sort" value="{e(v)}">' for v in sort)
        + '<button type="submit">Search</button></form>'
        '<p class="note">Values as in Crash Stats: <code>~</code> contains, <code>$</code> starts '
        "with, <code>^</code> ends with, <code>!</code> not, dates <code>&gt;=2026-11-01</code>.</p>"
    )
    body = [form]
    if problem:
        body.append(f'<p class="missing">{e(problem)}</p>')
    if result is not None:
        body.append(f"<p>{result['total']} crash reports.</p>")
        body.append('<div class="facets">')
        for name, buckets in result["facets"].items():
            body.append(f"<section><h2>Facet: {e(name)}</h2>")
            rows = []
            for bucket in buckets:
                term = bucket["term"]
                narrowed = [
                    (k, v) for k, v in params if k not in (name, "_results_offset") and v
                ] + [(name, f"={term or ''}" if term else "__null__")]
                label = (
                    link(url("/signature/", signature=term or ""), term)
                    if name == "signature"
                    else e(term if term not in (None, "") else "(unknown)")
                )
                rows.append(
                    [
                        td_html(label),
                        td(bucket["count"], "num"),
                        td_html(f'<a href="{_search_href(narrowed)}">narrow</a>'),
                    ]
                )
            body.append(table([name, "Crashes", ""], rows, f"facet facet-{name}") + "</section>")
        body.append("</div>")
        body.append("<h2>Results</h2>")
        order = query.sort if query is not None else ("-date",)
        body.append(
            table(
                [_sort_header(params, order, name, label) for name, label in RESULT_COLUMNS],
                (
                    [
                        td_html(link(url(f"/report/{hit['uuid']}"), hit["uuid"]), "mono"),
                        td(hit["date"]),
                        td_html(signature_link(hit["signature"]), "mono"),
                        *(td(hit[name]) for name, _ in RESULT_COLUMNS[3:]),
                    ]
                    for hit in result["hits"]
                ),
                "results",
                head_html=True,
            )
        )
        if query is not None:
            pages = []
            offset, number = query.results_offset, query.results_number
            rest = [(k, v) for k, v in params if k != "_results_offset"]
            if offset > 0:
                prev = [*rest, ("_results_offset", max(offset - number, 0))]
                pages.append(f'<a class="previous" href="{_search_href(prev)}">previous</a>')
            if number:
                last = max(result["total"] - 1, 0) // number + 1
                pages.append(f"page {offset // number + 1} of {last}")
            if offset + number < result["total"]:
                nxt = [*rest, ("_results_offset", offset + number)]
                pages.append(f'<a class="next" href="{_search_href(nxt)}">next</a>')
            body.append(f'<p class="pages">{" ".join(pages)}</p>')
    return page("Search", "".join(body), viewer)


def missing_symbols_page(filters: Filters, report: Any, viewer: Viewer | None = None) -> str:
    """The missing-symbols report over the period: each module links to a search of the
    crashes that lacked its symbols then."""
    days = (filters.until - filters.since).days + 1
    form = (
        '<form class="filters" method="get" action="/missing-symbols/">'
        f'<label>Days <input name="days" value="{days}" size="3"></label>'
        f'<label>Until <input name="until" value="{e(filters.until)}" size="10"></label>'
        '<button type="submit">Show</button></form>'
    )
    body = [form, *(f'<p class="note">{e(line)}</p>' for line in report.context)]
    period = [("date", f">={filters.since}"), ("date", f"<={filters.until}")]
    rows = []
    for row in report.rows:
        search = [("missing_symbols", f"={row['module'] or ''}")]
        if row.get("debug_id"):
            search.append(("missing_debug_id", f"={row['debug_id']}"))
        rows.append(
            [
                td(row["rank"], "num"),
                td_html(
                    f'<a href="{_search_href([*search, *period])}">{e(row["module"])}</a>',
                    "module",
                ),
                td(row["version"]),
                td(row["debug_file"], "mono"),
                td(row["debug_id"], "mono"),
                td(row["code_id"], "mono"),
                td(row["reason"], "missing"),
                td(row["crashes"], "num"),
                td(f"{row['percent']:.2f}", "num"),
            ]
        )
    if rows:
        body.append(
            table(
                [
                    "Rank",
                    "Module",
                    "Version",
                    "Debug file",
                    "Debug ID",
                    "Code ID",
                    "Reason",
                    "Crashes",
                    "%",
                ],
                rows,
                "missing-symbols",
            )
        )
    else:
        body.append("<p>No module lacked symbols in this period.</p>")
    return page("Missing symbols", "".join(body), viewer)


def message_page(title: str, message: str, viewer: Viewer | None = None) -> str:
    return page(title, f"<p>{e(message)}</p>", viewer)


def signin_page(viewer: Viewer | None, next_path: str = "/", problem: str | None = None) -> str:
    """The sign-in form (an API token, as ``crashproc tokens add`` printed it), or who is
    signed in already."""
    body = []
    if problem:
        body.append(f'<p class="missing problem">{e(problem)}</p>')
    if viewer is not None and viewer.session:
        body.append(
            f"<p>Signed in as <b>{e(viewer.name)}</b> "
            f"({e(', '.join(sorted(viewer.permissions)))}).</p>"
        )
    body.append(
        '<form class="signin" method="post" action="/signin">'
        '<label>API token <input type="password" name="token" autocomplete="off" size="70" '
        "required autofocus></label>"
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        '<button type="submit">Sign in</button></form>'
        '<p class="note">A token made with <code>crashproc tokens add NAME --permission '
        "view_protected</code>; the session lasts until you sign out, it expires, or the "
        "token is revoked.</p>"
    )
    return page("Sign in", "".join(body), viewer)
