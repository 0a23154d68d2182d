"""Issue 18: a Redis without persistence lost 392 of 560 queued crashes, silently.

Against real redis-servers: one without an append-only file (redis-server's defaults), one
with ``appendfsync everysec``. The queue refuses the first unless told otherwise, warns about
the second; a lost consumer group is logged at ERROR and counted; ``crashproc queue
reconcile`` (and the daemon, at start and periodically) queues the lost crashes again.
"""

from __future__ import annotations

import logging

import pytest

from processor.queues import STANDARD, QueueError, open_queue

IDS = [f"{i:08x}-0000-4000-8000-000000260918" for i in range(3)]


def test_a_server_without_an_append_only_file_is_refused(volatile_redis):
    with pytest.raises(QueueError) as info:
        open_queue(volatile_redis.url)
    message = str(info.value)
    assert "appendonly yes" in message
    assert "appendfsync always" in message
    assert "queue.allow_volatile_redis" in message
    assert "CRASHPROC_QUEUE_ALLOW_VOLATILE_REDIS" in message


def test_the_setting_allows_it_with_a_warning(volatile_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="processor.queues.redis_streams"):
        queue = open_queue(volatile_redis.url, allow_volatile_redis=True)
    queue.publish(STANDARD, IDS[:1])
    assert queue.claim("w").crash_id == IDS[0]
    assert "no append-only file" in caplog.text
    queue.close()


def test_everysec_is_used_with_a_warning(everysec_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="processor.queues.redis_streams"):
        queue = open_queue(everysec_redis.url)
    assert "'appendfsync everysec'" in caplog.text
    assert "appendfsync always" in caplog.text
    queue.close()


def test_a_fully_persistent_server_is_used_quietly(persistent_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="processor.queues.redis_streams"):
        open_queue(persistent_redis.url).close()
    assert caplog.text == ""


def test_commands_refuse_a_volatile_server_and_the_setting_lets_them(make_site, volatile_redis):
    site = make_site(volatile_redis.url)
    ((directory, crash_id),) = site.crashes(1)
    refused = site.crashproc("submit", str(directory))
    assert refused.returncode == 2
    assert "appendonly yes" in refused.stderr
    allowed = site.crashproc("submit", str(directory), CRASHPROC_QUEUE_ALLOW_VOLATILE_REDIS="1")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.split() == [crash_id]


def test_a_lost_group_is_logged_at_error_and_counted(volatile_redis, caplog):
    queue = open_queue(volatile_redis.url, allow_volatile_redis=True)
    queue.publish(STANDARD, IDS)
    volatile_redis.restart(kill=True)  # everything queued is gone
    with caplog.at_level(logging.INFO):
        assert queue.claim("w") is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "had vanished and were recreated" in errors[0].getMessage()
    assert "crashproc queue reconcile" in errors[0].getMessage()
    queue.close()


def test_reconcile_queues_again_what_a_restart_lost(make_site, volatile_redis):
    site = make_site(volatile_redis.url)
    site.extra_env["CRASHPROC_QUEUE_ALLOW_VOLATILE_REDIS"] = "1"
    crashes = site.crashes(6)
    submitted = site.submit([directory for directory, _ in crashes])
    done = site.crashproc("daemon", "--once", CRASHPROC_WORKERS="1")
    assert done.returncode == 0, done.stderr
    assert site.processed_ids() == sorted(submitted)

    more = site.crashes(5)
    lost = site.submit([directory for directory, _ in more])
    dead = site.crashes(1)
    dead_ids = site.submit([directory for directory, _ in dead])
    volatile_redis.restart(kill=True)
    assert "standard\t0" in site.crashproc("queue", "status").stdout
    # A crash that is dead-lettered waits for an operator: reconcile leaves it alone.
    queue = open_queue(volatile_redis.url, allow_volatile_redis=True)
    queue.publish(STANDARD, dead_ids)
    delivery = queue.claim("x")
    assert queue.fail(delivery, "poison", permanent=True)

    dry = site.crashproc("queue", "reconcile", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert sorted(dry.stdout.split()) == sorted(lost)
    assert "would queue 5 again" in dry.stderr
    assert "standard\t0" in site.crashproc("queue", "status").stdout

    again = site.crashproc("queue", "reconcile", "--since", "2026-09-18")
    assert again.returncode == 0, again.stderr
    assert sorted(again.stdout.split()) == sorted(lost)
    assert "6 processed, 1 queued or dead-lettered; queued 5 again" in again.stderr
    # Nothing is queued twice by a second reconcile, and nothing before --since is looked at.
    assert site.crashproc("queue", "reconcile").stdout == ""
    assert "checked 0" in site.crashproc("queue", "reconcile", "--since", "2026-09-19").stderr

    done = site.crashproc("daemon", "--once", CRASHPROC_WORKERS="1")
    assert done.returncode == 0, done.stderr
    assert site.processed_ids() == sorted(submitted + lost)


@pytest.mark.slow
def test_kill_9_of_redis_mid_run_loses_nothing(make_site, volatile_redis):
    """The review's scenario: Redis killed and restarted while the daemon works through a
    backlog; the daemon notices the lost group (ERROR, metric) and its periodic reconcile
    queues the lost crashes again: every submitted crash is processed."""
    site = make_site(volatile_redis.url)
    site.extra_env.update(
        {
            "CRASHPROC_QUEUE_ALLOW_VOLATILE_REDIS": "1",
            "CRASHPROC_DAEMON_HOUSEKEEPING_INTERVAL": "1",
            # The test crashes are dated 2026-09-18 (see make_crash_dir).
            "CRASHPROC_DAEMON_RECONCILE_DAYS": "3650",
            "CRASHPROC_METRICS": "logging",
        }
    )
    crashes = site.crashes(40, SleepSeconds="0.1")
    submitted = site.submit([directory for directory, _ in crashes])
    daemon = site.start_daemon(verbose=True)
    site.wait_for(lambda: len(site.processed_ids()) >= 5, what="some crashes processed")
    volatile_redis.restart(kill=True)
    try:
        site.wait_for(
            lambda: len(site.processed_ids()) == len(submitted), timeout=60, what="every crash"
        )
    except AssertionError:
        raise AssertionError(daemon.output()[-6000:]) from None
    daemon.process.terminate()
    daemon.wait()
    log = daemon.output()
    assert "had vanished and were recreated" in log
    assert "processor.queue.group_recreated" in log
    assert "queued them again" in log
    assert site.processed_ids() == sorted(submitted)
