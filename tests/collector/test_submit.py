"""POST /submit over real HTTP, with the layouts Breakpad, Crashpad and Firefox send."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess

import requests

from processor.crashid import crash_id_problem
from tests.collector.conftest import crash_id_of, gzipped, multipart, sample
from tests.conftest import missing


def test_breakpad_layout_with_requests(collector):
    annotations, dumps = sample("linux-amd64")
    r = requests.post(
        collector.url + "/submit",
        data=annotations,
        files={"upload_file_minidump": ("minidump.dmp", dumps["upload_file_minidump"])},
        headers={"User-Agent": "Breakpad/1.0 (Linux)"},
        timeout=30,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    crash_id = crash_id_of(r.text)
    assert crash_id_problem(crash_id) is None
    assert collector.stored() == [crash_id] and collector.queued() == 1
    raw = collector.raw_crash(crash_id)
    assert {k: raw[k] for k in annotations} == annotations
    assert raw["uuid"] == crash_id and raw["version"] == 2
    metadata = raw["metadata"]
    digest = hashlib.sha256(dumps["upload_file_minidump"]).hexdigest()
    assert metadata["dump_checksums"] == {"upload_file_minidump": digest}
    assert metadata["dump_sizes"] == {"upload_file_minidump": len(dumps["upload_file_minidump"])}
    assert (metadata["payload"], metadata["payload_compressed"]) == ("multipart", "0")
    assert metadata["user_agent"] == "Breakpad/1.0 (Linux)"
    assert metadata["throttle_rule"] == "accept_everything"


def test_crashpad_layout_gzip(collector):
    annotations, dumps = sample("crashpad-macos")
    body, content_type = multipart(
        sorted(annotations.items()),
        [("upload_file_minidump", "e2f0a3b1.dmp", dumps["upload_file_minidump"])],
    )
    compressed = gzipped(body)
    r = requests.post(
        collector.url + "/submit",
        data=compressed,
        headers={"Content-Type": content_type, "Content-Encoding": "gzip"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    raw = collector.raw_crash(crash_id_of(r.text))
    assert raw["metadata"]["payload_compressed"] == "1"
    assert raw["metadata"]["payload_size"] == len(compressed)
    assert {k: raw[k] for k in annotations} == annotations


def test_firefox_layout_extra_json_and_several_dumps(collector):
    annotations, dumps = sample("oom-with-memory-report")
    client_id = "de1bb258-cbbf-4589-a673-34f800260918"
    body, content_type = multipart(
        [],
        [(name, f"{name}.dmp", data) for name, data in dumps.items()],
        extra_json={**annotations, "uuid": client_id},
    )
    r = requests.post(
        collector.url + "/submit", data=body, headers={"Content-Type": content_type}, timeout=30
    )
    assert r.text == f"CrashID=bp-{client_id}\n"  # a client's crash id is kept
    raw = collector.raw_crash(client_id)
    assert raw["metadata"]["payload"] == "json"
    assert sorted(raw["metadata"]["dump_checksums"]) == sorted(dumps)
    assert {k: raw[k] for k in annotations} == annotations


def test_curl_form(collector, tmp_path):
    if shutil.which("curl") is None:
        missing("curl is not installed (apt-get install -y curl)")
    _, dumps = sample("windows-x86-test-app")
    dump = tmp_path / "minidump.dmp"
    dump.write_bytes(dumps["upload_file_minidump"])
    out = subprocess.run(
        [
            "curl", "-sS", "--fail-with-body",
            "-F", "ProductName=TestApp",
            "-F", "Version=1.0",
            "-F", f"upload_file_minidump=@{dump}",
            collector.url + "/submit",
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    raw = collector.raw_crash(crash_id_of(out.stdout))
    assert (raw["ProductName"], raw["Version"]) == ("TestApp", "1.0")
    assert raw["metadata"]["user_agent"].startswith("curl/")


def test_queue_down_still_stores_and_answers_then_requeue_stored_queues(collector):
    from processor.cli import run
    from processor.queues import QueueError

    def down():
        raise QueueError("queue unreachable")

    collector.collector.open_queue = down
    r = requests.post(
        collector.url + "/submit",
        data={"ProductName": "Test"},
        files={"upload_file_minidump": ("m.dmp", b"MDMP")},
        timeout=30,
    )
    crash_id = crash_id_of(r.text)
    assert collector.stored() == [crash_id] and collector.queued() == 0
    # The command an operator runs (the daemon runs the same sweep at start).
    argv = ["queue", "requeue-stored", "--storage", collector.storage_url,
            "--queue", collector.queue_url]  # fmt: skip
    out = io.StringIO()
    assert run(argv, out=out) == 0 and out.getvalue().split() == [crash_id]
    assert collector.queued() == 1
    out = io.StringIO()  # once queued, a second sweep leaves it alone
    assert run(["queue", "reconcile", *argv[2:]], out=out) == 0 and out.getvalue() == ""
    assert collector.queued() == 1


def test_heartbeats_and_version(collector):
    assert requests.get(collector.url + "/__lbheartbeat__", timeout=10).status_code == 200
    r = requests.get(collector.url + "/__heartbeat__", timeout=10)
    assert r.status_code == 200 and r.json()["checks"] == {"storage": "ok"}
    assert requests.get(collector.url + "/__version__", timeout=10).json()["service"] == "collector"
