"""One daemon worker process: claim a crash, process it with a heartbeat, save, ack.

Workers are processes because stackwalking and signature generation are CPU-bound. A worker
never dies on a bad crash: every failure becomes a ``fail`` on the queue (retried, then
dead-lettered). It stops after its current crash on SIGTERM or SIGINT, when its parent (the
daemon) is gone, or in ``once`` mode when nothing is left to do.

The worker's shared ``state`` array tells the daemon what it is doing (see STATE_*), so the
daemon can kill a worker stuck on one crash and count throughput without talking to it.

Stopping is bounded: a crash in hand when SIGTERM comes may go on for ``daemon.shutdown_grace``
seconds; past that its processing is interrupted (wherever it waits: a symbols server that
never answers, a long walk, an external stackwalker, which is killed) and the crash is given
back to its queue with its attempt uncounted, to be processed by the next worker. The
interruption is an exception raised in the main thread by a signal (SIGUSR1, sent by a timer),
because a blocking read can only be cut short that way; it derives from BaseException so that
no rule's ``except Exception`` swallows it, and it is only raised while the crash is being
processed, never while its result is saved or acked. Processing is idempotent (see job.py), so
an interrupted save is redone by the next delivery.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from resource import RUSAGE_SELF, getrusage
from typing import Any

from processor.config import ConfigError, Settings
from processor.errors import traceback_without_message
from processor.queues import REPROCESSING, CrashQueue, Delivery, QueueError
from processor.rulesets import RulesetError
from processor.service.job import ALREADY_DONE, PermanentFailure, failure_text, run_job
from processor.service.wiring import open_settings_queue, open_settings_storage
from processor.storage import CrashStorage, StorageError
from schemas.library import SchemaError

logger = logging.getLogger("crashproc.worker")
# A worker's last line, how its time went: shown without -v, like the daemon's progress line.
usage_logger = logging.getLogger("crashproc.worker.usage")
# The line log_usage writes, and how benchmarks read it back: (crashes, CPU s, rulesets CPU s,
# rulesets wall s, start-up CPU s), the CPU time including the start-up's.
USAGE_FORMAT = (
    "worker %s: %d crash(es); CPU %.3f s, rulesets %.3f s (%.1f%%); rulesets wall %.3f s; "
    "start-up CPU %.3f s"
)
USAGE_PATTERN = (
    r"worker \S+: (\d+) crash\(es\); CPU ([\d.]+) s, rulesets ([\d.]+) s .*; "
    r"rulesets wall ([\d.]+) s; start-up CPU ([\d.]+) s"
)

# Slots of the shared state array (doubles).
STATE_JOB_STARTED, STATE_PROCESSED, STATE_SKIPPED, STATE_FAILED = range(4)
STATE_SIZE = 4
# Exit status of a worker that cannot start because the configuration is unusable (restarting
# cannot help), and of one that cannot start for now (storage or queue unreachable).
EXIT_BAD_CONFIGURATION = 3
EXIT_START_FAILED = 4
IDLE_WAIT = 0.5
QUEUE_RETRY_WAIT = 1.0
ACK_ATTEMPTS = 5


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable for a spawned process."""

    settings: Settings
    consumer: str
    once: bool = False
    idle_wait: float = IDLE_WAIT


class StopNow(BaseException):
    """The stop grace ran out while a crash was being processed."""


class Heartbeat:
    """Renews the lease of the delivery in hand, from one thread for the worker's life.

    One thread rather than one per crash: starting and joining a thread for every crash cost
    about 2 ms of wall-clock time per crash on a busy machine, for a lease renewed only when a
    crash takes longer than a third of the lease. A renewal in flight when the crash is done is
    waited for, so it never runs after the ack.
    """

    def __init__(self, queue: CrashQueue, interval: float):
        self.queue = queue
        self.interval = interval
        self._cond = threading.Condition()
        self._delivery: Delivery | None = None
        self._lost: Delivery | None = None
        self._due = 0.0
        self._renewing = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def holding(self, delivery: Delivery) -> Iterator[None]:
        """Keep ``delivery`` leased for as long as the block runs."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
                self._thread.start()
            self._delivery = delivery
            self._due = time.monotonic() + self.interval
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._delivery = None
                while self._renewing:
                    self._cond.wait()

    def _next_due(self) -> Delivery | None:
        """(lock held) Wait for a delivery whose renewal is due; None when stopping."""
        while not self._stopping:
            current = self._delivery
            if current is None or current is self._lost:
                self._cond.wait()
                continue
            remaining = self._due - time.monotonic()
            if remaining <= 0:
                self._due = time.monotonic() + self.interval
                return current
            self._cond.wait(remaining)
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                current = self._next_due()
                if current is None:
                    return
                self._renewing = True
            try:
                self._renew(current)
            finally:
                with self._cond:
                    self._renewing = False
                    self._cond.notify_all()

    def _renew(self, delivery: Delivery) -> None:
        try:
            if not self.queue.renew(delivery):
                self._lost = delivery
                logger.warning("crash %s: lease lost while processing", delivery.crash_id)
        except QueueError as exc:
            # The lease may run out meanwhile; the crash is then redelivered and the
            # already-done check keeps the result single.
            logger.warning("crash %s: lease renewal failed: %s", delivery.crash_id, exc)

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()


class Worker:
    def __init__(self, config: WorkerConfig, state: Any = None):
        self.config = config
        self.settings = config.settings
        self.state = state
        self.stopping = threading.Event()
        self.parent = os.getppid()
        self.storage: CrashStorage | None = None
        self.queue: CrashQueue | None = None
        self.processor: Any = None
        self.heartbeat: Heartbeat | None = None
        # CPU time of the process when it was ready to take crashes (interpreter, imports,
        # rulesets): what a long-running worker no longer pays per crash.
        self.startup_cpu = 0.0
        # Set only while a crash is processed (not saved or acked): what StopNow may interrupt.
        self.interruptible = False
        self._grace_timer: threading.Timer | None = None

    def _set(self, slot: int, value: float) -> None:
        if self.state is not None:
            self.state[slot] = value

    def _count(self, slot: int) -> None:
        if self.state is not None:
            with self.state.get_lock():
                self.state[slot] += 1

    def start(self) -> None:
        from processor.observability.setup import setup_observability
        from processor.runner import CrashProcessor

        # Metrics sockets and Sentry clients belong to the process that uses them.
        reporter = setup_observability(self.settings)
        self.storage = open_settings_storage(self.settings)
        self.queue = open_settings_queue(self.settings)
        self.processor = CrashProcessor(self.settings, error_reporter=reporter)
        self.startup_cpu = _process_cpu()

    def request_stop(self, *_: Any) -> None:
        if not self.stopping.is_set() and self.interruptible:
            grace = self.settings.shutdown_grace
            logger.warning(
                "worker %s: stopping; the crash in hand has %g s to finish",
                self.config.consumer,
                grace,
            )
            self._grace_timer = threading.Timer(grace, self._interrupt)
            self._grace_timer.daemon = True
            self._grace_timer.start()
        self.stopping.set()

    def _interrupt(self) -> None:
        """From the grace timer: signal the main thread, so that its blocking call (a
        download, a wait on a child process) returns and StopNow is raised there."""
        if self.interruptible:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)

    def on_interrupt(self, *_: Any) -> None:
        """SIGUSR1 handler (main thread): give up the crash being processed."""
        if self.interruptible:
            self.interruptible = False
            raise StopNow

    def should_stop(self) -> bool:
        if os.getppid() != self.parent:
            logger.warning("worker %s: the daemon is gone; stopping", self.config.consumer)
            self.stopping.set()
        return self.stopping.is_set()

    def run(self) -> None:
        assert self.queue is not None
        while not self.should_stop():
            try:
                delivery = self.queue.claim(self.config.consumer)
                if delivery is None:
                    if self.config.once and self.queue.pending() == 0:
                        return
                    self.stopping.wait(self.config.idle_wait)
                    continue
            except QueueError as exc:
                logger.error("worker %s: queue unavailable: %s", self.config.consumer, exc)
                self.stopping.wait(QUEUE_RETRY_WAIT)
                continue
            self.handle(delivery)

    def handle(self, delivery: Delivery) -> None:
        """Process one delivery to its end: acked, retried or dead-lettered."""
        assert self.queue is not None and self.storage is not None
        if self.stopping.is_set():
            self._give_back(delivery, "stopping")  # claimed as the stop came
            return
        self._set(STATE_JOB_STARTED, time.time())
        phase = "processing"
        try:
            if self.heartbeat is None:
                self.heartbeat = Heartbeat(self.queue, self.settings.queue_lease / 3)
            with self.heartbeat.holding(delivery):
                self.interruptible = not self.stopping.is_set()
                try:
                    result = run_job(
                        self.storage,
                        self.processor,
                        delivery.crash_id,
                        delivery.ruleset,
                        use_previous=delivery.queue == REPROCESSING,
                        enqueued_at=delivery.enqueued_at,
                    )
                finally:
                    self.interruptible = False
            phase = "acking"
            self._ack(delivery)
            self._count(STATE_SKIPPED if result.outcome == ALREADY_DONE else STATE_PROCESSED)
            logger.info(
                "crash %s (%s, %s): %s",
                delivery.crash_id,
                delivery.queue,
                delivery.ruleset,
                result.outcome,
            )
        except StopNow:
            self._give_back(delivery, "stop grace over")
        except Exception as exc:
            permanent = isinstance(exc, PermanentFailure)
            error = failure_text(phase, exc)
            # The stack without the exception's message: messages can quote crash data.
            logger.error(
                "crash %s (%s, attempt %d): %s%s",
                delivery.crash_id,
                delivery.queue,
                delivery.attempts,
                error,
                "" if permanent else "\n" + traceback_without_message(exc),
            )
            self._count(STATE_FAILED)
            try:
                if self.queue.fail(delivery, error, permanent=permanent):
                    logger.error("crash %s: dead-lettered (%s)", delivery.crash_id, error)
            except QueueError as queue_exc:
                logger.error(
                    "crash %s: cannot record the failure: %s", delivery.crash_id, queue_exc
                )
        finally:
            self._set(STATE_JOB_STARTED, 0.0)

    def _give_back(self, delivery: Delivery, why: str) -> None:
        assert self.queue is not None
        try:
            returned = self.queue.give_back(delivery)
        except QueueError as exc:
            # Its lease runs out instead; the crash comes back a little later.
            logger.error("crash %s: cannot give it back: %s", delivery.crash_id, exc)
            return
        logger.warning(
            "crash %s: %s",
            delivery.crash_id,
            f"{why}: given back to its queue unprocessed"
            if returned
            else f"{why}; the lease was already lost",
        )

    def _ack(self, delivery: Delivery) -> None:
        assert self.queue is not None
        for attempt in range(ACK_ATTEMPTS):
            try:
                if not self.queue.ack(delivery):
                    logger.warning("crash %s: lease lost before the ack", delivery.crash_id)
                return
            except QueueError as exc:
                if attempt == ACK_ATTEMPTS - 1:
                    # Saved but not acked: it comes back and the already-done check acks it.
                    logger.error("crash %s: ack failed: %s", delivery.crash_id, exc)
                    return
                time.sleep(QUEUE_RETRY_WAIT * (attempt + 1))

    def log_usage(self) -> None:
        """How this worker's CPU time went: the rulesets' share, the rest being start-up,
        queue, storage and scratch work (what `make bench-processor` sets against the goal)."""
        if self.processor is None:
            return
        total = _process_cpu()
        spent = self.processor.pipeline.spent
        usage_logger.info(
            USAGE_FORMAT,
            self.config.consumer,
            spent.crashes,
            total,
            spent.cpu,
            100 * spent.cpu / total if total else 0.0,
            spent.wall,
            self.startup_cpu,
        )

    def close(self) -> None:
        self.log_usage()
        if self.heartbeat is not None:
            self.heartbeat.close()
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        if self.queue is not None:
            try:
                self.queue.forget_consumer(self.config.consumer)
            except QueueError as exc:
                logger.warning("worker %s: %s", self.config.consumer, exc)
        for resource in (self.processor, self.queue, self.storage):
            if resource is not None:
                try:
                    resource.close()
                except Exception:
                    logger.exception("worker %s: closing failed", self.config.consumer)


def _process_cpu() -> float:
    """User and system CPU seconds of this process since it started."""
    usage = getrusage(RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker_main(config: WorkerConfig, state: Any = None, log_level: int = logging.INFO) -> None:
    """Entry point of a spawned worker process."""
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
    )
    usage_logger.setLevel(logging.INFO)
    worker = Worker(config, state)
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
    signal.signal(signal.SIGUSR1, worker.on_interrupt)
    try:
        worker.start()
    except (ConfigError, RulesetError, SchemaError) as exc:
        logger.error("worker %s cannot start: %s", config.consumer, exc)
        raise SystemExit(EXIT_BAD_CONFIGURATION) from None
    except (StorageError, QueueError) as exc:
        logger.error("worker %s cannot start: %s", config.consumer, exc)
        raise SystemExit(EXIT_START_FAILED) from None
    except Exception as exc:
        logger.error(
            "worker %s cannot start: %s\n%s",
            config.consumer,
            exc.__class__.__name__,
            traceback_without_message(exc),
        )
        raise SystemExit(EXIT_START_FAILED) from None
    try:
        worker.run()
    finally:
        worker.close()
