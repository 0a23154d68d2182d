"""The SQLite backend's own promises: its URLs, WAL with full sync, clear errors."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from processor.queues import QueueError, open_queue
from processor.queues.sqlite import SQLiteCrashQueue


@pytest.mark.parametrize(
    "url, path",
    [
        ("sqlite:./var/queue.sqlite", "var/queue.sqlite"),
        ("sqlite:queue.sqlite", "queue.sqlite"),
        ("sqlite:{tmp}/q/queue.sqlite", "q/queue.sqlite"),
        ("sqlite://{tmp}/q/queue.sqlite", "q/queue.sqlite"),
        ("sqlite://localhost{tmp}/my%20queue.sqlite", "my queue.sqlite"),
    ],
)
def test_sqlite_urls(url, path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    queue = open_queue(url.format(tmp=tmp_path))
    assert isinstance(queue, SQLiteCrashQueue)
    assert queue.path.resolve() == tmp_path / path
    assert (tmp_path / path).is_file()


@pytest.mark.parametrize(
    "url, problem",
    [
        ("sqlite:", "names no database file"),
        ("sqlite://otherhost/q.sqlite", "must be local"),
        ("amqp://guest:secret@host/", "unsupported queue URL 'amqp'"),
        ("./var/queue.sqlite", "unsupported queue URL './var/queue.sqlite'"),
    ],
)
def test_bad_queue_urls(url, problem):
    with pytest.raises(QueueError, match=problem) as info:
        open_queue(url)
    assert "secret" not in str(info.value)


def test_database_is_wal_with_full_sync_for_publishing_normal_for_consuming(tmp_path):
    queue = open_queue(f"sqlite:{tmp_path / 'q.sqlite'}")
    connection = queue._connection()
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    def synchronous():
        return {2: "FULL", 1: "NORMAL"}[connection.execute("PRAGMA synchronous").fetchone()[0]]

    assert synchronous() == "FULL"
    queue.publish("standard", ["de1bb258-cbbf-4589-a673-34f800260918"])
    assert synchronous() == "FULL"
    delivery = queue.claim("c1")
    assert synchronous() == "NORMAL"  # a lost claim or ack only redelivers the crash
    assert queue.ack(delivery)
    assert synchronous() == "NORMAL"
    queue.publish("standard", ["0ba17e8f-34c4-4a1b-a512-8e4d10260918"])
    assert synchronous() == "FULL"


def test_an_unusable_database_file_is_a_clear_error(tmp_path):
    path = tmp_path / "q.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(QueueError, match=f"cannot open queue database {path}"):
        open_queue(f"sqlite:{path}")


def test_a_writer_holding_the_lock_makes_claimers_wait_not_fail(tmp_path):
    path = tmp_path / "q.sqlite"
    queue = open_queue(f"sqlite:{path}")
    queue.publish("standard", ["de1bb258-cbbf-4589-a673-34f800260918"])
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    # The clock starts before the timer, so the claim cannot return sooner than the timer
    # fires: the lower bound holds however the threads are scheduled (no margin to lose).
    started = time.monotonic()
    release = threading.Timer(0.5, lambda: blocker.execute("COMMIT"))
    release.start()
    try:
        delivery = queue.claim("c")  # waits for the lock instead of raising "database is locked"
        waited = time.monotonic() - started
    finally:
        release.join()
        blocker.close()
    assert delivery is not None
    assert waited >= 0.5
