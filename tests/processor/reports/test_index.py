"""The report index: what the listener writes, idempotence, rebuild from storage, refusals."""

from __future__ import annotations

import copy
import datetime
import multiprocessing
import sqlite3
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from processor.crashid import create_crash_id, date_from_crash_id
from processor.reports.extract import NOT_LOOKED_UP, index_entry
from processor.reports.index import (
    SCHEMA_VERSION,
    IndexUnavailable,
    ReportIndex,
    ReportIndexError,
    SchemaVersionError,
    attach_report_index,
)
from processor.reports.reindex import reindex
from processor.reports.schema import (
    COUNTED_FIELDS,
    DIMENSIONS,
    MISSING_COLUMNS,
    PAIRS,
    SIGNATURE_COUNTED_FIELDS,
)
from processor.storage import CorruptCrashData, ListenerError, open_storage
from processor.storage.crashstorage import processed_key
from tests.postgresserver import free_port

# Every table's rows by crash id (the integer ids and generation stamps aside).
TABLES = {
    "crashes": "SELECT crash_id, date, signature, product, version, "
    f"{', '.join(DIMENSIONS)} FROM crashes",
    "crash_modules": "SELECT c.crash_id, m.module, m.date FROM crash_modules AS m "
    "JOIN crashes AS c ON c.id = m.crash",
    "missing_symbols": "SELECT c.crash_id, s.date, s.filename, s.version, s.debug_file, "
    "s.debug_id, s.code_id, s.reason FROM missing_symbols AS s JOIN crashes AS c ON c.id = s.crash",
}


def dump_index(target: Path | str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: equal contents compare equal (across backends too)."""
    with ReportIndex(target, create=False) as index:
        tables = {
            table: sorted(
                (tuple(row) for row in index.query(query)),
                key=lambda row: tuple("" if v is None else str(v) for v in row),
            )
            for table, query in TABLES.items()
        }
        # No orphans: every module row belongs to an indexed crash.
        for table in ("crash_modules", "missing_symbols"):
            total = index.query(f"SELECT count(*) FROM {table}")[0][0]
            assert total == len(tables[table]), table
        return tables


def counts_of(target: Path | str) -> tuple[tuple, tuple]:
    """The day counts (by value, by signature and value, by pair of values, of missing
    modules) as kept, zero counts left out, and as recounted from the crashes and their
    missing_symbols rows."""
    with ReportIndex(target, create=False) as index:

        def kept_rows(sql: str) -> dict:
            return {tuple(row[:-1]): int(row[-1]) for row in index.query(sql) if row[-1]}

        kept = (
            kept_rows("SELECT field, value, date, crashes FROM day_counts"),
            kept_rows("SELECT signature, field, value, date, crashes FROM signature_day_counts"),
            kept_rows(
                "SELECT field, value, other, other_value, date, crashes FROM pair_day_counts"
            ),
            kept_rows(
                f"SELECT date, {', '.join(MISSING_COLUMNS)}, crashes FROM missing_symbol_day_counts"
            ),
        )
        columns = ", ".join(COUNTED_FIELDS)
        rows = index.query(f"SELECT date, signature, {columns} FROM crashes")
        missing_rows = index.query(
            f"SELECT date, {', '.join(MISSING_COLUMNS)} FROM missing_symbols"
        )
    day: Counter = Counter()
    per_signature: Counter = Counter()
    pairs: Counter = Counter()
    for date, signature, *values in rows:
        by_field = {f: v or "" for f, v in zip(COUNTED_FIELDS, values, strict=True)}
        for field, value in by_field.items():
            day[(field, value, date)] += 1
            if field in SIGNATURE_COUNTED_FIELDS:
                per_signature[(signature or "", field, value, date)] += 1
        for a, b in PAIRS:
            pairs[(a, by_field[a], b, by_field[b], date)] += 1
    missing = Counter((date, *(v or "" for v in key)) for date, *key in missing_rows)
    assert day, "no crashes: nothing compared"
    return kept, (dict(day), dict(per_signature), dict(pairs), dict(missing))


def assert_counts_match(target: Path | str) -> None:
    kept, expected = counts_of(target)
    for table, kept_counts, expected_counts in zip(
        ("day", "signature", "pair", "missing"), kept, expected, strict=True
    ):
        assert kept_counts == expected_counts, table


def rows_for(path: Path, table: str, crash_id: str) -> list[tuple]:
    return [row for row in dump_index(path)[table] if row[0] == crash_id]


def test_listener_indexes_every_processed_crash(report_storage):
    tables = dump_index(report_storage.index_path)
    crashes = {row[0]: row for row in tables["crashes"]}
    assert set(crashes) == set(report_storage.processed)
    for crash_id, processed in report_storage.processed.items():
        _, date, signature, product, version, *dimensions = crashes[crash_id]
        assert date == report_storage.variants[crash_id].day.isoformat()
        assert signature == processed["signature"]
        assert product == processed["product"]
        assert version == processed.get("version")
        # OS, CPU, process type, crash reason, channel: as processed ('' is unknown, NULL).
        assert dimensions == [processed.get(name) or None for name in DIMENSIONS]
    assert not set(report_storage.unprocessed) & set(crashes)
    assert_counts_match(report_storage.index_path)
    # The sample crashes do vary along these, so the columns are really filled.
    for column in ("os_name", "cpu_arch", "process_type", "reason"):
        position = 5 + DIMENSIONS.index(column)
        assert len({row[position] for row in crashes.values()} - {None}) >= 2, column


def test_stack_modules_are_the_crashing_threads(report_storage):
    for crash_id, processed in report_storage.processed.items():
        frames = (processed.get("json_dump") or {}).get("crashing_thread", {}).get("frames", [])
        expected = {f["module"] for f in frames if f.get("module")}
        indexed = {row[1] for row in rows_for(report_storage.index_path, "crash_modules", crash_id)}
        assert indexed == expected, report_storage.variants[crash_id]
    windows = report_storage.crash_ids(
        example="windows-x86-test-app", day=datetime.date(2026, 11, 1)
    )
    modules = {row[1] for row in rows_for(report_storage.index_path, "crash_modules", windows[0])}
    assert modules == {"test_app.exe", "kernel32.dll"}


def test_missing_symbols_rows_carry_the_recorded_reason(report_storage):
    index = report_storage.index_path
    (windows,) = report_storage.crash_ids(
        example="windows-x86-test-app", day=datetime.date(2026, 11, 1)
    )
    assert [row[2:] for row in rows_for(index, "missing_symbols", windows)] == [
        (
            "kernel32.dll",
            "5.1.2600.2945",
            "kernel32.pdb",
            "BCE8785C57B44245A669896B6A19B9542",
            "44ab9a84f4000",
            "not-found",
        )
    ]
    (corrupt,) = report_storage.crash_ids(symbols="corrupt")
    assert [row[-1] for row in rows_for(index, "missing_symbols", corrupt)] == ["corrupt-symbols"]
    (plain,) = report_storage.crash_ids(symbols="plain")
    reasons = {row[2]: row[-1] for row in rows_for(index, "missing_symbols", plain)}
    assert reasons["test_app.exe"] == "code-info-lookup-failed"
    # Processed without a symbols source: the stackwalker's missing modules, never looked up.
    (unsymbolicated,) = report_storage.crash_ids(symbols=None)
    processed = report_storage.processed[unsymbolicated]
    expected = {
        m["filename"] for m in processed["json_dump"]["modules"] if m.get("missing_symbols")
    }
    rows = rows_for(index, "missing_symbols", unsymbolicated)
    assert {row[2] for row in rows} == expected and len(expected) == 3
    assert {row[-1] for row in rows} == {NOT_LOOKED_UP}
    # A crash without a minidump has no modules at all.
    (empty,) = report_storage.crash_ids(example="no-minidump")
    assert rows_for(index, "missing_symbols", empty) == []
    assert rows_for(index, "crash_modules", empty) == []


def test_reindex_equals_the_incremental_index(report_storage, new_index):
    storage = report_storage.storage()
    rebuilt = new_index("rebuilt")
    with ReportIndex(rebuilt) as index:
        result = reindex(storage, index)
    assert result.indexed == len(report_storage.processed)
    assert result.not_processed == len(report_storage.unprocessed) == 1
    assert (result.unreadable, result.dropped) == (0, 0)
    assert dump_index(rebuilt) == dump_index(report_storage.index_path)


def test_both_backends_hold_the_same_rows(sqlite_report_storage, postgresql_report_storage):
    assert dump_index(postgresql_report_storage.index_path) == dump_index(
        sqlite_report_storage.index_path
    )


def test_listener_is_idempotent_and_replaces_a_crash(report_storage, tmp_path):
    private = report_storage.copy_to(tmp_path)
    before = dump_index(private.index_path)
    storage = private.storage()
    attach_report_index(storage, private.index_path)
    crash_id = report_storage.crash_ids(example="linux-amd64", symbols="code-id")[0]
    processed = report_storage.processed[crash_id]
    storage.save_processed_crash(crash_id, processed)
    storage.save_processed_crash(crash_id, processed)  # a retried crash
    assert dump_index(private.index_path) == before
    assert_counts_match(private.index_path)

    # Reprocessed with other results: its rows are replaced, not added to.
    changed = copy.deepcopy(processed)
    changed["signature"] = "reprocessed"
    changed["json_dump"]["crashing_thread"]["frames"] = changed["json_dump"]["crashing_thread"][
        "frames"
    ][:1]
    kept = changed["symbolication"]["missing_modules"][:1]
    changed["symbolication"]["missing_modules"] = kept
    json_dump = changed["json_dump"]
    json_dump["modules"] = [m for m in json_dump["modules"] if m["filename"] == kept[0]["filename"]]
    storage.save_processed_crash(crash_id, changed)
    after = dump_index(private.index_path)
    assert [r[2] for r in after["crashes"] if r[0] == crash_id] == ["reprocessed"]
    assert [r[1] for r in after["crash_modules"] if r[0] == crash_id] == ["crash"]
    assert len([r for r in after["missing_symbols"] if r[0] == crash_id]) == 1
    others = {t: [r for r in rows if r[0] != crash_id] for t, rows in after.items()}
    assert others == {t: [r for r in rows if r[0] != crash_id] for t, rows in before.items()}
    # The counts moved the crash from its old signature to the new one.
    assert_counts_match(private.index_path)
    kept, _ = counts_of(private.index_path)
    date = next(r[1] for r in after["crashes"] if r[0] == crash_id)
    assert kept[0][("signature", "reprocessed", date)] == 1
    assert kept[1][("reprocessed", "product", processed["product"], date)] == 1
    # Twice in one batch: the last entry counts, once.
    with ReportIndex(private.index_path) as index:
        index.add([index_entry(crash_id, processed), index_entry(crash_id, changed)])
    assert_counts_match(private.index_path)


def test_reindex_drops_crashes_gone_from_storage_but_keeps_concurrent_ones(
    report_storage, tmp_path
):
    private = report_storage.copy_to(tmp_path)
    storage = private.storage()
    index = ReportIndex(private.index_path)
    gone = create_crash_id(datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC))
    index.on_processed(gone, {"signature": "deleted since", "product": "Firefox"})
    newcomer = create_crash_id(datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC))

    def progress(done: int, total: int) -> None:
        # A daemon worker indexes a crash while the rebuild runs (not in the storage listing).
        if done == 1:
            with ReportIndex(private.index_path) as worker:
                worker.on_processed(newcomer, {"signature": "meanwhile"})

    result = reindex(storage, index, progress=progress)
    assert result.dropped == 1
    crash_ids = {row[0] for row in dump_index(private.index_path)["crashes"]}
    assert gone not in crash_ids
    assert newcomer in crash_ids
    assert crash_ids == set(report_storage.processed) | {newcomer}
    assert_counts_match(private.index_path)  # the dropped crash is out of the counts too
    index.close()


def test_reindex_counts_an_unreadable_processed_crash(report_storage, tmp_path, caplog):
    private = report_storage.copy_to(tmp_path)
    storage = private.storage()
    victim = report_storage.crash_ids(example="windows-x86-test-app")[0]
    storage.store.put(processed_key(victim), b'{"url": "https://example.com/private", trunc')
    with pytest.raises(CorruptCrashData):
        storage.load_processed_crash(victim)
    with ReportIndex(private.index_path) as index:
        result = reindex(storage, index)
    assert (result.unreadable, result.indexed) == (1, len(report_storage.processed) - 1)
    assert victim in caplog.text
    assert "example.com" not in caplog.text
    assert victim not in {row[0] for row in dump_index(private.index_path)["crashes"]}


def test_a_failing_index_fails_the_save_so_the_crash_is_retried(report_storage, tmp_path):
    storage = open_storage(str(tmp_path / "crashes"))
    not_a_database = tmp_path / "index.sqlite"
    not_a_database.write_bytes(b"this is not sqlite, it is text long enough to be a header" * 4)
    attach_report_index(storage, not_a_database)
    crash_id, processed = next(iter(report_storage.processed.items()))
    with pytest.raises(ListenerError):
        storage.save_processed_crash(crash_id, processed)
    assert storage.has_processed_crash(crash_id)  # saved; only the index entry is owed


def test_postgresql_refusals_say_what_to_do(postgres_server):
    empty = postgres_server.create_database("empty")
    with pytest.raises(ReportIndexError, match=r"no report index in .*report reindex"):
        ReportIndex(empty, create=False).crash_count()
    foreign = postgres_server.create_database("foreign")
    with psycopg.connect(foreign, autocommit=True) as conn:
        conn.execute("CREATE TABLE crashes (x int)")
    with pytest.raises(ReportIndexError, match="not a report index"):
        ReportIndex(foreign).crash_count()
    down = f"postgresql://crashproc:secret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(IndexUnavailable) as raised:
        ReportIndex(down).crash_count()
    assert "secret" not in str(raised.value) and "crashproc:***@" in str(raised.value)


def test_index_refusals_say_what_to_do(tmp_path):
    with pytest.raises(ReportIndexError, match="report reindex"):
        ReportIndex(tmp_path / "missing.sqlite", create=False).crash_count()
    assert not (tmp_path / "missing.sqlite").exists()

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00garbage" * 200)
    with pytest.raises(ReportIndexError, match="not a usable report index"):
        ReportIndex(garbage).crash_count()

    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ReportIndexError, match="not a report index"):
        ReportIndex(foreign).crash_count()


def test_other_schema_version_is_refused_and_reindex_recreates(report_storage, tmp_path):
    private = report_storage.copy_to(tmp_path)
    with ReportIndex(private.index_path) as index:
        database = index.database
        with database.transaction() as tx:
            database.write_version(tx, SCHEMA_VERSION + 1)
            tx.execute("DROP TABLE crash_modules")
    with pytest.raises(SchemaVersionError, match=f"version {SCHEMA_VERSION + 1}.*reindex"):
        ReportIndex(private.index_path).crash_count()
    with ReportIndex(private.index_path) as index:
        result = reindex(private.storage(), index)
    assert result.indexed == len(report_storage.processed)
    assert dump_index(private.index_path) == dump_index(report_storage.index_path)


def test_sqlite_index_is_in_wal_mode(sqlite_report_storage):
    with ReportIndex(sqlite_report_storage.index_path, create=False) as index:
        assert index.query("PRAGMA journal_mode")[0][0] == "wal"


def _write_crashes(path: str, worker: int, count: int) -> None:
    index = ReportIndex(path)
    for n in range(count):
        when = datetime.datetime(2026, 11, 1 + n % 28, tzinfo=datetime.UTC)
        index.on_processed(
            create_crash_id(when), {"signature": f"worker {worker} sig {n % 3}", "product": "P"}
        )
    index.close()


def test_worker_processes_write_concurrently(report_storage, new_index):
    """Daemon workers are processes: each writes through its own connection (its own pool),
    none fails."""
    path = new_index("concurrent")
    parent = ReportIndex(path)
    parent.crash_count()  # opened before the fork: the children must not reuse it
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_crashes, args=(str(path), w, 150)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert parent.crash_count() == 450
    parent.close()
    # Every worker added to the same product counts, none lost an update.
    kept, _ = counts_of(path)
    assert sum(n for (field, value, _), n in kept[0].items() if field == "product") == 450
    assert_counts_match(path)


def test_entry_date_falls_back_to_the_crash_id():
    crash_id = create_crash_id(datetime.datetime(2026, 3, 4, 23, 0, tzinfo=datetime.UTC))
    assert index_entry(crash_id, {}).date == date_from_crash_id(crash_id)
    assert index_entry(crash_id, {"date_processed": "yesterday"}).date == datetime.date(2026, 3, 4)
    # date_processed counts in UTC, whatever offset it was written with.
    late = {"date_processed": "2026-03-04T23:30:00-02:00"}
    assert index_entry(crash_id, late).date == datetime.date(2026, 3, 5)


def test_entry_of_an_odd_processed_crash():
    """Old or partial processed crashes come from storage: odd shapes cost data, not a crash."""
    crash_id = create_crash_id()
    odd = {
        "signature": 42,
        "product": ["x"],
        "json_dump": {
            "crashing_thread": "none",
            "threads": [{"frames": [{"module": "a.dll"}, "junk", {"module": None}]}],
            "modules": [
                {"filename": "a.dll", "missing_symbols": True},
                "junk",
                # Found but unparseable: the stackwalker loaded it anyway and flagged it.
                {"filename": "c.dll", "loaded_symbols": True, "corrupt_symbols": True},
            ],
        },
        "crashing_thread": 0,
        "symbolication": {"missing_modules": "nope"},
        "additional_minidumps": ["upload_file_minidump_browser", 7],
        "upload_file_minidump_browser": {
            "json_dump": {"modules": [{"filename": "b.dll", "missing_symbols": True}]},
            "symbolication": {
                "missing_modules": [{"filename": "b.dll", "reason": "transient"}, None]
            },
        },
    }
    entry = index_entry(crash_id, odd)
    assert (entry.signature, entry.product, entry.version) == (None, None, None)
    assert entry.stack_modules == ["a.dll"]
    assert [(m.filename, m.reason) for m in entry.missing] == [
        ("a.dll", NOT_LOOKED_UP),
        ("c.dll", "corrupt-symbols"),
        ("b.dll", "transient"),
    ]
