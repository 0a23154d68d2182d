"""The HTML format: one self-contained page, an inline SVG bar per count, everything escaped."""

from __future__ import annotations

import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from processor.cli import run
from processor.reports.compare import compare
from processor.reports.html import COLORS, LABEL_CHARS, render_html
from processor.reports.index import ReportIndex
from processor.reports.model import COUNT, Column, Report
from processor.reports.queries import MISSING_SYMBOLS, SIGNATURES, Period, report
from processor.reports.render import cell
from tests.conftest import missing
from tests.processor.reports.conftest import AFTER, BEFORE
from tests.processor.reports.png import colour_counts, read_png

EXTERNAL_TAGS = {"script", "link", "img", "iframe", "object", "embed", "base", "image", "use"}
PERIODS = ["--before", "2026-11-01..2026-11-07", "--after", "2026-11-08..2026-11-14"]
COMMANDS = {
    "signatures": ["signatures"],
    "missing-symbols": ["missing-symbols"],
    "compare-signatures": ["compare", *PERIODS],
    "compare-missing-symbols": ["compare", "missing-symbols", *PERIODS],
}


class Page(HTMLParser):
    """What a browser would see: tags, attributes, bars, table cells (entities decoded)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.bars: list[dict[str, str]] = []
        self.rows: list[list[str]] = []
        self.headers: list[str] = []
        self.labels: list[str] = []
        self.styles: list[str] = []
        self.tooltips: list[str] = []
        self._stack: list[str] = []
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        attributes = dict(attrs)
        if tag == "rect" and "bar" in (attributes.get("class") or "").split():
            self.bars.append(attributes)
        if tag == "tr" and "tbody" in self._stack:
            self.rows.append([])
        if tag in ("td", "th", "text", "style", "title"):
            self._text = []
        self._stack.append(tag)
        self._label = attributes.get("class") == "label"

    def handle_endtag(self, tag):
        inside_bar = tag == "title" and self._stack[-2:-1] == ["rect"]
        while self._stack and self._stack.pop() != tag:
            pass
        text = "".join(self._text)
        if inside_bar:
            self.tooltips.append(text)
        if tag == "td":
            self.rows[-1].append(text)
        elif tag == "th":
            self.headers.append(text)
        elif tag == "text" and self._label:
            self.labels.append(text)
        elif tag == "style":
            self.styles.append(text)

    def handle_data(self, data):
        self._text.append(data)


@pytest.fixture
def index(report_storage):
    with ReportIndex(report_storage.index_path, create=False) as index:
        yield index


def expected_report(index, name: str) -> Report:
    before, after = Period(*BEFORE), Period(*AFTER)
    return {
        "signatures": lambda: report(index, SIGNATURES),
        "missing-symbols": lambda: report(index, MISSING_SYMBOLS),
        "compare-signatures": lambda: compare(index, SIGNATURES, before, after),
        "compare-missing-symbols": lambda: compare(index, MISSING_SYMBOLS, before, after),
    }[name]()


def render_command(report_storage, name: str) -> str:
    out = io.StringIO()
    argv = ["report", *COMMANDS[name], "--format", "html"]
    assert run([*argv, "--index", str(report_storage.index_path)], out=out) == 0
    return out.getvalue()


def assert_self_contained(text: str, page: Page) -> None:
    assert text.startswith("<!DOCTYPE html>")
    assert not EXTERNAL_TAGS & set(page.tags)
    for name, value in page.attributes:
        assert not name.startswith("on"), name
        assert "://" not in value and not value.startswith("//"), (name, value)
        assert name not in ("href", "src", "xlink:href"), name
    assert "://" not in text
    assert all("url(" not in s and "@import" not in s for s in page.styles)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_html_page(report_storage, index, name):
    text = render_command(report_storage, name)
    page = Page(text)
    expected = expected_report(index, name)
    assert_self_contained(text, page)
    assert page.tags.count("svg") == 1

    # One bar per row and series, as wide as its count allows, in row order.
    series = [key for key, _ in expected.series]
    assert len(page.bars) == len(expected.rows) * len(series) > 0
    counts = [row[key] for row in expected.rows for key in series]
    widths = [float(bar["width"]) for bar in page.bars]
    largest = max(counts)
    for count, width in zip(counts, widths, strict=True):
        assert width == pytest.approx(max(widths) * count / largest, abs=0.1)
    labels = [expected.label_of(row) for row in expected.rows]
    assert page.labels == [
        label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…" for label in labels
    ]
    # Each bar's tooltip names the whole label, its count and its series.
    legends = [legend for _, legend in expected.series]
    assert page.tooltips == [
        f"{label}: {row[key]} ({legend})"
        for label, row in zip(labels, expected.rows, strict=True)
        for key, legend in zip(series, legends, strict=True)
    ]

    # The table: every row and cell, its text (once the parser decodes entities) the value's.
    assert page.headers == [c.label for c in expected.columns]
    assert page.rows == [[cell(c, row[c.key]) for c in expected.columns] for row in expected.rows]


def test_signatures_with_markup_are_escaped(report_storage):
    text = render_command(report_storage, "signatures")
    page = Page(text)
    signature = [s for s in (r[1] for r in page.rows) if "IPC_Message_Name" in s]
    assert signature == [
        '(anonymous namespace)::CrashFunction | IPC_Message_Name=PContent::Msg_<Async>&"quoted"'
    ]
    assert "<Async>" not in text
    assert "Msg_&lt;Async&gt;&amp;&quot;quoted&quot;" in text


def test_hostile_values_stay_text():
    hostile = '</text></svg><script>alert("x")</script><img src=x onerror=alert(1)>'
    attribute = '" onmouseover="alert(1)'
    result = Report(
        title="<b>title</b>",
        columns=[Column("signature", "signature"), Column("crashes", "crashes", COUNT)],
        rows=[{"signature": hostile, "crashes": 3}, {"signature": attribute, "crashes": 1}],
        context=["<i>context</i>"],
        label_keys=("signature",),
        series=[("crashes", "crash reports")],
    )
    text = render_html(result)
    page = Page(text)
    assert not {"script", "img", "b", "i"} & set(page.tags)
    assert not any(name.startswith("on") for name, _ in page.attributes)
    assert [r[0] for r in page.rows] == [hostile, attribute]
    assert len(page.bars) == 2
    assert page.labels[1] == attribute
    # The full value is the bar's tooltip; the chart label is cut to fit.
    assert page.labels[0] == hostile[: LABEL_CHARS - 1] + "…"
    assert page.tooltips[0] == f"{hostile}: 3 (crash reports)"


def test_empty_report_has_no_chart():
    empty = Report(title="Signatures", columns=[Column("signature", "signature")], rows=[])
    page = Page(render_html(empty))
    assert "svg" not in page.tags and "table" not in page.tags
    assert "No rows." in render_html(empty)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        missing("chromium is not installed (apt-get install -y chromium): no headless render")
    return found


def test_chromium_renders_the_chart(report_storage, index, tmp_path):
    browser = chromium()
    page_file = tmp_path / "compare.html"
    page_file.write_text(render_command(report_storage, "compare-signatures"), encoding="utf-8")
    screenshot = tmp_path / "compare.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # tests may run as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1100,700",
            f"--screenshot={screenshot}",
            page_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and screenshot.is_file(), proc.stderr[-2000:]
    width, height, rows = read_png(screenshot)
    assert (width, height) == (1100, 700)
    colours = colour_counts(rows)
    assert len(colours) > 20  # text, bars and table lines, not a blank page
    # Each series' bars cover about the area the SVG gives them (plus its legend swatch).
    bars = Page(page_file.read_text(encoding="utf-8")).bars
    for number, colour in enumerate(COLORS):
        area = sum(
            float(b["width"]) * float(b["height"])
            for b in bars
            if f"series-{number}" in b["class"].split()
        )
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert colours.get(rgb, 0) == pytest.approx(area, rel=0.1, abs=400), colour


def test_read_png_refuses_other_files(tmp_path: Path):
    other = tmp_path / "x.png"
    other.write_bytes(b"GIF89a")
    with pytest.raises(ValueError):
        read_png(other)
