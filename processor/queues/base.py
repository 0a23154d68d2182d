"""The crash queue interface: prioritised, leased, bounded-retry delivery of crash ids.

Three queues feed the processor. ``priority`` (someone is waiting for the crash) always goes
before ``standard`` (new crashes from the collector), which goes before ``reprocessing``.

Delivery is at least once. A claimed crash is leased to one consumer for ``lease_seconds``; the
consumer renews the lease while it works (a heartbeat) and acks when the result is saved. A
lease that runs out (the worker was killed, the machine died) makes the crash claimable again.
Every claim counts as an attempt; after ``max_attempts`` the crash goes to the dead-letter list
with its last error instead of being delivered again, so one poison crash cannot hold a worker
forever. Because delivery can repeat, processing must be idempotent (see processor/service/job.py).

Lease expiry and retry delays are read from the queue's ``clock`` (epoch seconds). Production
leaves it at the default (see each backend); tests pass a clock they advance by hand, so a
lease test proves expiry without sleeping and without depending on how busy the machine is.

Error texts stored with a crash are written by our own code (exception class names, exit
signals), never exception messages, which can carry protected crash data.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from processor.crashid import validate_crash_id

PRIORITY, STANDARD, REPROCESSING = "priority", "standard", "reprocessing"
# Claim order: earlier queues always win.
QUEUE_NAMES = (PRIORITY, STANDARD, REPROCESSING)
RULESET_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
MAX_ERROR_LENGTH = 500
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_DELAY = 5.0
MAX_RETRY_DELAY = 300.0
LEASE_EXPIRED_ERROR = "lease expired: the worker stopped renewing it (killed, hung or lost)"


class QueueError(Exception):
    """The queue backend failed or was misconfigured; the message says which."""


@dataclass(frozen=True)
class Delivery:
    """One claimed crash: process it, renew the lease meanwhile, then ack or fail it."""

    job_id: str
    queue: str
    crash_id: str
    ruleset: str
    attempts: int  # including this one
    enqueued_at: float  # epoch seconds, by the queue's clock
    token: str  # names this lease; a stale holder cannot ack or renew after a reclaim
    last_error: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A crash that used up its attempts (or cannot ever succeed), with the last error."""

    job_id: str
    queue: str
    crash_id: str
    ruleset: str
    attempts: int
    error: str
    enqueued_at: float
    dead_at: float


def check_queue_name(queue: str) -> str:
    if queue not in QUEUE_NAMES:
        raise QueueError(f"unknown queue {queue!r}; known: {', '.join(QUEUE_NAMES)}")
    return queue


def check_ruleset_name(ruleset: str) -> str:
    if not isinstance(ruleset, str) or not RULESET_RE.match(ruleset):
        raise QueueError(f"invalid ruleset name {str(ruleset)[:80]!r}")
    return ruleset


def checked_crash_ids(crash_ids: Iterable[str]) -> list[str]:
    """All ids validated before any is published, so a bad batch publishes nothing."""
    return [validate_crash_id(crash_id) for crash_id in crash_ids]


def clip_error(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 3] + "..."


def retry_delay(base: float, attempts: int) -> float:
    """Exponential backoff after the ``attempts``-th failure, capped."""
    return min(MAX_RETRY_DELAY, base * 2 ** min(max(0, attempts - 1), 32))


class CrashQueue(ABC):
    """A backend for the three crash queues and their dead-letter list."""

    def __init__(
        self,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        clock: Callable[[], float] | None = None,
    ):
        if lease_seconds <= 0 or max_attempts < 1 or retry_delay < 0:
            raise QueueError("lease must be > 0, attempts >= 1 and retry delay >= 0")
        self.lease_seconds = float(lease_seconds)
        self.max_attempts = int(max_attempts)
        self.retry_delay = float(retry_delay)
        # None: the backend's own default clock (wall time here, the server's for Redis).
        self.clock = clock

    @abstractmethod
    def publish(self, queue: str, crash_ids: Iterable[str], ruleset: str = "default") -> int:
        """Queue crash ids (all validated first); returns how many were queued."""

    @abstractmethod
    def claim(self, consumer: str) -> Delivery | None:
        """Lease the next crash by queue priority, or None when nothing is ready.

        A crash whose lease ran out with no attempts left is dead-lettered here instead.
        """

    @abstractmethod
    def renew(self, delivery: Delivery) -> bool:
        """Extend the lease; False when it was lost (expired and claimed by someone else)."""

    @abstractmethod
    def ack(self, delivery: Delivery) -> bool:
        """The crash is done: remove it. False when the lease was lost meanwhile."""

    @abstractmethod
    def fail(self, delivery: Delivery, error: str, permanent: bool = False) -> bool:
        """Record a failed attempt; retry later, or dead-letter (returns True) when attempts
        are used up or ``permanent`` says retrying cannot help."""

    @abstractmethod
    def give_back(self, delivery: Delivery) -> bool:
        """Return the crash to its queue at once without counting the attempt: the consumer
        is stopping, the crash did not fail. False when the lease was lost meanwhile."""

    @abstractmethod
    def release_consumer(self, consumer: str, error: str) -> int:
        """Fail every lease ``consumer`` holds (it died); returns how many there were."""

    @abstractmethod
    def depths(self) -> dict[str, int]:
        """Crashes not yet done, per queue (ready, leased or waiting to be retried)."""

    @abstractmethod
    def dead_letters(self) -> list[DeadLetter]: ...

    @abstractmethod
    def crash_ids(self) -> set[str]:
        """Every crash id the backend holds: ready, leased, waiting for a retry or
        dead-lettered (what ``crashproc queue reconcile`` must not queue again)."""

    @abstractmethod
    def requeue_dead_letters(self, job_ids: Iterable[str] | None = None) -> int:
        """Put dead-lettered crashes back on their queues with fresh attempts."""

    def forget_consumer(self, consumer: str) -> None:
        """A consumer stops for good: drop what the backend keeps about it (if it holds
        nothing)."""
        return None

    def dead_letter_count(self) -> int:
        return len(self.dead_letters())

    def pending(self) -> int:
        return sum(self.depths().values())

    def describe(self) -> str:
        return type(self).__name__

    def close(self) -> None:
        return None
