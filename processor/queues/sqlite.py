"""SQLite crash queue: one file, safe for many worker processes on one machine.

WAL lets readers run beside the single writer; every change is a ``BEGIN IMMEDIATE``
transaction (the write lock is taken up front, so two claimers cannot both read the same free
row and then race to update it); a busy timeout makes contenders wait instead of failing;
``synchronous=FULL`` makes a committed publish survive a power cut.

What a consumer writes (a claim, a renewal, an ack, a give-back, a failure) is committed with
``synchronous=NORMAL`` instead: in WAL mode that survives the process being killed, and a power
cut can only roll the queue back to an earlier committed state, never corrupt it. Losing such a
change costs a redelivery and nothing else: a lost claim or renewal makes the job claimable as
before, a lost failure leaves the job leased until the lease runs out (then it is retried), and
a lost ack redelivers a crash whose processed result was saved durably before the ack, which
the job's already-done check then acks without processing it again (processor/service/job.py).
Each of those commits was an fsync of the queue's log, two or more per crash.

One table holds every unfinished job. ``available_at`` is the single clock of a job: when a
new or failed job may next be claimed, or when the lease of a claimed one runs out. A job is
claimable when ``available_at`` has passed, whoever held it before. Times are epoch seconds
from the queue's clock (``time.time`` unless one is given): several processes share the file,
so a per-process monotonic clock would not do.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from processor.queues.base import (
    LEASE_EXPIRED_ERROR,
    QUEUE_NAMES,
    CrashQueue,
    DeadLetter,
    Delivery,
    QueueError,
    check_queue_name,
    check_ruleset_name,
    checked_crash_ids,
    clip_error,
    retry_delay,
)

BUSY_TIMEOUT_SECONDS = 30.0
# How many ready jobs one claim looks at; expired jobs with no attempts left are
# dead-lettered on the way, so this bounds the work of one transaction.
CLAIM_SCAN = 32

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL,
    crash_id TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    available_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_token TEXT,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_priority ON jobs (priority, id);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    queue TEXT NOT NULL,
    crash_id TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    dead_at REAL NOT NULL
);
"""

JOB_COLUMNS = "id, queue, crash_id, ruleset, enqueued_at, attempts, lease_owner, last_error"


class SQLiteCrashQueue(CrashQueue):
    """The queues in one SQLite database file; each thread gets its own connection."""

    def __init__(self, path: str | Path, **options: Any):
        super().__init__(**options)
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise QueueError(f"cannot open queue database {self.path}: {exc}") from None

    def describe(self) -> str:
        return f"sqlite {self.path}"

    def _now(self) -> float:
        return self.clock() if self.clock is not None else time.time()

    def _connection(self) -> sqlite3.Connection:
        # Connections are per thread (the heartbeat renews leases from its own thread) and
        # per process (a connection must never cross a fork).
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        self._local.durable = True
        self._local.connection = connection
        self._local.pid = os.getpid()
        return connection

    @contextlib.contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable``: committed to survive a power cut (FULL), not
        only a killed process (NORMAL; see the module's docstring for which writes may)."""
        connection = self._connection()
        try:
            if self._local.durable != durable:
                connection.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._local.durable = durable
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise QueueError(f"queue database {self.path} is unavailable: {exc}") from None
        try:
            yield connection
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise QueueError(f"queue database {self.path}: {exc}") from None
            raise
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise QueueError(f"queue database {self.path}: commit failed: {exc}") from None

    # -- producing --------------------------------------------------------------------------

    def publish(self, queue: str, crash_ids: Iterable[str], ruleset: str = "default") -> int:
        priority = QUEUE_NAMES.index(check_queue_name(queue))
        check_ruleset_name(ruleset)
        ids = checked_crash_ids(crash_ids)
        now = self._now()
        with self._write() as db:
            db.executemany(
                "INSERT INTO jobs (queue, priority, crash_id, ruleset, enqueued_at, available_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(queue, priority, crash_id, ruleset, now, now) for crash_id in ids],
            )
        return len(ids)

    # -- consuming --------------------------------------------------------------------------

    def claim(self, consumer: str) -> Delivery | None:
        now = self._now()
        with self._write(durable=False) as db:
            rows = db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE available_at <= ?"
                " ORDER BY priority, id LIMIT ?",
                (now, CLAIM_SCAN),
            ).fetchall()
            for job_id, queue, crash_id, ruleset, enqueued_at, attempts, owner, error in rows:
                if owner is not None:
                    # Still leased but the lease ran out: that attempt died without a word.
                    error = LEASE_EXPIRED_ERROR
                if attempts >= self.max_attempts:
                    self._bury(db, job_id, error or LEASE_EXPIRED_ERROR, now)
                    continue
                token = uuid.uuid4().hex
                db.execute(
                    "UPDATE jobs SET attempts = attempts + 1, lease_owner = ?, lease_token = ?,"
                    " available_at = ?, last_error = ? WHERE id = ?",
                    (consumer, token, now + self.lease_seconds, error, job_id),
                )
                return Delivery(
                    job_id=str(job_id),
                    queue=queue,
                    crash_id=crash_id,
                    ruleset=ruleset,
                    attempts=attempts + 1,
                    enqueued_at=enqueued_at,
                    token=token,
                    last_error=error,
                )
        return None

    def renew(self, delivery: Delivery) -> bool:
        with self._write(durable=False) as db:
            cursor = db.execute(
                "UPDATE jobs SET available_at = ? WHERE id = ? AND lease_token = ?",
                (self._now() + self.lease_seconds, int(delivery.job_id), delivery.token),
            )
            return cursor.rowcount == 1

    def ack(self, delivery: Delivery) -> bool:
        with self._write(durable=False) as db:
            cursor = db.execute(
                "DELETE FROM jobs WHERE id = ? AND lease_token = ?",
                (int(delivery.job_id), delivery.token),
            )
            return cursor.rowcount == 1

    def give_back(self, delivery: Delivery) -> bool:
        with self._write(durable=False) as db:
            cursor = db.execute(
                "UPDATE jobs SET attempts = MAX(attempts - 1, 0), lease_owner = NULL,"
                " lease_token = NULL, available_at = ? WHERE id = ? AND lease_token = ?",
                (self._now(), int(delivery.job_id), delivery.token),
            )
            return cursor.rowcount == 1

    def fail(self, delivery: Delivery, error: str, permanent: bool = False) -> bool:
        with self._write(durable=False) as db:
            row = db.execute(
                "SELECT attempts FROM jobs WHERE id = ? AND lease_token = ?",
                (int(delivery.job_id), delivery.token),
            ).fetchone()
            if row is None:
                return False  # the lease was lost; whoever holds it now decides
            return self._fail_locked(db, int(delivery.job_id), row[0], error, permanent)

    def _fail_locked(
        self, db: sqlite3.Connection, job_id: int, attempts: int, error: str, permanent: bool
    ) -> bool:
        now = self._now()
        error = clip_error(error)
        if permanent or attempts >= self.max_attempts:
            self._bury(db, job_id, error, now)
            return True
        db.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_token = NULL, last_error = ?,"
            " available_at = ? WHERE id = ?",
            (error, now + retry_delay(self.retry_delay, attempts), job_id),
        )
        return False

    def release_consumer(self, consumer: str, error: str) -> int:
        with self._write(durable=False) as db:
            rows = db.execute(
                "SELECT id, attempts FROM jobs WHERE lease_owner = ?", (consumer,)
            ).fetchall()
            for job_id, attempts in rows:
                self._fail_locked(db, job_id, attempts, error, permanent=False)
            return len(rows)

    @staticmethod
    def _bury(db: sqlite3.Connection, job_id: int, error: str, now: float) -> None:
        db.execute(
            "INSERT INTO dead_letters"
            " (job_id, queue, crash_id, ruleset, enqueued_at, attempts, error, dead_at)"
            " SELECT id, queue, crash_id, ruleset, enqueued_at, attempts, ?, ? FROM jobs"
            " WHERE id = ?",
            (clip_error(error), now, job_id),
        )
        db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    # -- inspecting -------------------------------------------------------------------------

    def _read(self, sql: str) -> list[tuple]:
        try:
            return self._connection().execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise QueueError(f"queue database {self.path}: {exc}") from None

    def depths(self) -> dict[str, int]:
        counts = dict.fromkeys(QUEUE_NAMES, 0)
        for queue, count in self._read("SELECT queue, COUNT(*) FROM jobs GROUP BY queue"):
            counts[queue] = count
        return counts

    def dead_letter_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM dead_letters")[0][0]

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._read(
            "SELECT job_id, queue, crash_id, ruleset, attempts, error, enqueued_at, dead_at"
            " FROM dead_letters ORDER BY id"
        )
        return [
            DeadLetter(
                job_id=str(job_id),
                queue=queue,
                crash_id=crash_id,
                ruleset=ruleset,
                attempts=attempts,
                error=error,
                enqueued_at=enqueued_at,
                dead_at=dead_at,
            )
            for job_id, queue, crash_id, ruleset, attempts, error, enqueued_at, dead_at in rows
        ]

    def crash_ids(self) -> set[str]:
        rows = self._read("SELECT crash_id FROM jobs UNION SELECT crash_id FROM dead_letters")
        return {crash_id for (crash_id,) in rows}

    def requeue_dead_letters(self, job_ids: Iterable[str] | None = None) -> int:
        wanted = None if job_ids is None else {int(j) for j in job_ids if str(j).isdigit()}
        now = self._now()
        with self._write() as db:
            rows = db.execute(
                "SELECT id, job_id, queue, crash_id, ruleset FROM dead_letters ORDER BY id"
            ).fetchall()
            count = 0
            for row_id, job_id, queue, crash_id, ruleset in rows:
                if wanted is not None and job_id not in wanted:
                    continue
                db.execute(
                    "INSERT INTO jobs"
                    " (queue, priority, crash_id, ruleset, enqueued_at, available_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (queue, QUEUE_NAMES.index(queue), crash_id, ruleset, now, now),
                )
                db.execute("DELETE FROM dead_letters WHERE id = ?", (row_id,))
                count += 1
            return count

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            connection.close()
            self._local.connection = None
