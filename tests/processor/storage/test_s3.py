"""The S3 backend against moto's server (the stand-in for S3, which these machines cannot reach):
URLs, the layout in the bucket, clear errors, and the daemon processing from S3."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from processor.crashdir import load_crash_dir
from processor.storage import StorageError, open_object_store, open_storage, stored_outputs
from processor.storage.objectstore import KeyNotFound
from processor.storage.s3 import FETCH_ATTEMPTS, S3ObjectStore
from tests.public_copy import assert_public_copy_hides_protected

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "crashes" / "oom-with-memory-report"
STORED_OUTPUT = REPO / "tests" / "processor" / "daemon" / "data" / "upload_file_minidump.json"


@pytest.fixture
def sample(tmp_path) -> Path:
    """The OOM example with a stored stackwalker output beside its minidump."""
    target = tmp_path / "sample"
    shutil.copytree(SAMPLE, target)
    shutil.copyfile(STORED_OUTPUT, target / "upload_file_minidump.json")
    return target


@pytest.mark.parametrize(
    "url, bucket, prefix",
    [
        ("s3://crashes/prod/v", "crashes", "prod/v"),
        ("s3://crashes/prod/", "crashes", "prod"),
        ("s3://crashes", "crashes", ""),
    ],
)
def test_s3_urls(url, bucket, prefix, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_object_store(url, s3_endpoint_url="http://127.0.0.1:9")
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == (
        bucket,
        prefix,
        "http://127.0.0.1:9",
    )


def test_the_layout_in_the_bucket(s3_server, s3_bucket, sample):
    storage = open_storage(f"s3://{s3_bucket}/site", s3_endpoint_url=s3_server)
    crash = load_crash_dir(sample)
    crash_id = crash.crash_id
    storage.save_raw_crash(
        crash_id, crash.raw_crash, crash.dumps, stored_outputs(crash.dumps.items())
    )
    storage.save_processed_crash(crash_id, {"uuid": crash_id, "url": "https://example.com/x"})
    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket=s3_bucket)
    day = "20" + crash_id[-6:]
    assert sorted(item["Key"] for item in listed["Contents"]) == sorted(
        f"site/{key}"
        for key in (
            f"v1/raw_crash/{day}/{crash_id}",
            f"v1/dump_names/{crash_id}",
            f"v1/upload_file_minidump/{crash_id}",
            f"v1/upload_file_minidump.json/{crash_id}",
            f"v1/memory_report/{crash_id}",
            f"v1/processed_crash/{crash_id}",
            f"v1/processed_crash_public/{crash_id}",
        )
    )
    assert list(storage.list_crash_ids()) == [crash_id]


def test_a_missing_bucket_is_a_clear_error(s3_server, s3_bucket):
    storage = open_storage("s3://no-such-bucket/x", s3_endpoint_url=s3_server)
    with pytest.raises(
        StorageError, match=r"s3://no-such-bucket/x at .*: get .* failed: NoSuchBucket"
    ):
        storage.load_raw_crash("de1bb258-cbbf-4589-a673-34f800260918")
    with pytest.raises(StorageError) as info:
        storage.save_processed_crash("de1bb258-cbbf-4589-a673-34f800260918", {})
    assert "testing" not in str(info.value), "no credentials in messages"


def test_submit_and_daemon_work_from_s3(s3_server, s3_bucket, tmp_path, sample):
    env = dict(os.environ)
    env.update(
        {
            "CRASHPROC_STORAGE": f"s3://{s3_bucket}/crashes",
            "CRASHPROC_S3_ENDPOINT_URL": s3_server,
            "CRASHPROC_QUEUE": f"sqlite:{tmp_path / 'queue.sqlite'}",
            "CRASHPROC_STACKWALKER": "none",
            "CRASHPROC_WORKERS": "1",
            # The index of an S3 storage is ./var/report-index.sqlite unless configured.
            "CRASHPROC_REPORT_INDEX": str(tmp_path / "report-index.sqlite"),
        }
    )

    def crashproc(*argv):
        return subprocess.run(
            [sys.executable, "-m", "processor", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    submitted = crashproc("submit", str(sample))
    assert submitted.returncode == 0, submitted.stderr
    (crash_id,) = submitted.stdout.split()
    daemon = crashproc("daemon", "--once")
    assert daemon.returncode == 0, daemon.stderr
    storage = open_storage(f"s3://{s3_bucket}/crashes", s3_endpoint_url=s3_server)
    processed = storage.load_processed_crash(crash_id)
    # The dumps came down from S3 to the worker: the stored output beside the main dump was
    # used, and the memory report was read.
    assert processed["signature"] == "OOM | large | crashproc_test::Boom"
    assert processed["stackwalk_version"] == "precomputed"
    public = storage.load_processed_crash(crash_id, public=True)
    assert public == json.loads(json.dumps(storage.public_view(processed)))
    assert_public_copy_hides_protected(processed, public)
    assert (tmp_path / "report-index.sqlite").is_file()  # the configured index was kept


def _s3_calls(store: S3ObjectStore) -> list[str]:
    """The S3 operations the store's client sends from now on, in order."""
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def test_fetch_is_one_get_and_a_missing_object_leaves_no_file(s3_server, s3_bucket, tmp_path):
    store = S3ObjectStore(s3_bucket, "site", endpoint_url=s3_server)
    data = os.urandom(3 << 20)  # bigger than one read
    store.put("v1/dump/a", data)
    calls = _s3_calls(store)

    store.fetch("v1/dump/a", tmp_path / "a")
    assert (tmp_path / "a").read_bytes() == data
    assert calls == ["GetObject"], "no HEAD before the GET"

    with pytest.raises(KeyNotFound):
        store.fetch("v1/dump/missing", tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


class _BreakingS3(http.server.BaseHTTPRequestHandler):
    """GET answers the object's full length, but the first ``breaks`` answers stop halfway and
    close the connection: a stream that breaks mid-download."""

    payload = b"d" * 100_000
    breaks = 0
    gets = 0

    def do_GET(self) -> None:
        cls = type(self)
        cls.gets += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(cls.payload)))
        self.end_headers()
        if cls.gets <= cls.breaks:
            self.wfile.write(cls.payload[: len(cls.payload) // 2])
            self.close_connection = True
            return
        self.wfile.write(cls.payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("breaks, fetched", [(2, True), (3, False)])
def test_a_stream_that_breaks_is_fetched_again(s3_bucket, tmp_path, breaks, fetched):
    handler = type("Handler", (_BreakingS3,), {"breaks": breaks, "gets": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        store = S3ObjectStore(s3_bucket, endpoint_url=endpoint)
        target = tmp_path / "dump"
        if fetched:
            store.fetch("v1/dump/a", target)
            assert target.read_bytes() == _BreakingS3.payload
        else:
            with pytest.raises(StorageError, match="download v1/dump/a failed"):
                store.fetch("v1/dump/a", target)
            assert not target.exists(), "a broken download leaves no partial file"
        assert handler.gets == min(breaks + 1, FETCH_ATTEMPTS)
    finally:
        server.shutdown()
        server.server_close()
