"""Issue 18: SIGTERM while a worker waited on a symbols server that never answers took 76.5 s
(and could take up to the 900 s job timeout). Now the crash in hand gets
``daemon.shutdown_grace`` seconds, then its download is cut short and the crash goes back to
its queue with its attempt uncounted; the daemon is gone soon after.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest

from processor.queues import STANDARD, open_queue
from tests.conftest import REPO
from tests.scripted_http import url_of

SAMPLE = REPO / "examples" / "crashes" / "no-debug-id"
# What the built-in stackwalker asks a symbols server for this sample's module.
PROBE = "/test_app.exe/45D35F6C2D000/test_app.exe.sym"
GRACE = 2.0
# The grace, the daemon's kill margin (5 s) and room for a loaded machine: far below the 300 s
# download deadline the worker would otherwise wait out.
STOPPED_WITHIN = GRACE + 5.0 + 8.0
IDS = [f"{i:08x}-0000-4000-8000-000000260918" for i in range(2)]


def sample_crash(parent: Path) -> Path:
    target = parent / "no-debug-id"
    target.mkdir(parents=True)
    shutil.copyfile(SAMPLE / "upload_file_minidump", target / "upload_file_minidump")
    raw_crash = json.loads((SAMPLE / "raw_crash.json").read_text())
    raw_crash["uuid"] = str(uuid.uuid4())[:-7] + "0260918"
    (target / "raw_crash.json").write_text(json.dumps(raw_crash))
    return target


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'queue.sqlite'}"
    return request.getfixturevalue("persistent_redis").url


def test_a_crash_given_back_keeps_its_attempts(queue_url):
    queue = open_queue(queue_url, lease_seconds=30, max_attempts=2)
    queue.publish(STANDARD, IDS[:1])
    first = queue.claim("stopping-worker")
    assert first.attempts == 1
    assert queue.give_back(first)
    assert not queue.ack(first), "the lease went with it"
    for _ in range(3):  # given back again and again: never dead-lettered
        again = queue.claim("next-worker")
        assert (again.crash_id, again.attempts, again.last_error) == (IDS[0], 1, None)
        assert queue.give_back(again)
    assert queue.dead_letters() == []
    assert queue.ack(queue.claim("last"))
    assert queue.pending() == 0


def stop_while_waiting_on_a_silent_server(make_site, scripted, **settings):
    """One crash submitted, a one-worker daemon looking its symbols up on a server that never
    answers, SIGTERM once the worker waits on it: the site, the crash ids, the daemon (exited
    with status 0) and the seconds it took to stop. ``settings`` are CRASHPROC_* variables."""
    release = threading.Event()
    silent = scripted(lambda handler: release.wait(120))
    site = make_site()
    try:
        ids = site.submit([sample_crash(site.root / "incoming")])
        daemon = site.start_daemon(
            "--workers",
            "1",
            "--stackwalker",
            "builtin",
            "--symbols-url",
            url_of(silent),
            "--symbols-cache",
            str(site.root / "symbols-cache"),
            CRASHPROC_QUEUE_LEASE="60",
            **settings,
        )
        site.wait_for(lambda: PROBE in silent.hits, what="the worker waiting on the server")
        started = time.monotonic()
        daemon.process.terminate()
        assert daemon.wait(timeout=60) == 0, daemon.output()
        return site, ids, daemon, time.monotonic() - started
    finally:
        release.set()


def test_sigterm_cuts_a_silent_symbols_download_short(make_site, scripted):
    site, ids, daemon, elapsed = stop_while_waiting_on_a_silent_server(
        make_site, scripted, CRASHPROC_DAEMON_SHUTDOWN_GRACE=str(GRACE)
    )
    log = daemon.output()
    assert elapsed < STOPPED_WITHIN, f"{elapsed:.1f} s\n{log}"
    assert "stop grace over: given back to its queue unprocessed" in log
    assert "killing them" not in log
    assert site.processed_ids() == []
    queue = open_queue(site.queue_url)
    assert queue.dead_letters() == []
    delivery = queue.claim("next")
    assert (delivery.crash_id, delivery.attempts, delivery.last_error) == (ids[0], 1, None)
