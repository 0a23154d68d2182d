"""``crashproc submit``: crash directories stored and queued like a collector would."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from processor.cli import run
from processor.queues import open_queue
from processor.storage import open_storage

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "examples" / "crashes"


def submit(tmp_path, *argv, capsys=None):
    out = io.StringIO()
    code = run(
        [
            "submit",
            "--storage",
            str(tmp_path / "crashes"),
            "--queue",
            f"sqlite:{tmp_path / 'queue.sqlite'}",
            *map(str, argv),
        ],
        out=out,
    )
    return code, out.getvalue().split()


def test_submit_stores_and_queues_each_crash(tmp_path):
    samples = [SAMPLES / "linux-amd64", SAMPLES / "oom-with-memory-report"]
    code, ids = submit(tmp_path, *samples)
    assert code == 0
    expected = [json.loads((d / "raw_crash.json").read_text())["uuid"] for d in samples]
    assert ids == expected
    storage = open_storage(str(tmp_path / "crashes"))
    assert sorted(storage.list_crash_ids()) == sorted(expected)
    assert storage.load_dump_names(expected[1]) == ["memory_report", "upload_file_minidump"]
    queue = open_queue(f"sqlite:{tmp_path / 'queue.sqlite'}")
    assert queue.depths() == {"priority": 0, "standard": 2, "reprocessing": 0}
    assert [queue.claim("c").crash_id for _ in ids] == expected


def test_priority_flag(tmp_path):
    code, ids = submit(tmp_path, "--priority", SAMPLES / "linux-amd64")
    assert code == 0
    queue = open_queue(f"sqlite:{tmp_path / 'queue.sqlite'}")
    delivery = queue.claim("c")
    assert (delivery.queue, delivery.crash_id) == ("priority", ids[0])


def test_bad_directories_are_reported_and_the_rest_submitted(tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "raw_crash.json").write_text("{not json")
    code, ids = submit(tmp_path, broken, tmp_path / "missing", SAMPLES / "linux-amd64")
    assert code == 1
    assert len(ids) == 1
    err = capsys.readouterr().err
    assert f"{broken}/raw_crash.json: not valid JSON" in err
    assert f"{tmp_path / 'missing'}: not a crash directory" in err
    assert "submitted 1 crash(es) to the standard queue" in err


def test_loader_notes_become_collector_notes(tmp_path):
    directory = tmp_path / "handmade"
    shutil.copytree(SAMPLES / "no-minidump", directory)
    (directory / "stray file.txt").write_text("x")
    code, (crash_id,) = submit(tmp_path, directory)
    assert code == 0
    raw_crash = open_storage(str(tmp_path / "crashes")).load_raw_crash(crash_id)
    assert raw_crash["uuid"] == crash_id
    assert raw_crash["metadata"]["collector_notes"][-2:] == [
        "crash id assigned: the raw crash had no uuid",
        "ignored file 'stray file.txt': not a dump form-field name",
    ]


def test_unusable_storage_or_queue_urls_are_usage_errors(tmp_path, capsys):
    out = io.StringIO()
    code = run(
        [
            "submit",
            "--queue",
            "amqp://h/",
            "--storage",
            str(tmp_path),
            str(SAMPLES / "linux-amd64"),
        ],
        out=out,
    )
    assert code == 2
    assert "unsupported URL scheme 'amqp'" in capsys.readouterr().err
    code = run(["submit", "--storage", "ftp://h/x", str(SAMPLES / "linux-amd64")], out=out)
    assert code == 2
    assert "unsupported URL scheme 'ftp'" in capsys.readouterr().err
