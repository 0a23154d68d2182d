"""``crashproc queue``: depths, the dead-letter list, and retrying dead letters."""

from __future__ import annotations

import io

import pytest

from processor.cli import run
from processor.queues import open_queue

IDS = [f"{i:08x}-0000-4000-8000-000000260918" for i in range(3)]


@pytest.fixture
def queue_url(tmp_path):
    url = f"sqlite:{tmp_path / 'queue.sqlite'}"
    queue = open_queue(url, max_attempts=1)
    queue.publish("standard", IDS)
    queue.publish("reprocessing", IDS[:1], ruleset="regenerate_signature")
    queue.fail(queue.claim("w"), "worker died: killed by SIGSEGV")
    queue.fail(queue.claim("w"), "raw crash not found in storage", permanent=True)
    return url


def crashproc(*argv):
    out = io.StringIO()
    code = run(list(argv), out=out)
    return code, out.getvalue()


def test_status(queue_url):
    code, out = crashproc("queue", "status", "--queue", queue_url)
    assert code == 0
    assert out == "priority\t0\nstandard\t1\nreprocessing\t1\ndead letters\t2\n"


def test_dead_letters_and_retry(queue_url, capsys):
    code, out = crashproc("queue", "dead", "--queue", queue_url)
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in rows] == [
        ("standard", IDS[0], "default", "1", "worker died: killed by SIGSEGV"),
        ("standard", IDS[1], "default", "1", "raw crash not found in storage"),
    ]
    assert all(r[5].endswith("+00:00") for r in rows)

    code, out = crashproc("queue", "retry", "--queue", queue_url, rows[0][0], "999999", "x-1")
    assert code == 1
    assert out == "requeued 1 dead-lettered crash(es)\n"
    assert "2 job id(s) were not in the dead-letter list" in capsys.readouterr().err
    code, out = crashproc("queue", "retry", "--queue", queue_url, "--all")
    assert (code, out) == (0, "requeued 1 dead-lettered crash(es)\n")
    queue = open_queue(queue_url)
    assert queue.dead_letters() == []
    assert queue.depths()["standard"] == 3


def test_retry_needs_ids_or_all(queue_url, capsys):
    code, _ = crashproc("queue", "retry", "--queue", queue_url)
    assert code == 2
    assert "give dead-letter job ids or --all" in capsys.readouterr().err
