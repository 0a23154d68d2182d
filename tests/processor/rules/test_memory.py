"""Tests for the memory report rules: reading the gzipped report and extracting measures."""

from __future__ import annotations

import copy
import gzip
import json
import time
import tracemalloc
import zlib

import pytest

from processor.rules.memory import (
    MAX_SIZE_UNCOMPRESSED,
    MemoryReportError,
    MemoryReportExtraction,
    OutOfMemoryBinaryRule,
    read_memory_report,
)

SECRET_URL = "https://secret.example/inbox?user=alice"
MAIN = "Main Process (pid 11620)"
CONTENT = "Web Content (pid 11717)"

# kind: 0 non-heap, 1 heap, 2 other; units: 0 bytes, 1 count.
REPORT_ROWS = [
    # Main process.
    (MAIN, "explicit/js-non-window/runtime/gc", 1, 0, 5_000_000),
    (MAIN, "explicit/images/content/raster/used/decoded-heap", 1, 0, 1_000_000),
    (MAIN, f"explicit/window-objects/top(none)/detached/window({SECRET_URL})/dom", 1, 0, 300_000),
    (MAIN, "explicit/heap-overhead/bin-unused", 1, 0, 700_000),
    (MAIN, "explicit/gfx/surfaces", 0, 0, 2_000_000),
    (MAIN, "heap-allocated", 2, 0, 20_000_000),
    (MAIN, "js-main-runtime/realms/classes", 2, 0, 4_000_000),
    (MAIN, "js-main-runtime/gc-heap/unused-arenas", 2, 0, 500_000),
    (MAIN, "resident", 2, 0, 150_000_000),
    (MAIN, "resident-unique", 2, 0, 120_000_000),
    (MAIN, "private", 2, 0, 110_000_000),
    (MAIN, "vsize", 2, 0, 900_000_000),
    (MAIN, "vsize-max-contiguous", 2, 0, 5_000_000),
    (MAIN, "system-heap-allocated", 2, 0, 3_000_000),
    (MAIN, "ghost-windows", 2, 1, 2),
    (MAIN, "host-object-urls", 2, 1, 4),
    (MAIN, "gfx-textures", 2, 0, 6_000_000),
    (MAIN, "page-faults-hard", 2, 2, 99),  # not a measure we keep
    # Content process.
    (CONTENT, "explicit/dom/nodes", 1, 0, 1_000),
    (CONTENT, "explicit/layout/frames", 0, 0, 200),
    (CONTENT, "heap-allocated", 2, 0, 5_000),
    (CONTENT, "resident", 2, 0, 60_000_000),
    # A pid whose number contains the main one must not be mixed in.
    ("Web Content (pid 116201)", "heap-allocated", 2, 0, 777),
]


def make_report(rows=REPORT_ROWS):
    return {
        "version": 1,
        "hasMozMallocUsableSize": True,
        "reports": [
            {
                "process": process,
                "path": path,
                "kind": kind,
                "units": units,
                "amount": amount,
                "description": "about:memory description",
            }
            for process, path, kind, units, amount in rows
        ],
    }


MAIN_MEASURES = {
    "explicit": 20_000_000 + 2_000_000,
    "gfx_textures": 6_000_000,
    "ghost_windows": 2,
    "heap_allocated": 20_000_000,
    "heap_overhead": 700_000,
    "heap_unclassified": 20_000_000 - (5_000_000 + 1_000_000 + 300_000 + 700_000),
    "host_object_urls": 4,
    "images": 1_000_000,
    "js_main_runtime": 4_500_000,
    "private": 110_000_000,
    "resident": 150_000_000,
    "resident_unique": 120_000_000,
    "system_heap_allocated": 3_000_000,
    "top_none_detached": 300_000,
    "vsize": 900_000_000,
    "vsize_max_contiguous": 5_000_000,
}


def write_gzip(path, data: bytes):
    path.write_bytes(gzip.compress(data))
    return str(path)


class TestOutOfMemoryBinaryRule:
    def run(self, run_rule, path):
        processed_crash = {}
        status = run_rule(
            OutOfMemoryBinaryRule(),
            processed_crash=processed_crash,
            dumps={"memory_report": str(path)},
        )
        return processed_crash, status

    def test_good_report(self, run_rule, tmp_path):
        report = make_report()
        path = write_gzip(tmp_path / "memory.json.gz", json.dumps(report).encode())
        processed_crash, status = self.run(run_rule, path)
        assert processed_crash == {"memory_report": report}
        assert status.notes == []

    def test_no_memory_report_dump(self, run_rule):
        processed_crash = {}
        run_rule(
            OutOfMemoryBinaryRule(),
            processed_crash=processed_crash,
            dumps={"upload_file_minidump": "/x"},
        )
        assert processed_crash == {}

    def check_error(self, processed_crash, status, expected):
        assert "memory_report" not in processed_crash
        assert processed_crash["memory_report_error"] == expected
        assert status.notes == [expected]

    def test_not_gzip(self, run_rule, tmp_path):
        path = tmp_path / "memory.json.gz"
        path.write_bytes(json.dumps(make_report()).encode())
        self.check_error(*self.run(run_rule, path), "error in gzip for memory_report: BadGzipFile")

    def test_truncated_gzip(self, run_rule, tmp_path):
        data = gzip.compress(json.dumps(make_report()).encode())
        path = tmp_path / "memory.json.gz"
        path.write_bytes(data[: len(data) // 2])
        self.check_error(*self.run(run_rule, path), "error in gzip for memory_report: EOFError")

    def test_corrupt_deflate_stream(self, run_rule, tmp_path):
        data = bytearray(gzip.compress(json.dumps(make_report()).encode()))
        data[20:40] = b"\xff" * 20
        path = tmp_path / "memory.json.gz"
        path.write_bytes(bytes(data))
        processed_crash, status = self.run(run_rule, path)
        assert processed_crash["memory_report_error"].startswith("error in gzip for memory_report")
        assert status.notes == [processed_crash["memory_report_error"]]

    def test_missing_file(self, run_rule, tmp_path):
        processed_crash, status = self.run(run_rule, tmp_path / "absent.gz")
        self.check_error(
            processed_crash, status, "error in gzip for memory_report: FileNotFoundError"
        )

    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            (b'{"version": 1, "reports": [', "error in json for memory_report: JSONDecodeError"),
            (b'{"a": "\xff"}', "error in json for memory_report: UnicodeDecodeError"),
            (b"[" * 200_000 + b"]" * 200_000, "error in json for memory_report: RecursionError"),
            (b"[1, 2, 3]", "error in json for memory_report: not a JSON object"),
            (b'"just a string"', "error in json for memory_report: not a JSON object"),
        ],
    )
    def test_bad_json(self, run_rule, tmp_path, payload, expected):
        path = write_gzip(tmp_path / "memory.json.gz", payload)
        self.check_error(*self.run(run_rule, path), expected)

    def test_json_error_does_not_quote_the_report(self, run_rule, tmp_path):
        payload = json.dumps({"url": SECRET_URL}).encode()[:-1]
        path = write_gzip(tmp_path / "memory.json.gz", payload)
        processed_crash, status = self.run(run_rule, path)
        assert SECRET_URL not in processed_crash["memory_report_error"]
        assert all(SECRET_URL not in note for note in status.notes)

    def test_size_limit_boundary(self, run_rule, tmp_path):
        body = json.dumps(make_report()).encode()
        exactly = body + b" " * (MAX_SIZE_UNCOMPRESSED - len(body))
        processed_crash, status = self.run(run_rule, write_gzip(tmp_path / "ok.json.gz", exactly))
        assert processed_crash == {"memory_report": make_report()}

        over = exactly + b" "
        processed_crash, status = self.run(run_rule, write_gzip(tmp_path / "big.json.gz", over))
        self.check_error(
            processed_crash,
            status,
            f"Uncompressed memory info too large {MAX_SIZE_UNCOMPRESSED + 1} "
            f"(max: {MAX_SIZE_UNCOMPRESSED})",
        )

    def test_too_large_reports_its_size(self, run_rule, tmp_path):
        # Socorro's case: a 35-byte report with a 5-byte limit.
        path = write_gzip(
            tmp_path / "memory.json.gz", b'{"mysterious": ["awesome", "memory"]}'[:35]
        )
        processed_crash = {}
        status = run_rule(
            OutOfMemoryBinaryRule(max_size=5),
            processed_crash=processed_crash,
            dumps={"memory_report": str(path)},
        )
        self.check_error(processed_crash, status, "Uncompressed memory info too large 35 (max: 5)")

    def test_size_is_counted_up_to_a_bound(self, tmp_path):
        path = write_gzip(tmp_path / "memory.json.gz", b" " * (3 * 1024 * 1024))
        with pytest.raises(MemoryReportError, match=r"too large 3145728 \(max: 10\)$"):
            read_memory_report(str(path), max_size=10, max_counted=3 * 1024 * 1024)
        with pytest.raises(MemoryReportError, match=r"too large >1048576 \(max: 10\)$"):
            read_memory_report(str(path), max_size=10, max_counted=1024 * 1024)

    def test_gzip_bomb_is_never_fully_inflated(self, run_rule, tmp_path):
        # 100 MiB of zeros, compressed chunk by chunk so the test itself stays small.
        inflated_size = 100 * 1024 * 1024
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
        chunk = b"\0" * (1024 * 1024)
        path = tmp_path / "bomb.json.gz"
        with path.open("wb") as out:
            for _ in range(inflated_size // len(chunk)):
                out.write(compressor.compress(chunk))
            out.write(compressor.flush())
        assert path.stat().st_size < 200 * 1024

        tracemalloc.start()
        try:
            started = time.perf_counter()
            processed_crash, status = self.run(run_rule, path)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        self.check_error(
            processed_crash,
            status,
            f"Uncompressed memory info too large {inflated_size} (max: {MAX_SIZE_UNCOMPRESSED})",
        )
        # Keeping everything would need more than 100 MiB; the limit bounds it near 20 MiB.
        assert peak < MAX_SIZE_UNCOMPRESSED * 1.5, peak
        assert elapsed < 10


class TestMemoryReportExtraction:
    def run(self, run_rule, processed_crash):
        return run_rule(MemoryReportExtraction(), processed_crash=processed_crash)

    def test_main_process(self, run_rule):
        processed_crash = {"memory_report": make_report(), "json_dump": {"pid": 11620}}
        status = self.run(run_rule, processed_crash)
        assert processed_crash["memory_measures"] == MAIN_MEASURES
        assert status.notes == []

    def test_content_process(self, run_rule):
        processed_crash = {"memory_report": make_report(), "json_dump": {"pid": 11717}}
        self.run(run_rule, processed_crash)
        expected = dict.fromkeys(MAIN_MEASURES, 0)
        expected.update(
            heap_allocated=5_000,
            heap_unclassified=5_000 - 1_000,
            explicit=5_000 + 200,
            resident=60_000_000,
        )
        assert processed_crash["memory_measures"] == expected

    def test_after_reading_the_dump(self, run_rule, tmp_path):
        path = write_gzip(tmp_path / "memory.json.gz", json.dumps(make_report()).encode())
        processed_crash = {"json_dump": {"pid": 11620}}
        run_rule(
            OutOfMemoryBinaryRule(), processed_crash=processed_crash, dumps={"memory_report": path}
        )
        self.run(run_rule, processed_crash)
        assert processed_crash["memory_measures"] == MAIN_MEASURES

    @pytest.mark.parametrize(
        "processed_crash",
        [
            {},
            {"memory_report": make_report()},
            {"memory_report": make_report(), "json_dump": {}},
            {"memory_report": make_report(), "json_dump": {"pid": None}},
            {"memory_report": make_report(), "json_dump": {"pid": "11620"}},
            {"memory_report": make_report(), "json_dump": None},
            {"memory_report": {"version": 1, "reports": []}, "json_dump": {"pid": 11620}},
            {"memory_report": "not a dict", "json_dump": {"pid": 11620}},
            {"memory_report_error": "x", "json_dump": {"pid": 11620}},
        ],
    )
    def test_predicate_false(self, run_rule, processed_crash):
        before = copy.deepcopy(processed_crash)
        status = self.run(run_rule, processed_crash)
        assert processed_crash == before
        assert status.notes == []

    def with_main_row(self, **changes):
        report = make_report()
        row = next(r for r in report["reports"] if r["path"].startswith("explicit/window-objects"))
        row.update(changes)
        for key, value in list(changes.items()):
            if value is None:
                del row[key]
        return report

    @pytest.mark.parametrize(
        ("report", "reason"),
        [
            (None, "no measurements found for the crashing pid"),
            ("kind", "bad kind for an explicit/ report"),
            ("units", "bad units for an explicit/ report"),
            ("amount", "a report lacks a path, kind, units or amount"),
            ("process", "a report has no process"),
            ("reports", "reports is not a list"),
            ("item", "a report is not an object"),
        ],
    )
    def test_unusable_reports(self, run_rule, caplog, report, reason):
        if report is None:
            memory_report, pid = make_report(), 12345
        else:
            pid = 11620
            memory_report = {
                "kind": lambda: self.with_main_row(kind=2),
                "units": lambda: self.with_main_row(units=1),
                "amount": lambda: self.with_main_row(amount="300000"),
                "process": lambda: self.with_main_row(process=None),
                "reports": lambda: dict(make_report(), reports={"a": 1}),
                "item": lambda: dict(make_report(), reports=[*make_report()["reports"], 7]),
            }[report]()
        processed_crash = {"memory_report": memory_report, "json_dump": {"pid": pid}}
        with caplog.at_level("INFO"):
            status = self.run(run_rule, processed_crash)
        assert "memory_measures" not in processed_crash
        message = f"Unable to extract measurements from memory report: {reason}"
        assert status.notes == [f"MemoryReportExtraction: {message}"]
        assert message in caplog.messages
        assert all(SECRET_URL not in text for text in [*status.notes, caplog.text])

    def test_bad_rows_of_other_processes_are_ignored(self, run_rule):
        rows = [*REPORT_ROWS, (CONTENT, "explicit/odd", 7, 3, 1)]
        processed_crash = {"memory_report": make_report(rows), "json_dump": {"pid": 11620}}
        self.run(run_rule, processed_crash)
        assert processed_crash["memory_measures"] == MAIN_MEASURES


def test_written_fields_match_the_processed_schema(run_rule, tmp_path, schema_problems):
    good = write_gzip(tmp_path / "good.json.gz", json.dumps(make_report()).encode())
    bad = write_gzip(tmp_path / "bad.json.gz", b"[]")
    written = {}
    for path in (good, bad):
        processed_crash = {"json_dump": {"pid": 11620}}
        run_rule(
            OutOfMemoryBinaryRule(), processed_crash=processed_crash, dumps={"memory_report": path}
        )
        run_rule(MemoryReportExtraction(), processed_crash=processed_crash)
        del processed_crash["json_dump"]
        written.update(processed_crash)
    assert set(written) == {"memory_report", "memory_measures", "memory_report_error"}
    assert schema_problems(written) == {}
