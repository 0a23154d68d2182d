"""A worker in this process, on a real SQLite queue and filesystem storage."""

from __future__ import annotations

import logging
import re
import sqlite3
import time

import pytest

from processor.config import Settings
from processor.queues import PRIORITY, REPROCESSING, STANDARD, open_queue
from processor.runner import CrashProcessor
from processor.service.wiring import open_settings_queue
from processor.service.worker import USAGE_PATTERN, Heartbeat, Worker, WorkerConfig
from processor.storage import open_storage
from tests.processor.daemon.conftest import wait_for
from tests.processor.queues.conftest import ManualClock

CRASH_IDS = [f"{i:08x}-0000-4000-8000-000000260918" for i in range(4)]


@pytest.fixture(scope="module")
def processor():
    settings = Settings()
    settings.stackwalker = "none"
    crash_processor = CrashProcessor(settings)
    yield crash_processor
    crash_processor.close()


def make_worker(tmp_path, processor, **settings_values) -> Worker:
    settings = Settings()
    settings.stackwalker = "none"
    settings.storage = str(tmp_path / "crashes")
    settings.queue = f"sqlite:{tmp_path / 'queue.sqlite'}"
    settings.queue_retry_delay = 0
    for name, value in settings_values.items():
        setattr(settings, name, value)
    worker = Worker(WorkerConfig(settings=settings, consumer="worker-under-test", once=True))
    worker.storage = open_storage(settings.storage)
    worker.queue = open_settings_queue(settings)
    worker.processor = processor  # built once for the module: building one takes a second
    for index, crash_id in enumerate(CRASH_IDS):
        worker.storage.save_raw_crash(crash_id, {"uuid": crash_id, "Version": f"{index}"}, {})
    return worker


def test_once_mode_works_by_priority_until_the_queues_are_empty(tmp_path, processor):
    worker = make_worker(tmp_path, processor)
    order = []
    worker.storage.processed_listeners.append(lambda crash_id, _: order.append(crash_id))
    worker.queue.publish(REPROCESSING, CRASH_IDS[:1])
    worker.queue.publish(STANDARD, CRASH_IDS[1:3])
    worker.queue.publish(PRIORITY, CRASH_IDS[3:])
    worker.run()
    assert order == [CRASH_IDS[3], CRASH_IDS[1], CRASH_IDS[2], CRASH_IDS[0]]
    assert worker.queue.pending() == 0
    assert sorted(worker.storage.list_crash_ids()) == sorted(CRASH_IDS)
    assert all(worker.storage.has_processed_crash(c) for c in CRASH_IDS)


def test_the_heartbeat_keeps_a_slow_crash_leased(tmp_path, processor):
    # The queue's clock moves only when the slow save moves it, half a lease at a time, and
    # only after the heartbeat has renewed the lease at the current time: whether the lease
    # holds depends on the heartbeat, not on how fast this machine runs the threads. Each
    # renewal must also come within a lease of real time (it comes every lease / 3: two
    # seconds of margin), or a heartbeat slower than the lease would pass.
    lease = 3.0
    worker = make_worker(tmp_path, processor, queue_lease=lease)
    clock = ManualClock()
    worker.queue = open_queue(worker.settings.queue, lease_seconds=lease, clock=clock)
    other = open_queue(worker.settings.queue, lease_seconds=lease, clock=clock)
    stolen, waits = [], []

    def lease_end():
        rows = sqlite3.connect(worker.queue.path).execute("SELECT available_at FROM jobs")
        return rows.fetchone()[0]

    def slow_listener(crash_id, processed):
        for _ in range(4):  # two leases long; nobody else may get the crash meanwhile
            clock.advance(lease / 2)
            started = time.monotonic()
            wait_for(lambda: lease_end() >= clock() + lease, timeout=30, what="a renewal")
            waits.append(time.monotonic() - started)
            if (delivery := other.claim("intruder")) is not None:
                stolen.append(delivery)

    worker.storage.processed_listeners.append(slow_listener)
    worker.queue.publish(STANDARD, CRASH_IDS[:1])
    worker.run()
    assert stolen == []
    assert len(waits) == 4 and max(waits) < lease, waits
    assert worker.queue.pending() == 0, "acked: the lease was never lost"


def test_a_failing_save_is_retried_then_dead_lettered(tmp_path, processor, caplog):
    worker = make_worker(tmp_path, processor, queue_max_attempts=2)

    def broken_index(crash_id, processed):
        raise ConnectionError("index at https://user:secret@example.com is down")

    worker.storage.processed_listeners.append(broken_index)
    worker.queue.publish(STANDARD, CRASH_IDS[:2])
    with caplog.at_level(logging.INFO, logger="crashproc.worker"):
        worker.run()
    dead = worker.queue.dead_letters()
    assert [(d.crash_id, d.attempts, d.error) for d in dead] == [
        (CRASH_IDS[0], 2, "processing: ListenerError"),
        (CRASH_IDS[1], 2, "processing: ListenerError"),
    ]
    assert "secret" not in caplog.text
    assert "processing: ListenerError" in caplog.text


def test_a_crash_missing_from_storage_is_dead_lettered_at_once(tmp_path, processor):
    worker = make_worker(tmp_path, processor, queue_max_attempts=5)
    missing = "0bba61c5-dfc3-43e7-87e6-8afda3260919"
    worker.queue.publish(STANDARD, [missing, CRASH_IDS[0]])
    worker.run()
    (dead,) = worker.queue.dead_letters()
    assert (dead.crash_id, dead.attempts, dead.error) == (
        missing,
        1,
        "raw crash not found in storage",
    )
    assert worker.storage.has_processed_crash(CRASH_IDS[0])


def test_a_busy_queue_makes_the_worker_wait_not_die(tmp_path, processor, monkeypatch, caplog):
    import processor.queues.sqlite as sqlite_queue

    monkeypatch.setattr(sqlite_queue, "BUSY_TIMEOUT_SECONDS", 0.1)
    monkeypatch.setattr("processor.service.worker.QUEUE_RETRY_WAIT", 0.1)
    worker = make_worker(tmp_path, processor)
    worker.queue.publish(STANDARD, CRASH_IDS[:1])
    blocker = sqlite3.connect(worker.queue.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")

    class ReleaseOnceRefused(logging.Handler):
        """Lets the lock go once the worker has hit it and said so (not after a guessed
        time, which a slow start could outlast)."""

        def emit(self, record):
            if "queue unavailable" in record.getMessage() and blocker.in_transaction:
                blocker.execute("COMMIT")

    handler = ReleaseOnceRefused()
    logger = logging.getLogger("crashproc.worker")
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.ERROR, logger="crashproc.worker"):
            worker.run()
    finally:
        logger.removeHandler(handler)
        blocker.close()
    assert "queue unavailable" in caplog.text
    assert worker.storage.has_processed_crash(CRASH_IDS[0])
    assert worker.queue.pending() == 0


def test_a_stopping_worker_logs_its_cpu_time_against_the_rulesets(tmp_path, processor, caplog):
    worker = make_worker(tmp_path, processor)
    before = processor.pipeline.spent.crashes
    worker.queue.publish(STANDARD, CRASH_IDS[:2])
    worker.run()
    assert processor.pipeline.spent.crashes == before + 2
    with caplog.at_level(logging.INFO, logger="crashproc.worker.usage"):
        worker.log_usage()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "crashproc.worker.usage"]
    assert re.fullmatch(
        rf"worker worker-under-test: {before + 2} crash\(es\); CPU [\d.]+ s, rulesets [\d.]+ s"
        r" \([\d.]+%\); rulesets wall [\d.]+ s; start-up CPU [\d.]+ s",
        line,
    ), line
    # What the benchmarks read back from it.
    crashes, cpu, rulesets, _, startup = map(float, re.search(USAGE_PATTERN, line).groups())
    assert crashes == before + 2 and cpu >= rulesets > 0 and startup == worker.startup_cpu


def test_one_heartbeat_thread_renews_each_crash_in_hand_and_never_after_it(tmp_path):
    queue = open_queue(f"sqlite:{tmp_path / 'queue.sqlite'}", lease_seconds=60)
    queue.publish(STANDARD, CRASH_IDS[:2])
    renewals = []  # (crash id, renewed inside the holding block, lease still held)
    inside = False
    real_renew = queue.renew

    def renew(delivery):
        held = inside
        renewals.append((delivery.crash_id, held, real_renew(delivery)))
        return renewals[-1][2]

    queue.renew = renew
    heartbeat = Heartbeat(queue, interval=0.01)
    threads = []
    for _ in range(2):
        delivery = queue.claim("worker-under-test")
        inside = True  # before the block: its renewals may start at once
        with heartbeat.holding(delivery):
            wait_for(lambda d=delivery: any(r[0] == d.crash_id for r in renewals), what="renewal")
            threads.append(heartbeat._thread)
        inside = False
        assert queue.ack(delivery)
    heartbeat.close()
    assert {r[0] for r in renewals} == set(CRASH_IDS[:2])
    assert all(held and leased for _, held, leased in renewals), renewals
    assert threads[0] is threads[1] and not threads[0].is_alive()
