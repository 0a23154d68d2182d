"""Named helpers for the metrics that several modules emit.

The daemon, the stackwalker and the symbols code measure the same things in different places;
one helper per metric keeps the name, type and tags in one spot (and in the registry), instead
of every caller spelling them. Tag values are the registry's (``processor/metrics.yaml``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from processor.metrics import METRICS

QUEUES = ("standard", "priority", "reprocessing", "deadletter")
STACKWALKERS = ("external", "builtin")
DOWNLOAD_OUTCOMES = ("found", "missing", "error")


def record_queue_depth(queue: str, depth: int) -> None:
    """Gauge ``crashproc.processor.queue.depth``: crashes waiting in ``queue`` (one of QUEUES)."""
    METRICS.gauge("processor.queue.depth", depth, tags=[f"queue:{queue}"])


@contextmanager
def stackwalk_timer(stackwalker: str) -> Iterator[None]:
    """Time the block as ``crashproc.processor.stackwalk.timing`` (``stackwalker`` in STACKWALKERS).

    Wrap only the walk itself, so the metric compares stackwalkers, not JSON handling. A walk
    that raises is timed too: slow failures are what this metric is watched for.
    """
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        METRICS.timing(
            "processor.stackwalk.timing", elapsed_ms, tags=[f"stackwalker:{stackwalker}"]
        )


def record_symbol_download(seconds: float, outcome: str) -> None:
    """Timing ``crashproc.processor.symbols.download.timing`` for one symbol file fetch.

    Takes the duration rather than timing a block because the outcome (in DOWNLOAD_OUTCOMES) is
    known only at the end, and the symbols code can pass this function as a plain callback.
    """
    METRICS.timing(
        "processor.symbols.download.timing", seconds * 1000.0, tags=[f"outcome:{outcome}"]
    )


def record_symbol_cache(hit: bool) -> None:
    """Count ``crashproc.processor.symbols.cache``: one symbol-cache lookup, a hit or a miss."""
    METRICS.incr("processor.symbols.cache", tags=[f"result:{'hit' if hit else 'miss'}"])


def record_symbol_breaker_open(url: str) -> None:
    """Count ``crashproc.processor.symbols.breaker_open``: a symbols server left lookups
    unanswered too many times in a row and is skipped for a while (the server's host is
    logged; a tag would be one per configured URL, which tags are not for)."""
    logging.getLogger("crashproc.symbols").warning(
        "symbols server %s does not answer: skipping it for a while", urlsplit(url).hostname
    )
    METRICS.incr("processor.symbols.breaker_open")
