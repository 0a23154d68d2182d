"""Redis Streams crash queue: several machines share the queues through one Redis.

redis-py comes with the ``redis`` extra (``pip install 'crashproc[redis]'``); only a ``redis://``
queue URL imports this module (processor.queues.url says which extra is missing).

Each queue is a stream read by one consumer group; each worker is a consumer. A claimed entry
sits in the group's pending list under its consumer until it is acked (XACK, then XDEL so the
stream length is the queue depth). A lease is the entry's idle time: the heartbeat resets it
(XCLAIM to the same consumer), and an entry idle for longer than the lease is taken over by
the next claimer with XAUTOCLAIM. A failed attempt is handed to the ``(retry)`` consumer with
an idle time that makes it claimable after the retry delay (at most one lease).

Whose clock: by default the Redis server's, so workers on machines whose clocks disagree still
agree on when a lease ends. A queue given a ``clock`` (tests advance one by hand) passes its
time to every script instead: each delivery, renewal and failure sets the entry's delivery time
to that clock's now (XCLAIM ... TIME), and a claim asks XAUTOCLAIM for the idle time that
corresponds to one lease by that clock (the lease minus how far the clock runs ahead of the
server's). Such a clock must not run ahead of the server's by a whole lease: the claim refuses.

Attempts, last errors and "failed, waiting for retry" marks live in hashes keyed by
``{stream}/{entry id}``; dead letters are a stream of their own. Every step that reads and then
changes state runs as one Lua script, so two workers can never both win an entry, and a
holder whose lease was taken over (its attempt number is no longer current) can neither renew,
ack nor fail it.

The time an entry was queued comes from its id (Redis's clock), for the already-done check.

Persistence: a Redis without an append-only file (its default configuration) forgets every
queued crash when it restarts, and then answers as if the queues had always been empty. The
queue therefore refuses such a server at start unless ``allow_volatile`` says the loss is
accepted, and warns when acknowledged writes can still be lost to a power failure
(``appendfsync`` other than ``always``). A consumer group found missing after start is the
trace such a loss leaves: it is recreated, logged at ERROR and counted
(``crashproc.processor.queue.group_recreated``); ``crashproc queue reconcile`` queues again
the stored crashes that were lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from processor.metrics import METRICS
from processor.queues.base import (
    LEASE_EXPIRED_ERROR,
    MAX_RETRY_DELAY,
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

logger = logging.getLogger(__name__)

GROUP = "processors"
RETRY_CONSUMER = "(retry)"
DEFAULT_PREFIX = "crashproc"
SOCKET_TIMEOUT = 10.0
# What the refusal and the warnings tell an operator to configure (redis.conf or CONFIG SET).
PERSISTENT_CONFIG = "appendonly yes"
DURABLE_CONFIG = "appendfsync always"
ALLOW_SETTING = "queue.allow_volatile_redis (CRASHPROC_QUEUE_ALLOW_VOLATILE_REDIS=1)"
PAGE = 1000
T = TypeVar("T")

# The queue's now in milliseconds: the server's, or the one the caller passed (its clock).
NOW = """
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function now_ms(given)
  if given == '' then return server_ms() end
  return tonumber(given)
end
"""

# KEYS: attempts, errors, released, dead, stream... (priority order)
# ARGV: group, consumer, lease ms, max attempts, lease-expired error, now ms ('' = server's)
CLAIM = (
    NOW
    + """
local attempts_key, errors_key, released_key, dead_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, consumer = ARGV[1], ARGV[2]
local lease, max_attempts = tonumber(ARGV[3]), tonumber(ARGV[4])
local server_now = server_ms()
local now = now_ms(ARGV[6])
-- Delivery times are set by the queue's clock; XAUTOCLAIM measures idle time by the server's.
local min_idle = lease - (now - server_now)
if min_idle < 1 then
  return redis.error_reply('the queue clock runs ahead of the Redis server clock by a lease or more')
end
local function forget(field)
  redis.call('HDEL', attempts_key, field)
  redis.call('HDEL', errors_key, field)
  redis.call('HDEL', released_key, field)
end
for i = 5, #KEYS do
  local stream = KEYS[i]
  local cursor = '0-0'
  repeat
    local reply = redis.call('XAUTOCLAIM', stream, group, consumer, min_idle, cursor, 'COUNT', 1)
    cursor = reply[1]
    for _, deleted in ipairs(reply[3] or {}) do forget(stream .. '/' .. deleted) end
    local entry = reply[2][1]
    if entry then
      local id, fields = entry[1], entry[2]
      local field = stream .. '/' .. id
      local tries = tonumber(redis.call('HGET', attempts_key, field) or '0')
      local err
      if redis.call('HEXISTS', released_key, field) == 1 then
        err = redis.call('HGET', errors_key, field)
      else
        err = ARGV[5]
        redis.call('HSET', errors_key, field, err)
      end
      redis.call('HDEL', released_key, field)
      if tries >= max_attempts then
        redis.call('XADD', dead_key, '*', 'stream', stream, 'id', id, 'fields', cjson.encode(fields),
          'attempts', tries, 'error', err or ARGV[5])
        redis.call('XACK', stream, group, id)
        redis.call('XDEL', stream, id)
        forget(field)
      else
        tries = redis.call('HINCRBY', attempts_key, field, 1)
        redis.call('XCLAIM', stream, group, consumer, 0, id, 'TIME', now, 'JUSTID')
        return {i - 4, id, fields, tries, err or false}
      end
    end
  until cursor == '0-0'
  local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
  if fresh and fresh[1] and fresh[1][2][1] then
    local id, fields = fresh[1][2][1][1], fresh[1][2][1][2]
    redis.call('HSET', attempts_key, stream .. '/' .. id, 1)
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'TIME', now, 'JUSTID')
    return {i - 4, id, fields, 1, false}
  end
end
return false
"""
)

# The holder check shared by renew, ack and fail: the entry is pending under this consumer and
# its attempt number is still the holder's (an empty token skips that check: releasing a dead
# consumer's entries).
HOLDER_CHECK = """
local function holds(stream, group, consumer, id, attempts_key, token)
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  if not pending[1] or pending[1][2] ~= consumer then return false end
  if token ~= '' and redis.call('HGET', attempts_key, stream .. '/' .. id) ~= token then
    return false
  end
  return true
end
"""

# KEYS: stream, attempts. ARGV: group, consumer, id, token, now ms ('' = server's)
RENEW = (
    NOW
    + HOLDER_CHECK
    + """
if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], ARGV[4]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'TIME', now_ms(ARGV[5]), 'JUSTID')
return 1
"""
)

# KEYS: stream, attempts, errors, released. ARGV: group, consumer, id, token
ACK = (
    HOLDER_CHECK
    + """
if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], ARGV[4]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
local field = KEYS[1] .. '/' .. ARGV[3]
redis.call('HDEL', KEYS[2], field)
redis.call('HDEL', KEYS[3], field)
redis.call('HDEL', KEYS[4], field)
return 1
"""
)

# KEYS: stream, attempts, released.
# ARGV: group, consumer, id, token, retry consumer, lease ms, now ms ('' = server's)
# The entry goes to the retry consumer already idle for a whole lease (claimable at once), its
# attempt uncounted and marked released (the next claim records no lease-expired error).
GIVE_BACK = (
    NOW
    + HOLDER_CHECK
    + """
if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], ARGV[4]) then return 0 end
local field = KEYS[1] .. '/' .. ARGV[3]
if tonumber(redis.call('HGET', KEYS[2], field) or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], field, -1)
end
redis.call('HSET', KEYS[3], field, 1)
local delivered = now_ms(ARGV[7]) - tonumber(ARGV[6]) - 1
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[5], 0, ARGV[3], 'TIME', delivered, 'JUSTID')
return 1
"""
)

# KEYS: stream, attempts, errors, released, dead.
# ARGV: group, consumer, id, token, error, max attempts, permanent (0/1), retry consumer,
#       lease ms, retry delay base ms, max retry delay ms, now ms ('' = server's)
# Returns -1 (not the holder), 0 (to be retried), 1 (dead-lettered).
FAIL = (
    NOW
    + HOLDER_CHECK
    + """
local stream, group, id = KEYS[1], ARGV[1], ARGV[3]
if not holds(stream, group, ARGV[2], id, KEYS[2], ARGV[4]) then return -1 end
local field = stream .. '/' .. id
local tries = tonumber(redis.call('HGET', KEYS[2], field) or '0')
if ARGV[7] == '1' or tries >= tonumber(ARGV[6]) then
  local entry = redis.call('XRANGE', stream, id, id)[1]
  local fields = entry and entry[2] or {}
  redis.call('XADD', KEYS[5], '*', 'stream', stream, 'id', id, 'fields', cjson.encode(fields),
    'attempts', tries, 'error', ARGV[5])
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  redis.call('HDEL', KEYS[2], field)
  redis.call('HDEL', KEYS[3], field)
  redis.call('HDEL', KEYS[4], field)
  return 1
end
redis.call('HSET', KEYS[3], field, ARGV[5])
redis.call('HSET', KEYS[4], field, 1)
local delay = tonumber(ARGV[10]) * 2 ^ math.max(0, tries - 1)
delay = math.min(delay, tonumber(ARGV[11]), tonumber(ARGV[9]))
-- Delivered a lease before it may be claimed again: idle for (lease - delay) now.
local delivered = now_ms(ARGV[12]) - math.floor(tonumber(ARGV[9]) - delay)
redis.call('XCLAIM', stream, group, ARGV[8], 0, id, 'TIME', delivered, 'JUSTID')
return 0
"""
)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _fields(flat: list[Any]) -> dict[str, str]:
    return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def entry_time(entry_id: str) -> float:
    """When an entry was added, from its id (milliseconds by the Redis server's clock)."""
    return int(entry_id.split("-", 1)[0]) / 1000.0


def split_url(url: str) -> tuple[str, str, str]:
    """(URL for redis-py, key prefix, description without credentials)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    if not prefix or not all(c.isalnum() or c in "-_.:" for c in prefix):
        raise QueueError("redis queue URL: prefix may hold letters, digits and -_.: only")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    client_url = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 6379
    except ValueError:
        raise QueueError("redis queue URL: the port is not a number") from None
    shown = f"{parts.scheme}://{host}:{port}{parts.path or '/0'}"
    return client_url, prefix, shown


def _info_flag(info: dict[str, Any], name: str) -> bool:
    return str(info.get(name, "0")) in ("1", "yes")


def persistence_problem(client: redis.Redis) -> tuple[str | None, str | None]:
    """(refusal, warning) about the server's persistence: a refusal when a restart loses
    acknowledged writes (no append-only file), a warning when a power failure can.

    ``CONFIG GET`` is often disabled on managed servers; ``INFO persistence`` is not, and is
    enough for the refusal.
    """
    try:
        info = client.info("persistence")
    except redis.ResponseError:
        # INFO disabled or renamed: nothing to refuse on, but the operator must know.
        return None, "the Redis server does not tell its persistence (INFO is disabled)"
    if not _info_flag(info, "aof_enabled"):
        return (
            "the Redis server keeps no append-only file, so a restart loses every queued "
            f"crash without a trace: configure it with '{PERSISTENT_CONFIG}' (and "
            f"'{DURABLE_CONFIG}' to lose nothing on a power failure), or set {ALLOW_SETTING} "
            "to accept the loss",
            None,
        )
    try:
        fsync = _text(client.config_get("appendfsync").get("appendfsync", "") or "")
    except redis.ResponseError:
        fsync = ""  # CONFIG is disabled or renamed: the policy cannot be known
    if fsync == "always":
        return None, None
    policy = f"'appendfsync {fsync}'" if fsync else "an unknown appendfsync policy"
    return None, (
        f"the Redis server runs with {policy}: queued crashes acknowledged in the last "
        f"second(s) before a power failure can be lost; '{DURABLE_CONFIG}' loses none"
    )


class RedisCrashQueue(CrashQueue):
    def __init__(self, url: str, allow_volatile: bool = False, **options: Any):
        super().__init__(**options)
        self.allow_volatile = allow_volatile
        client_url, self.prefix, self._shown = split_url(url)
        try:
            self.client = redis.Redis.from_url(
                client_url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 2),
                health_check_interval=30,
            )
        except ValueError as exc:
            raise QueueError(f"redis queue URL is not usable: {exc.__class__.__name__}") from None
        self.streams = {name: f"{self.prefix}:queue:{name}" for name in QUEUE_NAMES}
        self.attempts_key = f"{self.prefix}:attempts"
        self.errors_key = f"{self.prefix}:errors"
        self.released_key = f"{self.prefix}:released"
        self.dead_key = f"{self.prefix}:dead"
        self._claim = self.client.register_script(CLAIM)
        self._renew = self.client.register_script(RENEW)
        self._ack = self.client.register_script(ACK)
        self._fail = self.client.register_script(FAIL)
        self._give_back = self.client.register_script(GIVE_BACK)
        self._call(self._check_persistence)
        self._call(self._create_groups)

    def describe(self) -> str:
        return f"redis {self._shown} (prefix {self.prefix})"

    def _check_persistence(self) -> None:
        refusal, warning = persistence_problem(self.client)
        if refusal and not self.allow_volatile:
            raise QueueError(f"{self.describe()}: {refusal}")
        if refusal:
            logger.warning(
                "%s: %s (allowed by queue.allow_volatile_redis)", self.describe(), refusal
            )
        elif warning:
            logger.warning("%s: %s", self.describe(), warning)

    def _create_groups(self) -> int:
        """Create the missing consumer groups (and streams); returns how many were missing."""
        created = 0
        for stream in self.streams.values():
            try:
                self.client.xgroup_create(stream, GROUP, id="0", mkstream=True)
                created += 1
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        return created

    def _recreate_groups(self) -> None:
        """The groups vanished while in use: Redis restarted without its data (or someone
        deleted the keys), and whatever was queued or leased is gone."""
        created = self._create_groups()
        if created:
            METRICS.incr("processor.queue.group_recreated", created)
            logger.error(
                "%s: %d consumer group(s) had vanished and were recreated: the Redis server "
                "lost its data (restarted without persistence?); queued crashes were lost. "
                "Run 'crashproc queue reconcile' to queue stored crashes again, and configure "
                "Redis with '%s'",
                self.describe(),
                created,
                PERSISTENT_CONFIG,
            )

    def _call(self, operation: Callable[[], T]) -> T:
        """Run a Redis operation; a restarted Redis that lost its groups gets them back."""
        try:
            try:
                return operation()
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._recreate_groups()
                return operation()
        except redis.RedisError as exc:
            raise QueueError(f"{self.describe()}: {exc.__class__.__name__}: {exc}") from None

    # -- producing --------------------------------------------------------------------------

    def publish(self, queue: str, crash_ids: Iterable[str], ruleset: str = "default") -> int:
        stream = self.streams[check_queue_name(queue)]
        check_ruleset_name(ruleset)
        ids = checked_crash_ids(crash_ids)

        def add() -> int:
            pipeline = self.client.pipeline(transaction=True)
            for crash_id in ids:
                pipeline.xadd(stream, {"crash_id": crash_id, "ruleset": ruleset})
            pipeline.execute()
            return len(ids)

        return self._call(add)

    # -- consuming --------------------------------------------------------------------------

    def _now_arg(self) -> int | str:
        """The queue's now for a script: milliseconds by its clock, or '' for the server's."""
        return "" if self.clock is None else int(self.clock() * 1000)

    def _keys(self, stream: str) -> list[str]:
        return [stream, self.attempts_key, self.errors_key, self.released_key]

    def claim(self, consumer: str) -> Delivery | None:
        keys = [self.attempts_key, self.errors_key, self.released_key, self.dead_key]
        keys += [self.streams[name] for name in QUEUE_NAMES]
        args = [
            GROUP,
            consumer,
            int(self.lease_seconds * 1000),
            self.max_attempts,
            LEASE_EXPIRED_ERROR,
            self._now_arg(),
        ]
        reply = self._call(lambda: self._claim(keys=keys, args=args))
        if not reply:
            return None
        index, entry_id, flat, attempts, error = reply
        entry_id = _text(entry_id)
        fields = _fields(flat)
        return Delivery(
            job_id=entry_id,
            queue=QUEUE_NAMES[int(index) - 1],
            crash_id=fields.get("crash_id", ""),
            ruleset=fields.get("ruleset", "default"),
            attempts=int(attempts),
            enqueued_at=entry_time(entry_id),
            token=f"{consumer}\n{int(attempts)}",
            last_error=_text(error) if error else None,
        )

    @staticmethod
    def _holder(delivery: Delivery) -> tuple[str, str]:
        consumer, _, attempts = delivery.token.rpartition("\n")
        return consumer, attempts

    def renew(self, delivery: Delivery) -> bool:
        consumer, attempts = self._holder(delivery)
        stream = self.streams[delivery.queue]
        args = [GROUP, consumer, delivery.job_id, attempts, self._now_arg()]
        return bool(self._call(lambda: self._renew(keys=[stream, self.attempts_key], args=args)))

    def ack(self, delivery: Delivery) -> bool:
        consumer, attempts = self._holder(delivery)
        keys = self._keys(self.streams[delivery.queue])
        args = [GROUP, consumer, delivery.job_id, attempts]
        return bool(self._call(lambda: self._ack(keys=keys, args=args)))

    def give_back(self, delivery: Delivery) -> bool:
        consumer, attempts = self._holder(delivery)
        keys = [self.streams[delivery.queue], self.attempts_key, self.released_key]
        args = [
            GROUP,
            consumer,
            delivery.job_id,
            attempts,
            RETRY_CONSUMER,
            int(self.lease_seconds * 1000),
            self._now_arg(),
        ]
        return bool(self._call(lambda: self._give_back(keys=keys, args=args)))

    def fail(self, delivery: Delivery, error: str, permanent: bool = False) -> bool:
        consumer, attempts = self._holder(delivery)
        return self._fail_entry(
            delivery.queue, delivery.job_id, consumer, attempts, error, permanent
        )

    def _fail_entry(
        self, queue: str, entry_id: str, consumer: str, token: str, error: str, permanent: bool
    ) -> bool:
        keys = [*self._keys(self.streams[queue]), self.dead_key]
        args = [
            GROUP,
            consumer,
            entry_id,
            token,
            clip_error(error),
            self.max_attempts,
            1 if permanent else 0,
            RETRY_CONSUMER,
            int(self.lease_seconds * 1000),
            int(retry_delay(self.retry_delay, 1) * 1000),
            int(MAX_RETRY_DELAY * 1000),
            self._now_arg(),
        ]
        return self._call(lambda: self._fail(keys=keys, args=args)) == 1

    def release_consumer(self, consumer: str, error: str) -> int:
        released = 0
        for queue, stream in self.streams.items():
            pending = self._call(
                lambda s=stream: self.client.xpending_range(
                    s, GROUP, min="-", max="+", count=1000, consumername=consumer
                )
            )
            for entry in pending:
                entry_id = _text(entry["message_id"])
                self._fail_entry(queue, entry_id, consumer, "", error, permanent=False)
                released += 1
            with contextlib.suppress(QueueError):
                self._call(lambda s=stream: self.client.xgroup_delconsumer(s, GROUP, consumer))
        return released

    def forget_consumer(self, consumer: str) -> None:
        for stream in self.streams.values():
            pending = self._call(
                lambda s=stream: self.client.xpending_range(
                    s, GROUP, min="-", max="+", count=1, consumername=consumer
                )
            )
            if not pending:
                self._call(lambda s=stream: self.client.xgroup_delconsumer(s, GROUP, consumer))

    # -- inspecting -------------------------------------------------------------------------

    def depths(self) -> dict[str, int]:
        def lengths() -> list[int]:
            pipeline = self.client.pipeline(transaction=False)
            for name in QUEUE_NAMES:
                pipeline.xlen(self.streams[name])
            return pipeline.execute()

        return dict(zip(QUEUE_NAMES, self._call(lengths), strict=True))

    def dead_letter_count(self) -> int:
        return int(self._call(lambda: self.client.xlen(self.dead_key)))

    def _dead_entries(self) -> list[tuple[str, dict[str, str]]]:
        entries = self._call(lambda: self.client.xrange(self.dead_key, "-", "+"))
        return [
            (_text(entry_id), {_text(k): _text(v) for k, v in raw.items()})
            for entry_id, raw in entries
        ]

    def dead_letters(self) -> list[DeadLetter]:
        queue_of = {stream: name for name, stream in self.streams.items()}
        letters = []
        for dead_id, fields in self._dead_entries():
            original = _fields(json.loads(fields.get("fields") or "[]") or [])
            letters.append(
                DeadLetter(
                    job_id=dead_id,
                    queue=queue_of.get(fields.get("stream", ""), "?"),
                    crash_id=original.get("crash_id", ""),
                    ruleset=original.get("ruleset", "default"),
                    attempts=int(fields.get("attempts", 0)),
                    error=fields.get("error", ""),
                    enqueued_at=entry_time(fields.get("id", "0-0")),
                    dead_at=entry_time(dead_id),
                )
            )
        return letters

    def _stream_entries(self, stream: str) -> Iterable[tuple[str, dict[str, str]]]:
        """Every entry of a stream, a page at a time (a stream can hold millions)."""
        start = "-"
        while True:
            page = self._call(
                lambda s=start: self.client.xrange(stream, min=s, max="+", count=PAGE)
            )
            for entry_id, raw in page:
                yield _text(entry_id), {_text(k): _text(v) for k, v in raw.items()}
            if len(page) < PAGE:
                return
            start = "(" + _text(page[-1][0])

    def crash_ids(self) -> set[str]:
        # An entry stays in its stream until it is acked (then deleted), so the streams hold
        # the ready, leased and retry-waiting crashes alike.
        found = set()
        for stream in self.streams.values():
            for _, fields in self._stream_entries(stream):
                found.add(fields.get("crash_id", ""))
        for _, fields in self._stream_entries(self.dead_key):
            original = _fields(json.loads(fields.get("fields") or "[]") or [])
            found.add(original.get("crash_id", ""))
        found.discard("")
        return found

    def requeue_dead_letters(self, job_ids: Iterable[str] | None = None) -> int:
        wanted = None if job_ids is None else set(job_ids)
        count = 0
        for letter in self.dead_letters():
            if wanted is not None and letter.job_id not in wanted:
                continue
            stream = self.streams[letter.queue]

            def move(letter: DeadLetter = letter, stream: str = stream) -> None:
                pipeline = self.client.pipeline(transaction=True)
                pipeline.xadd(stream, {"crash_id": letter.crash_id, "ruleset": letter.ruleset})
                pipeline.xdel(self.dead_key, letter.job_id)
                pipeline.execute()

            self._call(move)
            count += 1
        return count

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.close()
