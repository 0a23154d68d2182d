"""Crash queues: priority, standard and reprocessing, leased, retried, dead-lettered."""

from processor.queues.base import (
    PRIORITY,
    QUEUE_NAMES,
    REPROCESSING,
    STANDARD,
    CrashQueue,
    DeadLetter,
    Delivery,
    QueueError,
)
from processor.queues.url import open_queue

__all__ = [
    "PRIORITY",
    "QUEUE_NAMES",
    "REPROCESSING",
    "STANDARD",
    "CrashQueue",
    "DeadLetter",
    "Delivery",
    "QueueError",
    "open_queue",
]
