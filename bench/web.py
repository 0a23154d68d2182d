"""Crash browser benchmark: pages and Super Search over an index of many synthetic crashes.

Usage: ``make bench-web`` or ``.venv/bin/python bench/web.py [--crashes 1000000]``.

Fills an SQLite report index with ``--crashes`` of bench/reports.py's synthetic crashes
(Zipf-like signatures over 60 days; ``--index PATH`` keeps it, and reuses it when it exists),
starts the real ``crashproc web`` (one worker process) on 127.0.0.1 and times, per request,
top crashers (7 days; also narrowed to Windows), the top signature's page (also with its chart
split by version), a faceted Super Search (signature, product, version facets over 7 and over
30 days, and over 30 days narrowed to an OS: the day, signature and pair counts answer all
three; over 30 days narrowed to an OS and a process type, and to every OS but Linux: the
matching crashes read once for the total and the three facets) and the missing-symbols page (7 days, from its day counts). Each is asked once to warm
the caches, then timed as the median of 5. The peer, measured in the same run, is the bare
query work of each page called in this process (browse.py, search.py and queries.py on the
same index): the ratio is what the web layer (HTTP, HTML, JSON) adds. The goal: each page
under 0.5 s. Last, the server process's peak resident memory (VmHWM).

At 1,000,000 crashes (this shared 2-core machine, load average about 3 from other jobs):
filled in 659 s (about an hour before the fill had a producer process and a large page cache);
served medians 0.013-0.303 s, the slowest the Super Search narrowed to Windows (12.8 s at
404,000 crashes when it read the matching crashes), the missing-symbols page 0.092 s (1.3 s
at 404,000 from the missing_symbols rows); server peak RSS 95 MiB.

The Super Searches that read the matching crashes, once for the total and every facet since
(1,000,000 crashes, filled in 500 s): narrowed to Windows and content processes 0.725 s
served, 0.482 s bare (about 5 s when it read them once per facet); every OS but Linux 1.094 s
served (470,000 matches grouped by three facets: over the goal); the other pages 0.015-0.322 s;
server peak RSS 150 MiB (SQLite's sorters, each up to the connection's page cache).

Since one negated value is summed from the counts (1,000,000 crashes, filled in 569 s): every OS
but Linux 0.808 s served, 0.757 s bare; Windows and content processes 0.655 s; every other page
0.014-0.295 s; server peak RSS 110 MiB.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))

from processor.reports import browse, queries, search  # noqa: E402
from processor.reports.extract import index_entry  # noqa: E402
from processor.reports.index import ReportIndex  # noqa: E402

GOAL_S = 0.5
BATCH = 5000
FILL_CACHE_KIB = 4 * 1024 * 1024  # SQLite's page cache while filling: 4 GiB at most


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic_crashes = _load("bench_reports", HERE / "reports.py")
LAST_DAY = synthetic_crashes.FIRST_DAY + datetime.timedelta(days=synthetic_crashes.DAYS - 1)


def _produce(crashes: int, batches: Any) -> None:
    """Make up the crashes and extract their index entries, in batches (a child process, so
    this runs beside the writer: it is a third of the fill's work)."""
    synthetic = synthetic_crashes.Synthetic()
    rest = crashes
    while rest > 0:
        batch = [synthetic.crash() for _ in range(min(BATCH, rest))]
        batches.put([index_entry(crash_id, processed) for crash_id, processed in batch])
        rest -= len(batch)
    batches.put(None)


def fill(target: Path, crashes: int) -> float:
    """Index ``crashes`` synthetic crashes through ``ReportIndex.add``, the listener's own
    extraction and SQL (the same rows and counts), BATCH crashes a transaction.

    Two things make 1,000,000 take minutes rather than an hour: a child process makes up the
    crashes while this one writes, and the writing connection gets a page cache as large as
    the index (the default 32 MiB made every insert into the crash id and module indexes a
    read from disk once the index outgrew it)."""
    context = multiprocessing.get_context("fork")
    batches = context.Queue(maxsize=4)
    producer = context.Process(target=_produce, args=(crashes, batches), daemon=True)
    producer.start()
    start = time.perf_counter()
    done, reported = 0, 0
    with ReportIndex(target) as index:
        index.query("SELECT 1")  # the schema, before the cache size
        index.database.conn.execute(f"PRAGMA cache_size = -{FILL_CACHE_KIB}")
        while (entries := batches.get()) is not None:
            index.add(entries)
            done += len(entries)
            if done - reported >= 100_000:
                reported = done
                elapsed = time.perf_counter() - start
                print(f"  {done:,} crashes, {done / elapsed:,.0f}/s", flush=True)
    producer.join()
    return time.perf_counter() - start


def median_seconds(run: Callable[[], Any], times: int = 5) -> float:
    run()  # warm
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=1_000_000)
    parser.add_argument(
        "--index", type=Path, help="keep the filled index here; reuse it when it exists"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as scratch:
        index_path = args.index or Path(scratch) / "index.sqlite"
        if index_path.exists():
            with ReportIndex(index_path, create=False) as index:
                args.crashes = index.crash_count()
            print(f"reusing {index_path} ({args.crashes:,} crashes)", flush=True)
        else:
            print(f"filling {args.crashes:,} crashes ...", flush=True)
            print(f"filled in {fill(index_path, args.crashes):.0f} s", flush=True)
        files = index_path.parent.glob(index_path.name + "*")
        print(f"index size: {sum(f.stat().st_size for f in files) / 1e6:,.0f} MB", flush=True)
        week = browse.Filters(LAST_DAY - datetime.timedelta(days=6), LAST_DAY)
        windows_week = dataclasses.replace(week, os_name="Windows NT")

        def search_params(days: int) -> list[tuple[str, str]]:
            since = (LAST_DAY - datetime.timedelta(days=days - 1)).isoformat()
            return [
                ("date", f">={since}"),
                ("_facets", "signature,product,version"),
                ("_results_number", "100"),
            ]

        # A filter besides the date: summed from the signature and pair counts. Two, or an
        # operator: the matching crashes read once for the total and every facet.
        windows_search = [*search_params(30), ("os_name", "Windows NT")]
        two_search = [*windows_search, ("process_type", "content")]
        not_linux_search = [*search_params(30), ("os_name", "!Linux")]
        with ReportIndex(index_path, create=False) as index:
            top = browse.top_crashers(index, week, top=1)[0].signature or ""

            def bare_top() -> Any:
                return browse.top_crashers(index, week), browse.total(index, week)

            def bare_signature() -> Any:
                summary = browse.signature_summary(index, top)
                chart = browse.Filters(
                    datetime.date.fromisoformat(summary.first_seen),
                    datetime.date.fromisoformat(summary.last_seen),
                )
                return (
                    browse.signature_days(index, chart, [top]),
                    browse.signature_crashes(index, top),
                )

            def bare_split() -> Any:
                summary = browse.signature_summary(index, top)
                chart = browse.Filters(
                    datetime.date.fromisoformat(summary.first_seen),
                    datetime.date.fromisoformat(summary.last_seen),
                )
                return (
                    browse.signature_series(index, chart, top, "version"),
                    browse.signature_crashes(index, top),
                )

            def bare_search(params: list[tuple[str, str]]) -> Callable[[], Any]:
                return lambda: search.search(index, search.parse_query(params))

            def bare_top_windows() -> Any:
                return browse.top_crashers(index, windows_week), browse.total(index, windows_week)

            def bare_missing() -> Any:
                return queries.report(
                    index, queries.MISSING_SYMBOLS, queries.Period(week.since, week.until), top=200
                )

            peers = {
                "top crashers, 7 days": median_seconds(bare_top),
                "top crashers, 7 days, Windows": median_seconds(bare_top_windows),
                "signature page (top signature)": median_seconds(bare_signature),
                "signature page, chart by version": median_seconds(bare_split),
                "Super Search, 3 facets, 7 days": median_seconds(bare_search(search_params(7))),
                "Super Search, 3 facets, 30 days": median_seconds(bare_search(search_params(30))),
                "Super Search, 30 days, os_name=Windows NT": median_seconds(
                    bare_search(windows_search)
                ),
                "Super Search, 30 days, +process_type=content": median_seconds(
                    bare_search(two_search)
                ),
                "Super Search, 30 days, os_name=!Linux": median_seconds(
                    bare_search(not_linux_search)
                ),
                "missing symbols, 7 days": median_seconds(bare_missing),
            }
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHPROC_")}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "processor",
                "web",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--storage",
                str(Path(scratch) / "crashes"),
                "--index",
                str(index_path),
                "--tokens",
                str(Path(scratch) / "tokens.sqlite"),
            ],
            cwd=scratch,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(base + "/__lbheartbeat__", timeout=5)
                    break
                except requests.ConnectionError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        print("crashproc web did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
            session = requests.Session()

            def fetch(path: str, params: Any) -> Callable[[], Any]:
                def run() -> Any:
                    answer = session.get(base + path, params=params, timeout=60)
                    answer.raise_for_status()
                    return answer

                return run

            until = LAST_DAY.isoformat()
            pages = {
                "top crashers, 7 days": fetch("/", {"days": 7, "until": until}),
                "top crashers, 7 days, Windows": fetch(
                    "/", {"days": 7, "until": until, "os_name": "Windows NT"}
                ),
                "signature page (top signature)": fetch("/signature/", {"signature": top}),
                "signature page, chart by version": fetch(
                    "/signature/", {"signature": top, "chart": "version"}
                ),
                "Super Search, 3 facets, 7 days": fetch("/api/SuperSearch/", search_params(7)),
                "Super Search, 3 facets, 30 days": fetch("/api/SuperSearch/", search_params(30)),
                "Super Search, 30 days, os_name=Windows NT": fetch(
                    "/api/SuperSearch/", windows_search
                ),
                "Super Search, 30 days, +process_type=content": fetch(
                    "/api/SuperSearch/", two_search
                ),
                "Super Search, 30 days, os_name=!Linux": fetch(
                    "/api/SuperSearch/", not_linux_search
                ),
                "missing symbols, 7 days": fetch("/missing-symbols/", {"days": 7, "until": until}),
            }
            served = {label: median_seconds(run) for label, run in pages.items()}
            peak_kib = _peak_rss_kib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"\n{'over ' + format(args.crashes, ',') + ' crashes':<44} {'served s':>10} "
        f"{'bare query s':>13} {'served/bare':>12} {'goal':>6}"
    )
    for label, seconds in served.items():
        ok = "ok" if seconds < GOAL_S else "SLOW"
        print(
            f"{label:<44} {seconds:>10.3f} {peers[label]:>13.3f} "
            f"{seconds / peers[label]:>12.2f} {ok:>6}"
        )
    print(f"\nserver peak RSS: {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
