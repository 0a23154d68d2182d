"""The processor daemon: a supervisor that keeps N worker processes processing crashes.

The supervisor does no crash work itself, so no crash can take it down. It restarts a worker
that dies and tells the queue the dead worker's crash failed (so a crash that kills its worker
is retried and, after the allowed attempts, dead-lettered); it kills a worker stuck on one
crash for longer than the job timeout; it logs a progress line with rates and queue depths at
a fixed interval. SIGTERM or SIGINT asks every worker to finish its current crash and stop; a
second signal stops them at once (their crashes come back when their leases run out).

At start, and then every ``daemon.housekeeping_interval`` seconds from a thread of its own, it
keeps house: it queues again the recent stored crashes that a queue lost
(processor/service/reconcile.py), so a queue that forgot its content costs time, not crashes;
it removes the scratch directories of dead workers (processor/scratch.py), which hold
protected crash data; and it has storage remove the temporary files of interrupted writes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from processor.config import ConfigError, Settings
from processor.observability.emit import record_queue_depth
from processor.queues import QUEUE_NAMES, CrashQueue, QueueError
from processor.scratch import ensure_root
from processor.scratch import sweep as sweep_scratch
from processor.service.reconcile import days_back, reconcile
from processor.service.wiring import open_settings_queue, open_settings_storage
from processor.service.worker import (
    EXIT_BAD_CONFIGURATION,
    STATE_FAILED,
    STATE_JOB_STARTED,
    STATE_PROCESSED,
    STATE_SIZE,
    STATE_SKIPPED,
    WorkerConfig,
    worker_main,
)
from processor.storage import StorageError

logger = logging.getLogger("crashproc.daemon")

POLL_SECONDS = 0.2
# A worker that dies while idle this soon after starting is restarted with a growing delay
# (it is failing to start, not failing on a crash).
QUICK_DEATH_SECONDS = 5.0
MAX_RESTART_DELAY = 30.0
# How long after a worker's stop grace the daemon waits before killing it (the worker needs a
# moment to give its crash back and close).
KILL_MARGIN_SECONDS = 5.0
COUNTERS = {
    "processed": STATE_PROCESSED,
    "already done": STATE_SKIPPED,
    "failed": STATE_FAILED,
}


def death_reason(exitcode: int | None) -> str:
    """The error recorded for the crash a dead worker was processing."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker died: killed by {name}"
    return f"worker died: exit status {exitcode}"


# run()'s status when a worker found the configuration unusable: the command line's usage
# status, so `crashproc daemon` exits 2 as for any configuration error.
EXIT_UNUSABLE_CONFIGURATION = 2


@dataclass
class WorkerSlot:
    index: int
    generation: int = 0
    process: Any = None
    consumer: str = ""
    state: Any = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float = 0.0
    kill_reason: str | None = None
    signalled: int = 0  # the stop signal already sent to this worker process
    done: bool = False


@dataclass
class Totals:
    """Counters of workers that have exited (live ones are read from their state)."""

    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0.0))

    def add(self, state: Any) -> None:
        for name, slot in COUNTERS.items():
            self.counts[name] += state[slot]


class Daemon:
    def __init__(self, settings: Settings, *, once: bool = False, log_level: int = logging.INFO):
        self.settings = settings
        self.once = once
        self.log_level = log_level
        self.context = multiprocessing.get_context("spawn")
        self.hostname = settings.hostname or socket.gethostname()
        self.slots = [WorkerSlot(index=i) for i in range(settings.workers)]
        self.totals = Totals()
        self.stopping = False
        self.hard_stop = False
        self._stop_asked = 0.0  # monotonic time of the first stop signal
        self.bad_configuration = False
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.queue: CrashQueue | None = None
        self._last_log = 0.0
        self._started = time.monotonic()
        self._last_counts: dict[str, float] = dict.fromkeys(COUNTERS, 0.0)

    # -- start-up ---------------------------------------------------------------------------

    def check_configuration(self) -> None:
        """Fail fast on unusable storage, queue or metrics settings.

        The pipeline itself (rules, schemas, stackwalker) is checked by the workers as they
        build it; one that finds it unusable exits with EXIT_BAD_CONFIGURATION and the daemon
        stops (building it here too would cost every start a second for nothing).
        """
        from processor.observability.setup import setup_observability

        self.settings.check_resources()
        ensure_root(self.settings.scratch_dir)  # an unusable scratch directory stops the start
        setup_observability(self.settings)  # this process emits the queue-depth gauges
        open_settings_storage(self.settings).close()
        self.queue = open_settings_queue(self.settings)

    def housekeeping(self) -> int:
        """Reconcile, sweep scratch and storage; how many crashes were queued again. Failures
        are logged (the next round tries again), never raised: they must not stop processing."""
        assert self.queue is not None
        started = time.monotonic()
        try:
            sweep_scratch(self.settings.scratch_dir)
        except (ConfigError, OSError) as exc:
            logger.error("scratch sweep failed: %s", exc)
        try:
            storage = open_settings_storage(self.settings, processed=False)
            try:
                storage.sweep_temporary()
                since = days_back(self.settings.reconcile_days)
                result = reconcile(storage, self.queue, since)
            finally:
                storage.close()
        except (QueueError, StorageError, OSError) as exc:
            logger.error("reconcile failed: %s", exc)
            return 0
        logger.info(
            "reconcile: %d stored crash(es) since %s in %.1f s: %d processed, %d queued, "
            "%d queued again",
            result.checked,
            since.isoformat(),
            time.monotonic() - started,
            result.processed,
            result.queued,
            len(result.requeued),
        )
        return len(result.requeued)

    def _keep_house(self) -> None:
        interval = self.settings.housekeeping_interval
        while not self._stopped.wait(interval):
            self.housekeeping()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.stopping:
            self.hard_stop = True
        else:
            self._stop_asked = time.monotonic()
        self.stopping = True
        self._wake.set()

    def _start(self, slot: WorkerSlot) -> None:
        slot.generation += 1
        slot.consumer = f"{self.hostname}:{os.getpid()}:w{slot.index}.{slot.generation}"
        slot.state = self.context.Array("d", STATE_SIZE)
        config = WorkerConfig(settings=self.settings, consumer=slot.consumer, once=self.once)
        slot.process = self.context.Process(
            target=worker_main,
            args=(config, slot.state, logging.getLogger().getEffectiveLevel()),
            name=f"worker-{slot.index}",
        )
        slot.process.start()
        slot.started = time.monotonic()
        slot.kill_reason = None
        slot.signalled = 0

    # -- supervision ------------------------------------------------------------------------

    def run(self) -> int:
        self.check_configuration()
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        dead_before = self._dead_count()
        logger.info(
            "daemon started: %d worker(s), storage %s, queue %s%s",
            len(self.slots),
            self.settings.storage,
            self.queue.describe() if self.queue else "?",
            " (until the queues are empty)" if self.once else "",
        )
        self.housekeeping()
        if self.settings.housekeeping_interval > 0 and not self.once:
            threading.Thread(target=self._keep_house, name="housekeeping", daemon=True).start()
        try:
            for slot in self.slots:
                self._start(slot)
            self._started = self._last_log = time.monotonic()
            while not all(slot.done for slot in self.slots):
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
                if self.stopping:
                    self._check_stop_deadline()
                    self._signal_workers()
                self._supervise()
                if time.monotonic() - self._last_log >= self.settings.daemon_log_interval:
                    self.log_progress()
        finally:
            self._stopped.set()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.log_progress(final=True)
        if self.queue is not None:
            self.queue.close()
        if self.bad_configuration:
            return EXIT_UNUSABLE_CONFIGURATION
        if self.once and self._dead_count() > dead_before:
            return 1
        return 0

    def _check_stop_deadline(self) -> None:
        """A worker past its stop grace (and the margin to give its crash back) is killed."""
        deadline = self.settings.shutdown_grace + KILL_MARGIN_SECONDS
        overdue = self._stop_asked and time.monotonic() - self._stop_asked > deadline
        if overdue and not self.hard_stop:
            logger.error("workers still running %g s after the stop: killing them", deadline)
            self.hard_stop = True

    def _signal_workers(self) -> None:
        # Each signal once: a process that is already exiting has its default handlers back,
        # so a repeated SIGTERM would kill it instead of letting it finish.
        wanted = signal.SIGKILL if self.hard_stop else signal.SIGTERM
        for slot in self.slots:
            process = slot.process
            if process is not None and process.is_alive() and slot.signalled != wanted:
                slot.signalled = wanted
                os.kill(process.pid, wanted)

    def _supervise(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.done:
                continue
            process = slot.process
            if process is None:
                if self.stopping:
                    slot.done = True
                elif now >= slot.restart_at:
                    self._start(slot)
                continue
            if process.is_alive():
                self._check_hung(slot)
                continue
            process.join()
            self._retire(slot, process.exitcode, now)

    def _check_hung(self, slot: WorkerSlot) -> None:
        started = slot.state[STATE_JOB_STARTED]
        if started and time.time() - started > self.settings.job_timeout and not slot.kill_reason:
            slot.kill_reason = (
                f"worker killed: one crash took longer than {self.settings.job_timeout:g} s"
            )
            logger.error("worker %d: %s", slot.index, slot.kill_reason)
            os.kill(slot.process.pid, signal.SIGKILL)

    def _retire(self, slot: WorkerSlot, exitcode: int | None, now: float) -> None:
        in_job = bool(slot.state[STATE_JOB_STARTED])
        self.totals.add(slot.state)
        slot.process = None
        if exitcode == EXIT_BAD_CONFIGURATION:
            # Every worker would fail the same way: stop rather than restart in a loop.
            logger.error("worker %d cannot start with this configuration; stopping", slot.index)
            self.bad_configuration = True
            self.stopping = True
            slot.done = True
            return
        stopped_as_asked = self.stopping and exitcode == -signal.SIGTERM
        if not in_job and (exitcode == 0 or stopped_as_asked):
            slot.done = True  # stopped as asked, or nothing left to do (--once)
            return
        reason = slot.kill_reason or death_reason(exitcode)
        released = self._release(slot.consumer, reason)
        self.totals.counts["failed"] += released
        logger.error(
            "worker %d died (%s)%s", slot.index, reason, " with a crash in hand" if released else ""
        )
        if self.stopping:
            slot.done = True
            return
        if in_job or now - slot.started > QUICK_DEATH_SECONDS:
            slot.quick_deaths = 0
            slot.restart_at = now
        else:
            slot.quick_deaths += 1
            slot.restart_at = now + min(MAX_RESTART_DELAY, 2.0 ** (slot.quick_deaths - 1))

    def _release(self, consumer: str, reason: str) -> int:
        if self.queue is None:
            return 0
        try:
            return self.queue.release_consumer(consumer, reason)
        except QueueError as exc:
            # Its leases run out on their own; the crash is retried a little later.
            logger.error("cannot release the dead worker's crashes: %s", exc)
            return 0

    # -- reporting --------------------------------------------------------------------------

    def counts(self) -> dict[str, float]:
        counts = dict(self.totals.counts)
        for slot in self.slots:
            if slot.process is not None and slot.state is not None:
                for name, index in COUNTERS.items():
                    counts[name] += slot.state[index]
        return counts

    def _dead_count(self) -> int:
        try:
            return self.queue.dead_letter_count() if self.queue else 0
        except QueueError:
            return 0

    def log_progress(self, final: bool = False) -> None:
        """One line: counts, the processing rate (since the last line; over the whole run for
        the final one), queue depths (also sent as gauges) and live workers."""
        now = time.monotonic()
        counts = self.counts()
        if final:
            rate = counts["processed"] / max(now - self._started, 1e-9)
        else:
            processed = counts["processed"] - self._last_counts["processed"]
            rate = processed / max(now - self._last_log, 1e-9)
        parts = ", ".join(f"{name} {int(value)}" for name, value in counts.items())
        try:
            depths = self.queue.depths() if self.queue else {}
            dead = self.queue.dead_letter_count() if self.queue else 0
            for name in QUEUE_NAMES:
                record_queue_depth(name, depths.get(name, 0))
            record_queue_depth("deadletter", dead)
            queues = " ".join(f"{name}={depths.get(name, 0)}" for name in QUEUE_NAMES)
            queues += f" dead={dead}"
        except QueueError as exc:
            queues = f"unavailable ({exc})"
        alive = sum(1 for slot in self.slots if slot.process is not None)
        logger.info(
            "%s%s (%.1f crashes/s); queues: %s; workers %d/%d",
            "stopped: " if final else "",
            parts,
            rate,
            queues,
            alive,
            len(self.slots),
        )
        self._last_log = now
        self._last_counts = counts
