"""A PostgreSQL index through server restarts and outages: no crash is silently missing.

Each test runs its own server (tests/postgresserver.py), which it stops and starts, while a
storage with the index listener attached saves crashes, as a daemon worker does.
"""

from __future__ import annotations

import datetime
import io
import threading

import pytest

from processor.cli import run
from processor.crashid import create_crash_id
from processor.reports.index import IndexListener, ReportIndex, attach_report_index
from processor.reports.owed import OwedCrashes
from processor.storage import open_storage
from tests.postgresserver import PostgresServer, missing, postgres_bindir


@pytest.fixture
def server():
    bindir = postgres_bindir()
    if bindir is None:
        missing("no PostgreSQL server binaries (Debian's postgresql or the pgserver wheel)")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.close()


def crashes(count: int) -> list[tuple[str, dict]]:
    when = datetime.datetime(2026, 11, 20, 12, tzinfo=datetime.UTC)
    return [
        (create_crash_id(when), {"signature": f"sig {n % 7}", "product": "Firefox"})
        for n in range(count)
    ]


def test_a_restart_mid_run_loses_no_index_rows(server, tmp_path):
    url = server.create_database("restart")
    storage = open_storage(str(tmp_path / "crashes"))
    owed = OwedCrashes(tmp_path / "owed")
    index = attach_report_index(storage, url, owed=owed)
    batch = crashes(300)
    saved = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for n, (crash_id, processed) in enumerate(batch):
                storage.save_processed_crash(crash_id, processed)
                if n == 50:
                    saved.set()
        except BaseException as exc:
            errors.append(exc)
            saved.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert saved.wait(60)
    server.restart()  # fast shutdown: the listener's connections are cut mid-run
    thread.join(120)
    assert errors == []
    assert owed.crash_ids() == []  # every write made it once the server was back
    with ReportIndex(url, create=False) as reader:
        indexed = {row[0] for row in reader.query("SELECT crash_id FROM crashes")}
    assert indexed == {crash_id for crash_id, _ in batch}
    index.close()
    storage.close()


def test_an_outage_is_recorded_and_repaired_by_the_next_run(server, tmp_path):
    url = server.create_database("outage")
    storage = open_storage(str(tmp_path / "crashes"))
    owed = OwedCrashes(tmp_path / "owed")
    index = ReportIndex(url)
    storage.processed_listeners.append(IndexListener(index, owed, retry_s=1.0))
    before, during, after = crashes(5), crashes(4), crashes(3)
    for crash_id, processed in before:
        storage.save_processed_crash(crash_id, processed)
    server.stop()
    for crash_id, processed in during:
        storage.save_processed_crash(crash_id, processed)  # saved; the index rows are owed
    assert owed.crash_ids() == sorted(crash_id for crash_id, _ in during)
    assert all(storage.has_processed_crash(crash_id) for crash_id, _ in during)
    server.start()
    index.close()
    storage.close()

    # The next run (the daemon opening its storage) indexes what is owed first.
    storage = open_storage(str(tmp_path / "crashes"))
    index = attach_report_index(storage, url, owed=owed)
    assert owed.crash_ids() == []
    for crash_id, processed in after:
        storage.save_processed_crash(crash_id, processed)
    expected = {crash_id for crash_id, _ in before + during + after}
    assert {row[0] for row in index.query("SELECT crash_id FROM crashes")} == expected
    index.close()
    storage.close()


def test_repair_command(server, tmp_path):
    url = server.create_database("repair")
    storage = open_storage(str(tmp_path / "crashes"))
    owed = OwedCrashes(tmp_path / "owed")
    (crash_id, processed), *_ = crashes(1)
    storage.save_processed_crash(crash_id, processed)  # no listener: as if the index was away
    owed.record(crash_id)
    argv = ["report", "repair", "--storage", str(tmp_path / "crashes"), "--index", url]
    out = io.StringIO()
    assert run([*argv, "--owed", str(tmp_path / "owed")], out=out) == 0
    assert "indexed 1 owed crashes" in out.getvalue() and "(0 still owed)" in out.getvalue()
    with ReportIndex(url, create=False) as index:
        assert index.crash_count() == 1
    # The database away: the crash stays owed and the command says so.
    owed.record(crash_id)
    server.stop()
    out = io.StringIO()
    assert run([*argv, "--owed", str(tmp_path / "owed")], out=out) == 1
    assert owed.crash_ids() == [crash_id]
