"""Report index benchmark: the same synthetic crashes into SQLite and PostgreSQL, side by side.

Usage: ``make bench-index`` or ``.venv/bin/python bench/index.py [--crashes 1000000]
[--listener 2000] [--postgresql URL]``.

Per backend: ``--crashes`` crashes written in batches (1,000 a transaction, as reindex does),
then ``--listener`` crashes one transaction each from 2 writer processes at once (the storage
listener of two daemon workers), then the signatures, missing-symbols and compare reports and a
faceted search (crashes per product and version) over the last 7 and 30 days, and Super
Searches with 3 facets over 30 days narrowed to Windows (summed from the counts), to Windows
and content processes, and to every OS but Linux (the matching crashes read once). The crashes are
bench/reports.py's (Zipf-like signatures and modules over 60 days). Then the index's size on
disk (tables and their indexes) per crash, and so per day at 1M crashes a day, and the cost of
a retention prune of the oldest day (``ReportIndex.prune``, one day a transaction through the
date indexes): microseconds per crash dropped, which a prune through indexes keeps about
constant whatever the size of the rest of the index (compare a small and a large run). Without ``--postgresql``,
a throw-away server is started on 127.0.0.1 as the tests do (tests/postgresserver.py): same
machine, same settings for both, so the ratios compare the backends, not the hardware. That
server runs with fsync off (as the tests'); the SQLite index with synchronous=NORMAL.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))

from processor.reports import search  # noqa: E402
from processor.reports.compare import compare  # noqa: E402
from processor.reports.extract import index_entry  # noqa: E402
from processor.reports.index import ReportIndex  # noqa: E402
from processor.reports.queries import MISSING_SYMBOLS, SIGNATURES, Period, report  # noqa: E402


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic_crashes = _load("bench_reports", HERE / "reports.py")
BATCH = 1000
LAST_DAY = synthetic_crashes.FIRST_DAY + datetime.timedelta(days=synthetic_crashes.DAYS - 1)


def _writer(target: str, seed: int, count: int) -> None:
    synthetic = synthetic_crashes.Synthetic(seed=seed)
    index = ReportIndex(target)
    for _ in range(count):
        index.on_processed(*synthetic.crash())
    index.close()


def fill(target: str | Path, crashes: int, listener: int) -> dict[str, float]:
    """Rows per second batched, then one crash a transaction from 2 processes."""
    rates = {}
    synthetic = synthetic_crashes.Synthetic()
    with ReportIndex(target) as index:
        elapsed, rest = 0.0, crashes
        while rest > 0:
            batch = [synthetic.crash() for _ in range(min(BATCH, rest))]
            entries = [index_entry(crash_id, processed) for crash_id, processed in batch]
            start = time.perf_counter()
            index.add(entries)
            elapsed += time.perf_counter() - start
            rest -= len(batch)
        rates["batched crashes/s"] = crashes / elapsed
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_writer, args=(str(target), 100 + n, listener // 2))
        for n in range(2)
    ]
    start = time.perf_counter()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    rates["one at a time, 2 writers, crashes/s"] = (listener // 2 * 2) / (
        time.perf_counter() - start
    )
    return rates


def facets(index: ReportIndex, period: Period) -> list[Any]:
    """A faceted search: crashes per product and version in the period."""
    return index.query(
        "SELECT product, version, COUNT(*) AS crashes FROM crashes "
        "WHERE date >= :since AND date <= :until GROUP BY product, version "
        "ORDER BY crashes DESC",
        {"since": period.since.isoformat(), "until": period.until.isoformat()},
    )


def queries(index: ReportIndex) -> dict[str, float]:
    def last(days: int) -> Period:
        return Period(LAST_DAY - datetime.timedelta(days=days - 1), LAST_DAY)

    before = Period(LAST_DAY - datetime.timedelta(days=13), LAST_DAY - datetime.timedelta(days=7))
    cases: list[tuple[str, Callable[[], Any]]] = []
    for days in (7, 30):
        cases += [
            (f"signatures, {days} days", lambda d=days: report(index, SIGNATURES, last(d))),
            (
                f"missing-symbols, {days} days",
                lambda d=days: report(index, MISSING_SYMBOLS, last(d)),
            ),
            (f"facets product/version, {days} days", lambda d=days: facets(index, last(d))),
        ]
    # One filter besides the date: summed from the counts; two, or an operator: one pass over
    # the matching crashes for the total and every facet.
    for label, filters in (
        ("os_name", [("os_name", "Windows NT")]),
        ("os_name+process_type", [("os_name", "Windows NT"), ("process_type", "content")]),
        ("os_name=!Linux", [("os_name", "!Linux")]),
    ):
        params = [
            ("date", f">={last(30).since}"),
            *filters,
            ("_facets", "signature,product,version"),
        ]
        cases.append(
            (
                f"Super Search {label}, 3 facets, 30 days",
                lambda p=params: search.search(index, search.parse_query(p)),
            )
        )
    cases.append(
        ("compare signatures, 7 vs 7 days", lambda: compare(index, SIGNATURES, before, last(7)))
    )
    cases.append(
        (
            "signatures --module xul.dll, 7 days",
            lambda: report(index, SIGNATURES, last(7), "xul.dll"),
        )
    )
    seconds = {}
    for label, run in cases:
        run()  # warm the caches once: the figure is the steady state a report sees
        start = time.perf_counter()
        run()
        seconds[label] = time.perf_counter() - start
    return seconds


def size_bytes(index: ReportIndex) -> int:
    """Bytes the index's tables and their indexes take on disk (SQLite: the file, checkpointed)."""
    if index.dialect == "postgresql":
        from processor.reports.schema import TABLES

        return int(
            index.query(
                "SELECT sum(pg_total_relation_size(to_regclass(t))) FROM unnest(?::text[]) t",
                (list(TABLES),),
            )[0][0]
        )
    index.query("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(index.query("PRAGMA page_count")[0][0] * index.query("PRAGMA page_size")[0][0])


def sizes_and_prune(index: ReportIndex) -> dict[str, float]:
    """Size per crash (and per day at 1M crashes/day), then a prune of the oldest day."""
    crashes = index.crash_count()
    size = size_bytes(index)
    first = index.query("SELECT min(date) FROM crashes")[0][0]
    start = time.perf_counter()
    dropped = index.prune(datetime.date.fromisoformat(first) + datetime.timedelta(days=1))
    seconds = time.perf_counter() - start
    return {
        "crashes in the index": crashes,
        "bytes per crash (tables + indexes)": size / crashes,
        "GB per day at 1M crashes/day": size / crashes * 1_000_000 / 1e9,
        "prune oldest day: crashes dropped": dropped,
        "prune oldest day: seconds": seconds,
        "prune: microseconds per crash dropped": seconds / max(dropped, 1) * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=1_000_000)
    parser.add_argument("--listener", type=int, default=2000)
    parser.add_argument("--postgresql", metavar="URL", help="an empty database to use")
    args = parser.parse_args(argv)
    server = None
    with tempfile.TemporaryDirectory(prefix="bench-index-") as scratch:
        url = args.postgresql
        if url is None:
            from tests.postgresserver import PostgresServer, postgres_bindir

            bindir = postgres_bindir()
            if bindir is None:
                print("no PostgreSQL binaries: pass --postgresql URL", file=sys.stderr)
                return 2
            server = PostgresServer(bindir).start()
            url = server.create_database("bench")
        try:
            targets = {"sqlite": Path(scratch) / "index.sqlite", "postgresql": url}
            rates, seconds, sizes = {}, {}, {}
            for name, target in targets.items():
                print(f"{name}: filling {args.crashes:,} crashes ...", flush=True)
                rates[name] = fill(target, args.crashes, args.listener)
                with ReportIndex(target) as index:
                    seconds[name] = queries(index)
                    sizes[name] = sizes_and_prune(index)
                print(f"{name}: done", flush=True)
        finally:
            if server is not None:
                server.close()
    print(f"\n{'writes':<40} {'sqlite':>12} {'postgresql':>12} {'pg/sqlite':>10}")
    for label in rates["sqlite"]:
        a, b = rates["sqlite"][label], rates["postgresql"][label]
        print(f"{label:<40} {a:>12,.0f} {b:>12,.0f} {b / a:>10.2f}")
    print(f"\n{'queries (seconds)':<40} {'sqlite':>12} {'postgresql':>12} {'pg/sqlite':>10}")
    for label in seconds["sqlite"]:
        a, b = seconds["sqlite"][label], seconds["postgresql"][label]
        print(f"{label:<40} {a:>12.3f} {b:>12.3f} {b / a:>10.2f}")
    print(f"\n{'size and retention':<40} {'sqlite':>12} {'postgresql':>12} {'pg/sqlite':>10}")
    for label in sizes["sqlite"]:
        a, b = sizes["sqlite"][label], sizes["postgresql"][label]
        print(f"{label:<40} {a:>12,.3f} {b:>12,.3f} {b / max(a, 1e-9):>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
