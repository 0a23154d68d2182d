"""Report benchmark: 100,000 synthetic processed crashes in the report index, then every report.

Usage: ``make bench-reports`` or
``.venv/bin/python bench/reports.py [--crashes 100000] [--listener 10000] [--reindex 2000]
[--keep DIR]``.

The crashes are shaped like a week of a large product's reports: signatures and modules with
long-tailed (Zipf-like) frequencies, OS, CPU, process type, crash reason and channel in
realistic proportions, 5-20 modules on each crashing stack, 0-4 modules without
symbols per crash with the symbolication rule's reasons, dates over 60 days. The first
``--listener`` crashes go into the index through ``ReportIndex.on_processed``, the storage
listener the daemon runs, one transaction per crash as in production (its rate is printed);
the rest through the same extraction and SQL in batches, so the fill does not dominate. Then each report (both formats that matter for size:
text and HTML) is timed over the whole index and over a week, and ``--reindex`` crashes are
written to a filesystem storage and rebuilt from it, for the rebuild rate.

Goal from the issue: a report over 100,000 crashes takes seconds, not a scan of every crash.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

from processor.crashid import create_crash_id  # noqa: E402
from processor.reports.compare import compare  # noqa: E402
from processor.reports.extract import index_entry  # noqa: E402
from processor.reports.formats import FORMATS  # noqa: E402
from processor.reports.index import ReportIndex  # noqa: E402
from processor.reports.queries import MISSING_SYMBOLS, SIGNATURES, Period, report  # noqa: E402
from processor.reports.reindex import reindex  # noqa: E402
from processor.storage import open_storage  # noqa: E402

REASONS = [
    ("not-found", 70),
    ("code-info-lookup-failed", 10),
    ("no-debug-id", 5),
    ("transient", 8),
    ("corrupt-symbols", 2),
    ("refused", 1),
    ("not-looked-up", 4),
]
# (os_name, os_version, os_pretty_version, cpu_arch), weight
PLATFORMS = [
    (("Windows NT", "10.0.19045", "Windows 10", "amd64"), 40),
    (("Windows NT", "10.0.22631", "Windows 11", "amd64"), 25),
    (("Windows NT", "10.0.19045", "Windows 10", "x86"), 8),
    (("Mac OS X", "14.5.0 23F79", "macOS 14", "arm64"), 10),
    (("Mac OS X", "13.6.0 22G120", "macOS 13", "amd64"), 4),
    (("Linux", "0.0.0 Linux 6.1.0-18-amd64", "Linux", "amd64"), 6),
    (("Android", "34", "Android 34", "arm64"), 7),
]
PROCESS_TYPES = [("parent", 35), ("content", 45), ("gpu", 10), ("utility", 5), ("rdd", 5)]
CRASH_REASONS = [
    ("EXCEPTION_ACCESS_VIOLATION_READ", 45),
    ("EXCEPTION_ACCESS_VIOLATION_WRITE", 15),
    ("EXCEPTION_BREAKPOINT", 10),
    ("SIGSEGV / SEGV_MAPERR", 20),
    ("SIGABRT", 7),
    ("EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", 3),
]
CHANNELS = [("release", 70), ("beta", 15), ("nightly", 10), ("esr", 5)]
FIRST_DAY = datetime.date(2026, 9, 1)
DAYS = 60
BATCH = 1000
WORDS = [
    "mozilla",
    "dom",
    "js",
    "gc",
    "layout",
    "net",
    "ipc",
    "gfx",
    "webgpu",
    "media",
    "nsTArray",
    "RefPtr",
    "Maybe",
    "Span",
]


def zipf_weights(count: int, exponent: float = 1.1) -> list[float]:
    """Cumulative weights (random.choices would re-add plain ones on every call)."""
    return list(itertools.accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


class Synthetic:
    """Deterministic pools of signatures, modules and module ids, sampled per crash."""

    def __init__(self, seed: int = 8) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.signatures = [
            "::".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
            + rng.choice(["", "<T>", ' | IPC_Message_Name=PContent::Msg_<Async>&"x"'])
            + f"::f{n}"
            for n in range(6000)
        ]
        self.signature_weights = zipf_weights(len(self.signatures))
        self.modules = ["xul.dll", "ntdll.dll", "kernel32.dll", "mozglue.dll", "nss3.dll"] + [
            f"lib{n}.dll" for n in range(400)
        ]
        self.module_weights = zipf_weights(len(self.modules), 0.8)
        self.missing = [self._module_id(n) for n in range(3000)]
        self.missing_weights = zipf_weights(len(self.missing))
        self.reasons = [r for r, _ in REASONS]
        self.reason_weights = list(itertools.accumulate(w for _, w in REASONS))
        self.dimensions = [
            ([v for v, _ in pool], list(itertools.accumulate(w for _, w in pool)))
            for pool in (PLATFORMS, PROCESS_TYPES, CRASH_REASONS, CHANNELS)
        ]

    def _module_id(self, n: int) -> dict[str, Any]:
        rng = self.rng
        name = f"lib{rng.randrange(400)}.dll" if n % 5 else f"driver{n}.dll"
        debug_id = f"{rng.getrandbits(128):032X}{rng.randrange(16):X}"
        return {
            "filename": name,
            "version": f"{rng.randint(1, 30)}.{rng.randint(0, 9)}.{n}",
            "debug_file": name.replace(".dll", ".pdb"),
            "debug_id": debug_id,
            "code_id": f"{rng.getrandbits(48):x}",
        }

    def crash(self) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        day = FIRST_DAY + datetime.timedelta(days=rng.randrange(DAYS))
        when = datetime.datetime.combine(day, datetime.time(rng.randrange(24)), datetime.UTC)
        crash_id = create_crash_id(when)
        stack = rng.choices(self.modules, cum_weights=self.module_weights, k=rng.randint(5, 20))
        missing = [
            {**module, "reason": rng.choices(self.reasons, cum_weights=self.reason_weights)[0]}
            for module in rng.choices(
                self.missing, cum_weights=self.missing_weights, k=rng.choice((0, 0, 1, 2, 4))
            )
        ]
        (os_name, os_version, os_pretty, cpu), process_type, reason, channel = (
            rng.choices(values, cum_weights=weights)[0] for values, weights in self.dimensions
        )
        processed = {
            "crash_id": crash_id,
            "os_name": os_name,
            "os_version": os_version,
            "os_pretty_version": os_pretty,
            "cpu_arch": cpu,
            "process_type": process_type,
            "reason": reason,
            "release_channel": channel,
            "uuid": crash_id,
            "date_processed": when.isoformat(),
            "signature": rng.choices(self.signatures, cum_weights=self.signature_weights)[0],
            "product": rng.choice(["Firefox", "Firefox", "Firefox", "Thunderbird", "Fenix"]),
            "version": rng.choice(["157.0", "157.0.1", "158.0b3", "159.0a1"]),
            "json_dump": {
                "crashing_thread": {"frames": [{"module": m} for m in stack]},
                "modules": [{"filename": m, "missing_symbols": False} for m in set(stack)],
            },
            "symbolication": {"recovered_modules": [], "missing_modules": missing},
        }
        return crash_id, processed


def timed(label: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = action()
    print(f"  {label:<52} {time.perf_counter() - start:8.3f} s", flush=True)
    return result


def fill(index: ReportIndex, synthetic: Synthetic, count: int, per_crash: int) -> None:
    """The first ``per_crash`` crashes one transaction each, as the listener runs in the
    daemon (its rate); the rest in batches through the same extraction and SQL. Only the
    indexing is timed, not making up the crashes."""
    listened = min(per_crash, count)
    crashes = [synthetic.crash() for _ in range(listened)]
    start = time.perf_counter()
    for crash_id, processed in crashes:
        index.on_processed(crash_id, processed)
    elapsed = time.perf_counter() - start
    print(
        f"  listener: {listened} crashes in {elapsed:.1f} s ({listened / elapsed:,.0f} crashes/s)"
    )
    elapsed, rest = 0.0, count - listened
    while rest > 0:
        crashes = [synthetic.crash() for _ in range(min(BATCH, rest))]
        start = time.perf_counter()
        index.add(index_entry(crash_id, processed) for crash_id, processed in crashes)
        elapsed += time.perf_counter() - start
        rest -= len(crashes)
    if count > listened:
        print(
            f"  batched ({BATCH} a transaction): {count - listened} crashes in {elapsed:.1f} s "
            f"({(count - listened) / elapsed:,.0f} crashes/s)"
        )


def bench_reports(index: ReportIndex) -> None:
    week = Period(FIRST_DAY + datetime.timedelta(days=30), FIRST_DAY + datetime.timedelta(days=36))
    before = Period(FIRST_DAY, FIRST_DAY + datetime.timedelta(days=29))
    after = Period(FIRST_DAY + datetime.timedelta(days=30), None)
    cases = [
        ("signatures, all dates, top 50", lambda: report(index, SIGNATURES)),
        ("signatures, one week, top 50", lambda: report(index, SIGNATURES, week)),
        ("signatures, --module xul.dll", lambda: report(index, SIGNATURES, module="xul.dll")),
        (
            "signatures, --module lib300.dll, one week",
            lambda: report(index, SIGNATURES, week, "lib300.dll"),
        ),
        ("missing-symbols, all dates, top 50", lambda: report(index, MISSING_SYMBOLS)),
        ("missing-symbols, one week, top 50", lambda: report(index, MISSING_SYMBOLS, week)),
        (
            "compare signatures, 30 days vs 30 days",
            lambda: compare(index, SIGNATURES, before, after),
        ),
        (
            "compare missing-symbols, 30 days vs 30 days",
            lambda: compare(index, MISSING_SYMBOLS, before, after),
        ),
        ("signatures, all dates, top 1000", lambda: report(index, SIGNATURES, top=1000)),
    ]
    for label, build in cases:
        result = timed(label, build)
        for name in ("text", "html"):
            start = time.perf_counter()
            FORMATS[name](result)
            rendered = time.perf_counter() - start
            if rendered > 0.05:
                print(f"    rendering {name}: {rendered:.3f} s")


def bench_reindex(directory: Path, synthetic: Synthetic, count: int) -> None:
    storage = open_storage(str(directory / "crashes"))
    for _ in range(count):
        crash_id, processed = synthetic.crash()
        storage.save_raw_crash(crash_id, {"uuid": crash_id}, {})  # listed by its raw crash
        storage.save_processed_crash(crash_id, processed)
    with ReportIndex(directory / "reindexed.sqlite") as index:
        start = time.perf_counter()
        result = reindex(storage, index)
        elapsed = time.perf_counter() - start
    print(
        f"  reindex: {result.indexed} crashes from filesystem storage in {elapsed:.2f} s "
        f"({result.indexed / elapsed:,.0f} crashes/s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=100_000)
    parser.add_argument(
        "--listener", type=int, default=10_000, help="crashes indexed one transaction each"
    )
    parser.add_argument("--reindex", type=int, default=2000, help="crashes for the rebuild rate")
    parser.add_argument("--keep", type=Path, help="leave the index in this directory")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "report-index.sqlite"
        path.unlink(missing_ok=True)
        synthetic = Synthetic()
        print(f"index: {path}")
        with ReportIndex(path) as index:
            fill(index, synthetic, args.crashes, args.listener)
            size = sum(p.stat().st_size for p in directory.glob("report-index.sqlite*"))
            print(f"  index size: {size / 1e6:.1f} MB ({index.crash_count()} crashes)")
            print("reports (query; rendering shown when over 50 ms):")
            bench_reports(index)
        if args.reindex:
            print("rebuild:")
            bench_reindex(directory, Synthetic(seed=9), args.reindex)
    return 0


if __name__ == "__main__":
    sys.exit(main())
