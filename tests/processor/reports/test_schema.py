"""Schema versions: an older index is migrated in place (rows kept, no reindex), on both
backends; retention (`report prune`) drops old days from every table."""

from __future__ import annotations

import datetime
import io

import pytest

from processor.cli import run
from processor.crashid import create_crash_id
from processor.reports import schema
from processor.reports.database import open_database
from processor.reports.extract import MissingModule, index_entry
from processor.reports.index import ReportIndex, SchemaVersionError
from processor.reports.schema import MIGRATIONS, SCHEMA_VERSION, Migration
from tests.processor.reports.test_index import assert_counts_match


def version_1_index(target) -> list[str]:
    """An index as the first crashproc with a report index wrote it, with three crashes."""
    database = open_database(target, create=True)
    crash_ids = []
    with database.transaction() as tx:
        for statement in MIGRATIONS[0].statements[database.dialect]:
            tx.execute(statement)
        database.write_version(tx, 1)
        for n in range(3):
            crash_id = create_crash_id(datetime.datetime(2026, 11, 1 + n, tzinfo=datetime.UTC))
            tx.execute(
                "INSERT INTO crashes (crash_id, date, signature, product, version, generation) "
                "VALUES (?, ?, ?, 'Firefox', NULL, 1)",
                (crash_id, f"2026-11-0{1 + n}", f"sig {n % 2}"),
            )
            crash_ids.append(crash_id)
            # A module without symbols (twice in the last crash): counted by migration 5.
            for _ in range(1 + n // 2):
                tx.execute(
                    "INSERT INTO missing_symbols (crash, date, filename, version, debug_file, "
                    "debug_id, code_id, reason) SELECT id, date, 'xul.dll', NULL, 'xul.pdb', "
                    "'ABC1', NULL, 'not-found' FROM crashes WHERE crash_id = ?",
                    (crash_id,),
                )
    database.close()
    return crash_ids


def index_names(index: ReportIndex) -> set[str]:
    if index.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {row[0] for row in index.query(sql)}


def test_an_older_index_is_migrated_in_place(report_storage, new_index):
    target = new_index("v1")
    crash_ids = version_1_index(target)
    # Filling the day counts reads every crash: not at start-up, `report migrate` does it.
    with pytest.raises(SchemaVersionError, match=r"crash counts.*crashproc report migrate"):
        ReportIndex(target).crash_count()
    out = io.StringIO()
    assert run(["report", "migrate", "--index", str(target)], out=out) == 0
    assert_counts_match(target)
    with ReportIndex(target) as index:
        assert index.crash_count() == 3
        assert index.schema_version() == SCHEMA_VERSION
        assert "crashes_product_date" in index_names(index)
        assert {row[0] for row in index.query("SELECT crash_id FROM crashes")} == set(crash_ids)
        # Crashes indexed before the dimensions existed have none (until a reindex).
        rows = index.query("SELECT os_name, cpu_arch, process_type, reason FROM crashes")
        assert [tuple(row) for row in rows] == [(None,) * 4] * 3
        # The migrated index takes writes as a new one does, the new columns with them.
        crash_id = create_crash_id()
        index.on_processed(
            crash_id,
            {"signature": "after the migration", "os_name": "Linux", "process_type": "gpu"},
        )
        assert index.crash_count() == 4
        row = index.query(
            "SELECT os_name, process_type, cpu_arch FROM crashes WHERE crash_id = ?", (crash_id,)
        )[0]
        assert tuple(row) == ("Linux", "gpu", None)
    assert_counts_match(target)


def test_the_online_steps_apply_at_start_up(report_storage, new_index, monkeypatch):
    """Without the counts (an index at version 2 opened by a crashproc with migration 3 only):
    the new columns are added when the index is opened."""
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:3])
    monkeypatch.setattr("processor.reports.index.SCHEMA_VERSION", 3)
    target = new_index("v1online")
    version_1_index(target)
    with ReportIndex(target) as index:
        assert index.crash_count() == 3
        assert index.schema_version() == 3
        assert index.query("SELECT os_name FROM crashes")[0][0] is None


def test_migrate_command_and_an_index_that_waits_for_it(report_storage, new_index, monkeypatch):
    target = new_index("v1cmd")
    version_1_index(target)
    with pytest.raises(SchemaVersionError, match="crashproc report migrate"):
        ReportIndex(target, migrate=False).crash_count()
    assert run(["report", "migrate", "--index", str(target)], out=io.StringIO()) == 0
    # A migration that rewrites tables is not applied at start-up, only by the command.
    offline = Migration(
        SCHEMA_VERSION + 1,
        "a slow one",
        {"sqlite": ("SELECT 1",), "postgresql": ("SELECT 1",)},
        online=False,
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, offline))
    monkeypatch.setattr("processor.reports.index.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr("processor.cli.report.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match=r"a slow one.*crashproc report migrate"):
        ReportIndex(target).crash_count()
    out = io.StringIO()
    assert run(["report", "migrate", "--index", str(target)], out=out) == 0
    assert f"from schema version {SCHEMA_VERSION} to {SCHEMA_VERSION + 1}" in out.getvalue()
    with ReportIndex(target) as index:
        assert (index.crash_count(), index.schema_version()) == (3, SCHEMA_VERSION + 1)
    out = io.StringIO()
    assert run(["report", "migrate", "--index", str(target)], out=out) == 0
    assert f"at schema version {SCHEMA_VERSION + 1}" in out.getvalue()


def test_an_index_newer_than_this_crashproc_is_refused(report_storage, new_index):
    target = new_index("newer")
    with ReportIndex(target) as index:
        index.crash_count()
        with index.database.transaction() as tx:
            index.database.write_version(tx, SCHEMA_VERSION + 5)
    with pytest.raises(SchemaVersionError, match="newer than this crashproc"):
        ReportIndex(target).crash_count()


def _dated(day: datetime.date, n: int) -> tuple[str, dict]:
    crash_id = create_crash_id(datetime.datetime.combine(day, datetime.time(n), datetime.UTC))
    processed = {
        "signature": f"sig {n}",
        "date_processed": f"{day.isoformat()}T0{n}:00:00+00:00",
        "json_dump": {"crashing_thread": {"frames": [{"module": "xul.dll"}]}},
    }
    return crash_id, processed


def test_prune_drops_old_days_from_every_table(report_storage, new_index):
    today = datetime.datetime.now(datetime.UTC).date()
    days = [today - datetime.timedelta(days=d) for d in (0, 30, 89, 90, 91, 200)]
    target = new_index("prune")
    with ReportIndex(target) as index:
        for day in days:
            for n in range(3):
                crash_id, processed = _dated(day, n)
                entry = index_entry(crash_id, processed)
                entry.missing = [MissingModule("xul.dll", None, None, None, None, "not-found")]
                index.add([entry])
        assert index.crash_count() == 18
    out = io.StringIO()
    assert run(["report", "prune", "--older-than", "90d", "--index", str(target)], out=out) == 0
    cutoff = today - datetime.timedelta(days=90)
    assert f"dropped 6 crashes dated before {cutoff}" in out.getvalue()
    with ReportIndex(target) as index:
        kept = {row[0] for row in index.query("SELECT DISTINCT date FROM crashes")}
        assert kept == {d.isoformat() for d in days if d >= cutoff}
        for table in (
            "crash_modules",
            "missing_symbols",
            "day_counts",
            "signature_day_counts",
            "pair_day_counts",
            "missing_symbol_day_counts",
        ):
            dates = {row[0] for row in index.query(f"SELECT DISTINCT date FROM {table}")}
            assert dates == kept, table
        assert index.query("SELECT count(*) FROM crash_modules")[0][0] == 12
    with pytest.raises(SystemExit) as usage:
        run(["report", "prune", "--older-than", "soon", "--index", str(target)])
    assert usage.value.code == 2
