"""Queue semantics every backend must have: priority, leases, retries, dead letters."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from processor.crashid import InvalidCrashId
from processor.queues import PRIORITY, REPROCESSING, STANDARD, QueueError, open_queue
from processor.queues.base import LEASE_EXPIRED_ERROR


def ids(n: int, day: str = "260918") -> list[str]:
    return [f"{i:08x}-0000-4000-8000-000000{day}" for i in range(n)]


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def drain(queue, consumer="c"):
    claimed = []
    while (delivery := queue.claim(consumer)) is not None:
        claimed.append(delivery)
        assert queue.ack(delivery)
    return claimed


def test_priority_then_standard_then_reprocessing_each_in_order(queue_url):
    queue = open_queue(queue_url)
    a, b, c, d, e, f = ids(6)
    queue.publish(REPROCESSING, [a, b], ruleset="regenerate_signature")
    queue.publish(STANDARD, [c, d])
    queue.publish(PRIORITY, [e])
    queue.publish(STANDARD, [f])
    assert queue.depths() == {PRIORITY: 1, STANDARD: 3, REPROCESSING: 2}
    claimed = drain(queue)
    assert [(d.queue, d.crash_id) for d in claimed] == [
        (PRIORITY, e),
        (STANDARD, c),
        (STANDARD, d),
        (STANDARD, f),
        (REPROCESSING, a),
        (REPROCESSING, b),
    ]
    assert [d.ruleset for d in claimed] == ["default"] * 4 + ["regenerate_signature"] * 2
    assert all(d.attempts == 1 and d.last_error is None for d in claimed)
    assert queue.depths() == {PRIORITY: 0, STANDARD: 0, REPROCESSING: 0}
    assert queue.claim("c") is None


def test_priority_published_later_still_goes_first(queue_url):
    queue = open_queue(queue_url)
    standard, urgent = ids(2)
    queue.publish(STANDARD, [standard])
    queue.publish(PRIORITY, [urgent])
    assert queue.claim("c").crash_id == urgent


def test_a_leased_crash_is_not_delivered_twice_until_its_lease_runs_out(queue_url, clock):
    queue = open_queue(queue_url, lease_seconds=60, clock=clock)
    (crash_id,) = ids(1)
    queue.publish(STANDARD, [crash_id])
    first = queue.claim("worker-a")
    assert first.crash_id == crash_id
    assert queue.claim("worker-b") is None
    clock.advance(59.5)
    assert queue.claim("worker-b") is None, "the lease has half a second left"
    clock.advance(1.0)
    second = queue.claim("worker-b")
    assert second.crash_id == crash_id
    assert second.attempts == 2
    assert second.last_error == LEASE_EXPIRED_ERROR
    # The first holder lost its lease: it can neither renew nor ack any more.
    assert not queue.renew(first)
    assert not queue.ack(first)
    assert queue.ack(second)
    assert queue.pending() == 0


def test_a_lease_runs_out_by_the_default_clock_too(queue_url):
    # The one lease test on real time (the server's clock for Redis): one second of margin.
    queue = open_queue(queue_url, lease_seconds=1.0)
    (crash_id,) = ids(1)
    queue.publish(STANDARD, [crash_id])
    queue.claim("worker-a")
    assert queue.claim("worker-b") is None
    second = wait_until(lambda: queue.claim("worker-b"), timeout=30)
    assert (second.crash_id, second.attempts, second.last_error) == (
        crash_id,
        2,
        LEASE_EXPIRED_ERROR,
    )


def test_renewing_keeps_the_lease(queue_url, clock):
    queue = open_queue(queue_url, lease_seconds=60, clock=clock)
    queue.publish(STANDARD, ids(1))
    delivery = queue.claim("worker-a")
    for _ in range(5):  # 200 s in all, more than three leases
        clock.advance(40)
        assert queue.renew(delivery)
        assert queue.claim("worker-b") is None
    clock.advance(59)
    assert queue.claim("worker-b") is None, "the last renewal counts from its own time"
    clock.advance(2)
    assert queue.claim("worker-b").crash_id == delivery.crash_id
    assert not queue.renew(delivery)


def test_failures_are_retried_after_a_delay_then_dead_lettered(queue_url, clock):
    queue = open_queue(queue_url, max_attempts=3, retry_delay=10, clock=clock)
    (crash_id,) = ids(1)
    queue.publish(STANDARD, [crash_id])
    # The first retry waits the retry delay, the second twice as long.
    for attempt, delay in ((1, 10), (2, 20)):
        delivery = queue.claim("c")
        assert delivery.attempts == attempt
        assert queue.fail(delivery, f"saving: OSError (try {attempt})") is False
        assert queue.depths()[STANDARD] == 1
        clock.advance(delay - 0.5)
        assert queue.claim("c") is None, f"retry {attempt} waits {delay} s"
        clock.advance(1.0)
    delivery = queue.claim("c")
    assert delivery.attempts == 3
    assert delivery.last_error == "saving: OSError (try 2)"
    assert queue.fail(delivery, "saving: OSError (try 3)") is True
    assert queue.pending() == 0
    (dead,) = queue.dead_letters()
    assert (dead.crash_id, dead.queue, dead.attempts, dead.error) == (
        crash_id,
        STANDARD,
        3,
        "saving: OSError (try 3)",
    )


def test_a_given_back_crash_is_claimable_at_once_without_counting(queue_url, clock):
    queue = open_queue(queue_url, lease_seconds=60, clock=clock)
    (crash_id,) = ids(1)
    queue.publish(STANDARD, [crash_id])
    delivery = queue.claim("stopping")
    assert queue.give_back(delivery)
    again = queue.claim("other")
    assert (again.crash_id, again.attempts, again.last_error) == (crash_id, 1, None)
    assert not queue.ack(delivery)
    assert queue.ack(again)


def test_a_permanent_failure_is_dead_lettered_at_once(queue_url):
    queue = open_queue(queue_url, max_attempts=5)
    queue.publish(REPROCESSING, ids(1), ruleset="no_such_ruleset")
    delivery = queue.claim("c")
    assert queue.fail(delivery, "unknown ruleset", permanent=True) is True
    (dead,) = queue.dead_letters()
    assert (dead.attempts, dead.error, dead.ruleset) == (1, "unknown ruleset", "no_such_ruleset")


def test_a_crash_whose_worker_keeps_dying_is_dead_lettered(queue_url, clock):
    # A worker killed mid-crash never acks or fails: only its lease running out tells.
    queue = open_queue(queue_url, lease_seconds=60, max_attempts=2, clock=clock)
    poison, healthy = ids(2)
    queue.publish(STANDARD, [poison, healthy])
    assert queue.claim("doomed-1").crash_id == poison
    other = queue.claim("ok")
    assert other.crash_id == healthy
    assert queue.ack(other)
    clock.advance(61)
    retried = queue.claim("doomed-2")
    assert (retried.crash_id, retried.attempts) == (poison, 2)
    clock.advance(61)
    assert queue.claim("c") is None, "the poison crash must not come back"
    assert queue.pending() == 0
    (dead,) = queue.dead_letters()
    assert (dead.crash_id, dead.attempts, dead.error) == (poison, 2, LEASE_EXPIRED_ERROR)


def test_releasing_a_dead_consumer_fails_its_leases(queue_url):
    queue = open_queue(queue_url, lease_seconds=60, max_attempts=2, retry_delay=0)
    first, second, other = ids(3)
    queue.publish(STANDARD, [first, second, other])
    queue.claim("worker-1")
    queue.claim("worker-1")
    kept = queue.claim("worker-2")
    assert queue.release_consumer("worker-1", "worker died: killed by SIGKILL") == 2
    again = [queue.claim("worker-3"), queue.claim("worker-3")]
    assert sorted(d.crash_id for d in again) == [first, second]
    assert all(d.last_error == "worker died: killed by SIGKILL" for d in again)
    assert queue.ack(kept), "another consumer's lease is untouched"
    assert queue.release_consumer("worker-3", "worker died: killed by SIGSEGV") == 2
    assert sorted((d.crash_id, d.error) for d in queue.dead_letters()) == [
        (first, "worker died: killed by SIGSEGV"),
        (second, "worker died: killed by SIGSEGV"),
    ]


def test_dead_letters_can_be_requeued(queue_url):
    queue = open_queue(queue_url, max_attempts=1)
    a, b = ids(2)
    queue.publish(PRIORITY, [a, b])
    queue.fail(queue.claim("c"), "boom")
    queue.fail(queue.claim("c"), "boom")
    first_dead = queue.dead_letters()[0]
    assert queue.requeue_dead_letters([first_dead.job_id]) == 1
    assert [d.crash_id for d in queue.dead_letters()] == [b]
    again = queue.claim("c")
    assert (again.crash_id, again.queue, again.attempts) == (a, PRIORITY, 1)
    assert queue.requeue_dead_letters() == 1
    assert queue.dead_letters() == []


def test_publish_refuses_a_bad_batch_whole(queue_url):
    queue = open_queue(queue_url)
    with pytest.raises(InvalidCrashId):
        queue.publish(STANDARD, [*ids(2), "../../etc/passwd"])
    with pytest.raises(QueueError, match="unknown queue 'urgent'"):
        queue.publish("urgent", ids(1))
    with pytest.raises(QueueError, match="invalid ruleset name"):
        queue.publish(STANDARD, ids(1), ruleset="x; DROP TABLE jobs")
    assert queue.pending() == 0


def test_published_crashes_survive_reopening(queue_url):
    queue = open_queue(queue_url)
    queue.publish(STANDARD, ids(3))
    leased = queue.claim("c")
    queue.close()
    reopened = open_queue(queue_url)
    assert reopened.depths()[STANDARD] == 3
    assert reopened.ack(leased), "a lease outlives the connection that took it"
    assert len(drain(reopened)) == 2


def _claim_all(url: str, consumer: str, results) -> None:
    queue = open_queue(url)
    claimed = []
    while (delivery := queue.claim(consumer)) is not None:
        claimed.append(delivery.crash_id)
        queue.ack(delivery)
    results.put(claimed)


def test_concurrent_consumers_in_processes_each_crash_delivered_once(queue_url):
    queue = open_queue(queue_url)
    published = ids(300)
    queue.publish(STANDARD, published)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(queue_url, f"w{i}", results)) for i in range(4)
    ]
    for worker in workers:
        worker.start()
    claimed = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    everything = [crash_id for part in claimed for crash_id in part]
    assert sorted(everything) == sorted(published)
    assert queue.pending() == 0
