"""Crash queues from a URL: ``sqlite:PATH`` (one machine) or ``redis://host:port/db``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from processor.queues.base import CrashQueue, QueueError


def open_queue(url: str, allow_volatile_redis: bool = False, **options: Any) -> CrashQueue:
    """The queue backend a URL names; options are lease_seconds, max_attempts, retry_delay
    and clock (see processor.queues.base).

    A Redis server that would lose queued crashes on a restart is refused unless
    ``allow_volatile_redis`` (see processor.queues.redis_streams)."""
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:") :]
        if rest.startswith("//"):
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                raise QueueError(f"queue URL {url!r}: sqlite URLs must be local")
            rest = parts.path
        path = unquote(rest)
        if not path:
            raise QueueError(f"queue URL {url!r} names no database file (sqlite:PATH)")
        from processor.queues.sqlite import SQLiteCrashQueue

        return SQLiteCrashQueue(path, **options)
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            from processor.queues.redis_streams import RedisCrashQueue
        except ModuleNotFoundError as exc:
            # redis-py is the optional `redis` extra: say which one to install, not a traceback.
            if exc.name != "redis":
                raise
            scheme = url.split("://", 1)[0]
            raise QueueError(
                f"{scheme}:// queues need redis: pip install 'crashproc[redis]'"
            ) from None

        return RedisCrashQueue(url, allow_volatile=allow_volatile_redis, **options)
    scheme = url.split(":", 1)[0] if ":" in url else ""
    shown = scheme[:20] if scheme else url[:60]
    raise QueueError(f"unsupported queue URL {shown!r}: use sqlite:PATH or redis://host:port/db")
