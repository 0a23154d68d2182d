"""Rules for the memory report Firefox attaches to out-of-memory crashes.

The report is the gzipped JSON that about:memory produces (``memory_report`` dump): a list of
measurements ``{process, path, kind, units, amount, description}`` for every process. Its
paths can name the pages the user had open, so the report and anything quoted from it are
protected: notes and logs here name the problem, never a path or a value.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import Mapping
from typing import Any

from processor.rules.base import Rule
from processor.rules.safe import dig, is_int
from processor.status import Status

logger = logging.getLogger(__name__)

#: Largest uncompressed report accepted; real reports are a few MiB.
MAX_SIZE_UNCOMPRESSED = 20 * 1024 * 1024
#: How far an oversized report is inflated (and thrown away) to tell its size: about a second
#: of inflating. Past it the message says only that the size is larger.
MAX_SIZE_COUNTED = 1024 * 1024 * 1024
READ_CHUNK_SIZE = 1024 * 1024


class MemoryReportError(ValueError):
    """The memory report cannot be used; the message is safe to publish."""


def read_memory_report(
    path: str, max_size: int = MAX_SIZE_UNCOMPRESSED, max_counted: int = MAX_SIZE_COUNTED
) -> dict[str, Any]:
    """Decompress and parse the gzipped JSON report at ``path``.

    Only ``max_size`` bytes are ever kept: past them the rest is inflated in chunks and thrown
    away, only to tell the report's size as Socorro's message does (Socorro holds the whole
    report in memory for that). A small file that inflates to gigabytes (a "gzip bomb") thus
    costs ``max_size`` bytes of memory, and the time to inflate at most ``max_counted`` bytes.
    Raises ``MemoryReportError`` for unreadable files, bad gzip, oversize data, invalid JSON
    and JSON that is not an object.
    """
    data = bytearray()
    size = 0
    try:
        with gzip.open(path, "rb") as stream:
            # GzipFile.read(n) inflates incrementally and returns at most n bytes; reading in
            # chunks into one buffer keeps the peak near max_size, not a multiple of it.
            while size <= max_counted:
                chunk = stream.read(READ_CHUNK_SIZE)
                if not chunk:
                    break
                size += len(chunk)
                if size <= max_size:
                    data += chunk
                elif data:
                    data = bytearray()  # over the limit: from now on only counted
    except (OSError, EOFError, zlib.error) as exc:
        raise MemoryReportError(f"error in gzip for memory_report: {type(exc).__name__}") from exc
    if size > max_size:
        told = str(size) if size <= max_counted else f">{max_counted}"
        raise MemoryReportError(f"Uncompressed memory info too large {told} (max: {max_size})")
    try:
        report = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise MemoryReportError(f"error in json for memory_report: {type(exc).__name__}") from exc
    if not isinstance(report, dict):
        raise MemoryReportError("error in json for memory_report: not a JSON object")
    return report


class OutOfMemoryBinaryRule(Rule):
    """Parse the ``memory_report`` dump into ``memory_report`` (protected).

    On any problem the reason goes into ``memory_report_error`` and a note, and
    ``memory_report`` is not written.
    """

    def __init__(self, max_size: int = MAX_SIZE_UNCOMPRESSED) -> None:
        self.max_size = max_size

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return "memory_report" in dumps

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        try:
            processed_crash["memory_report"] = read_memory_report(
                dumps["memory_report"], self.max_size
            )
        except MemoryReportError as exc:
            status.add_note(str(exc))
            processed_crash["memory_report_error"] = str(exc)


# nsIMemoryReporter constants: a report's kind and units.
KIND_NONHEAP = 0
KIND_HEAP = 1
UNITS_BYTES = 0

#: Measurements read directly from the report, by path; keys use "_" for the path's "-".
MEASURED_PATHS = (
    "gfx-textures",
    "ghost-windows",
    "heap-allocated",
    "host-object-urls",
    "private",
    "resident",
    "resident-unique",
    "system-heap-allocated",
    "vsize",
    "vsize-max-contiguous",
)
#: Measurements computed from several reports.
DERIVED_MEASURES = (
    "explicit",
    "heap_overhead",
    "heap_unclassified",
    "images",
    "js_main_runtime",
    "top_none_detached",
)


def memory_measures(memory_report: Mapping[str, Any], pid: int) -> dict[str, int]:
    """The 16 ``memory_measures`` of process ``pid``, summed over its reports.

    Only reports whose ``process`` names ``(pid N)`` count. ``explicit/`` reports must be in
    bytes and of heap or non-heap kind; heap-unclassified is heap-allocated minus the explicit
    heap reports (it can come out negative when the measurements are off, and is kept so),
    and explicit is heap-allocated plus the explicit non-heap reports.
    Raises ``MemoryReportError`` when the reports are malformed or the pid has none.
    """
    reports = memory_report.get("reports")
    if not isinstance(reports, list):
        raise MemoryReportError("reports is not a list")
    measures = {path.replace("-", "_"): 0 for path in MEASURED_PATHS}
    measures.update(dict.fromkeys(DERIVED_MEASURES, 0))
    pid_marker = f"(pid {pid})"
    explicit_heap = explicit_nonheap = 0
    pid_found = False

    for report in reports:
        if not isinstance(report, dict):
            raise MemoryReportError("a report is not an object")
        process = report.get("process")
        if not isinstance(process, str):
            raise MemoryReportError("a report has no process")
        if pid_marker not in process:
            continue
        pid_found = True
        path, kind, units, amount = (report.get(key) for key in ("path", "kind", "units", "amount"))
        if not isinstance(path, str) or not all(is_int(v) for v in (kind, units, amount)):
            raise MemoryReportError("a report lacks a path, kind, units or amount")

        if path.startswith("explicit/"):
            if units != UNITS_BYTES:
                raise MemoryReportError("bad units for an explicit/ report")
            if kind == KIND_NONHEAP:
                explicit_nonheap += amount
            elif kind == KIND_HEAP:
                explicit_heap += amount
            else:
                raise MemoryReportError("bad kind for an explicit/ report")
            if path.startswith("explicit/images/"):
                measures["images"] += amount
            elif "top(none)/detached" in path:
                measures["top_none_detached"] += amount
            elif path.startswith("explicit/heap-overhead/"):
                measures["heap_overhead"] += amount
        elif path.startswith("js-main-runtime/"):
            measures["js_main_runtime"] += amount
        elif path in MEASURED_PATHS:
            measures[path.replace("-", "_")] += amount

    if not pid_found:
        raise MemoryReportError("no measurements found for the crashing pid")
    measures["heap_unclassified"] = measures["heap_allocated"] - explicit_heap
    measures["explicit"] = measures["heap_allocated"] + explicit_nonheap
    return measures


class MemoryReportExtraction(Rule):
    """``memory_measures``: the key numbers of the crashing process from ``memory_report``.

    Needs the stackwalker's ``json_dump.pid`` and a report with ``version``, ``reports`` and
    ``hasMozMallocUsableSize``. A report that does not yield measures gets a note (without any
    of its contents) and no ``memory_measures``.
    """

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        report = processed_crash.get("memory_report")
        return (
            dig(processed_crash, "json_dump.pid", int) is not None
            and isinstance(report, dict)
            and all(key in report for key in ("version", "reports", "hasMozMallocUsableSize"))
        )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        pid = processed_crash["json_dump"]["pid"]
        try:
            measures = memory_measures(processed_crash["memory_report"], pid)
        except MemoryReportError as exc:
            message = f"Unable to extract measurements from memory report: {exc}"
            logger.info(message)
            status.add_note(f"MemoryReportExtraction: {message}")
            return
        processed_crash["memory_measures"] = measures
