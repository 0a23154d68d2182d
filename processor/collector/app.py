"""The collector: ``POST /submit`` takes a crash report from a Breakpad or Crashpad client.

One report: the body streams into a scratch directory under the configured limits
(webstack.form), becomes a raw crash with collector metadata (report.py), is throttled
(throttle.py), is stored (dumps first, the raw crash last) and only then answered
``CrashID=bp-<crash id>``. It is queued before the answer too; when the queue is down the
report is still answered, and ``crashproc queue reconcile`` (run by the daemon at
start) queues the stored crashes that carry no queued mark. Anything malformed is answered
400 ``Discarded=malformed_<reason>`` with nothing stored or queued; a throttled report
``Discarded=<rule>`` (200, as Antenna answers). Annotation values are never logged.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from processor.collector.report import Report, build_report
from processor.collector.throttle import Throttler, load_throttler
from processor.config import Settings
from processor.metrics import METRICS
from processor.observability.setup import setup_observability
from processor.queues import STANDARD, CrashQueue, QueueError
from processor.service.wiring import open_settings_queue, open_settings_storage, worker_settings
from processor.storage import CrashStorage, StorageError
from webstack.app import service_app
from webstack.form import Disconnected, FormError, Limits, read_form

log = logging.getLogger("crashproc.collector")


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_body=settings.collector_max_body,
        max_uncompressed=settings.collector_max_uncompressed,
        max_parts=settings.collector_max_parts,
        max_field_size=settings.collector_max_field_size,
    )


class Collector:
    """The /submit endpoint over one storage and queue (one per worker process)."""

    def __init__(
        self,
        storage: CrashStorage,
        open_queue: Callable[[], CrashQueue],
        limits: Limits,
        throttler: Throttler | None = None,
    ) -> None:
        self.storage = storage
        # Opened on first use and again after a failure: a queue that is down when the
        # collector starts or fails later costs queueing, never answering.
        self.open_queue = open_queue
        self.queue: CrashQueue | None = None
        self.limits = limits
        self.throttler = throttler or Throttler([])
        # One queue connection per process: publishes from the thread pool take turns.
        self._queue_lock = threading.Lock()

    def asgi(self) -> ASGIApp:
        return service_app(
            "collector",
            [Route("/submit", self.submit, methods=["POST"])],
            checks={"storage": self._check_storage},
        )

    def _check_storage(self) -> str:
        try:
            self.storage.has_raw_crash("00000000-0000-0000-0000-000000000101")
        except Exception:
            return "error"
        return "ok"

    async def submit(self, request: Request) -> Response:
        with tempfile.TemporaryDirectory(prefix="crashproc-collector-") as scratch:
            try:
                form = await read_form(request, self.limits, Path(scratch))
                report = build_report(form, request.headers.get("user-agent", ""))
            except FormError as exc:
                METRICS.incr("collector.malformed", tags=[f"reason:{exc.code}"])
                return PlainTextResponse(f"Discarded=malformed_{exc.code}\n{exc}\n", 400)
            except Disconnected:
                METRICS.incr("collector.malformed", tags=["reason:disconnected"])
                return PlainTextResponse("Discarded=malformed_truncated\n", 400)
            decision = self.throttler.decide(report.raw_crash)
            report.raw_crash["metadata"]["throttle_rule"] = decision.rule
            METRICS.incr(
                "collector.throttle",
                tags=[f"result:{'accept' if decision.accepted else 'reject'}"],
            )
            if not decision.accepted:
                log.info("discarded a report by throttle rule %s", decision.rule)
                return PlainTextResponse(f"Discarded={decision.rule}\n")
            await run_in_threadpool(self._store, report)
        queued = await run_in_threadpool(self._queue, report.crash_id)
        METRICS.incr("collector.accepted", tags=[f"queued:{'yes' if queued else 'no'}"])
        return PlainTextResponse(f"CrashID=bp-{report.crash_id}\n")

    def _store(self, report: Report) -> None:
        """Durably stored (an exception here is a 500: the client keeps the report and
        retries)."""
        self.storage.save_raw_crash(report.crash_id, report.raw_crash, report.dumps)

    def _queue(self, crash_id: str) -> bool:
        try:
            with self._queue_lock:
                if self.queue is None:
                    self.queue = self.open_queue()
                try:
                    self.queue.publish(STANDARD, [crash_id])
                except QueueError:
                    self.queue.close()
                    self.queue = None
                    raise
        except (QueueError, StorageError, OSError) as exc:
            log.warning(
                "%s stored but not queued (%s): the daemon's reconcile (crashproc queue reconcile) will queue it",
                crash_id,
                exc.__class__.__name__,
            )
            return False
        return True


# How `crashproc collector` hands its command line to the worker processes (webstack.serve).


def build_collector(settings: Settings) -> Collector:
    """The collector the settings describe (storage, queue, limits, throttle rules)."""
    return Collector(
        open_settings_storage(settings, processed=False),
        lambda: open_settings_queue(settings),
        limits_from(settings),
        load_throttler(settings.collector_throttle_rules),
    )


def app_from_env() -> ASGIApp:
    """The factory each worker process calls: the same configuration file and flags as the
    command, metrics and Sentry (with the processor's scrubbing) set up in this process."""
    settings = worker_settings()
    setup_observability(settings)
    return build_collector(settings).asgi()
