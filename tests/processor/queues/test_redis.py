"""The Redis Streams backend's own promises: URLs without secrets, surviving Redis restarts."""

from __future__ import annotations

import time

import pytest
import redis

from processor.queues import STANDARD, QueueError, open_queue
from processor.queues.redis_streams import GROUP, split_url

IDS = [f"{i:08x}-0000-4000-8000-000000260918" for i in range(3)]


def test_url_parts_and_a_description_without_the_password():
    client_url, prefix, shown = split_url("redis://:s3cret@db.example:6380/2?prefix=site-a")
    assert client_url == "redis://:s3cret@db.example:6380/2"
    assert prefix == "site-a"
    assert shown == "redis://db.example:6380/2"
    assert split_url("redis://localhost")[1:] == ("crashproc", "redis://localhost:6379/0")
    with pytest.raises(QueueError, match="prefix may hold"):
        split_url("redis://localhost/0?prefix=a b")


def test_redis_down_is_a_clear_error_without_the_password(redis_tools):
    port = redis_tools.free_port()
    with pytest.raises(QueueError) as info:
        open_queue(f"redis://:s3cret@127.0.0.1:{port}/0")
    message = str(info.value)
    assert f"redis redis://127.0.0.1:{port}/0 (prefix crashproc): ConnectionError" in message
    assert "s3cret" not in message


def test_the_queue_and_its_leases_survive_a_redis_restart(own_redis_server):
    queue = open_queue(own_redis_server.url, lease_seconds=30)
    queue.publish(STANDARD, IDS)
    leased = queue.claim("worker-a")
    own_redis_server.restart(kill=True)  # SIGKILL: only what was written to the append-only file
    assert queue.depths()[STANDARD] == 3
    assert queue.renew(leased)
    assert queue.ack(leased)
    assert [queue.claim("worker-b").crash_id for _ in range(2)] == IDS[1:]


def test_a_lost_consumer_group_is_recreated(own_redis_server):
    queue = open_queue(own_redis_server.url)
    queue.publish(STANDARD, IDS[:1])
    client = redis.Redis.from_url(own_redis_server.url)
    client.xgroup_destroy(queue.streams[STANDARD], GROUP)
    delivery = queue.claim("worker")
    assert delivery.crash_id == IDS[0]
    assert queue.ack(delivery)


def test_prefixes_keep_queues_apart(redis_server):
    first = open_queue(f"{redis_server.url}?prefix=apart-a")
    second = open_queue(f"{redis_server.url}?prefix=apart-b")
    first.publish(STANDARD, IDS[:1])
    assert second.claim("c") is None
    assert first.claim("c").crash_id == IDS[0]


def test_a_dead_consumer_is_forgotten_once_released(redis_server):
    queue = open_queue(f"{redis_server.url}?prefix=forget", retry_delay=0)
    queue.publish(STANDARD, IDS[:1])
    queue.claim("doomed")
    assert queue.release_consumer("doomed", "worker died: killed by SIGKILL") == 1
    consumers = queue.client.xinfo_consumers(queue.streams[STANDARD], GROUP)
    assert [c["name"] for c in consumers if c["name"] in (b"doomed", "doomed")] == []
    again = queue.claim("next")
    assert (again.crash_id, again.last_error) == (IDS[0], "worker died: killed by SIGKILL")


def test_a_stopping_consumer_is_forgotten_unless_it_holds_crashes(redis_server):
    queue = open_queue(f"{redis_server.url}?prefix=stopping")
    queue.publish(STANDARD, IDS[:1])
    held = queue.claim("busy")
    assert queue.claim("idle") is None  # the group now knows "idle" too
    queue.forget_consumer("idle")
    queue.forget_consumer("busy")
    names = {
        c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
        for c in queue.client.xinfo_consumers(queue.streams[STANDARD], GROUP)
    }
    assert names == {"busy"}, "a consumer holding a crash keeps it"
    assert queue.ack(held)


def test_a_clock_ahead_of_the_server_by_a_lease_is_refused(redis_server):
    # Delivery times set in the server's future would be clamped to its now by XCLAIM, so such
    # a clock cannot express leases: the claim says so instead of expiring them early or never.
    ahead = open_queue(
        f"{redis_server.url}?prefix=ahead", lease_seconds=60, clock=lambda: time.time() + 3600
    )
    ahead.publish(STANDARD, IDS[:1])
    with pytest.raises(QueueError, match="queue clock runs ahead of the Redis server clock"):
        ahead.claim("c")
    slightly = open_queue(
        f"{redis_server.url}?prefix=ahead", lease_seconds=60, clock=lambda: time.time() + 30
    )
    assert slightly.claim("c").crash_id == IDS[0]
