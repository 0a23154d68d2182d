"""`crashproc collector` as a user runs it: real processes, then `crashproc daemon --once`.

The kill -9 test is the durability promise: a crash answered with an id is in storage and
gets processed, and nothing half-stored is ever queued (a queued id without its raw crash
would fail three times and be dead-lettered).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from processor.queues import open_queue
from processor.storage import open_storage
from tests.collector.conftest import REPO, crash_id_of, gzipped, multipart, sample


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHPROC_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "CRASHPROC_STORAGE": str(root / "crashes"),
            "CRASHPROC_QUEUE": f"sqlite:{root / 'queue.sqlite'}",
            **extra,
        }
    )
    return env


def start_collector(root: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "collector", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers)],
        cwd=root, env=environment(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"collector exited: {proc.stderr.read()}")
        try:
            if requests.get(url + "/__lbheartbeat__", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("collector did not start")


def run_daemon(root: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "processor", "daemon", "--once", "--workers", "1"],
        cwd=root, env=environment(root, **env), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_collected_crashes_are_processed_by_the_daemon(tmp_path):
    proc, url = start_collector(tmp_path, workers=2)
    try:
        annotations, dumps = sample("linux-amd64")
        r = requests.post(
            url + "/submit",
            data=annotations,
            files={"upload_file_minidump": ("m.dmp", dumps["upload_file_minidump"])},
            timeout=60,
        )
        first = crash_id_of(r.text)
        annotations2, dumps2 = sample("crashpad-macos")
        body, content_type = multipart(
            sorted(annotations2.items()),
            [("upload_file_minidump", "x.dmp", dumps2["upload_file_minidump"])],
        )
        r = requests.post(
            url + "/submit", data=gzipped(body), timeout=60,
            headers={"Content-Type": content_type, "Content-Encoding": "gzip"},
        )  # fmt: skip
        second = crash_id_of(r.text)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    result = run_daemon(tmp_path)
    assert result.returncode == 0, result.stderr
    storage = open_storage(str(tmp_path / "crashes"))
    for crash_id, wanted in ((first, annotations), (second, annotations2)):
        processed = storage.load_processed_crash(crash_id)
        assert processed["uuid"] == crash_id
        assert processed["product"] == wanted["ProductName"]
        assert processed["signature"]


def test_kill_9_during_uploads_loses_no_answered_crash(tmp_path):
    proc, url = start_collector(tmp_path, workers=1)  # one process: kill -9 takes it all
    body, content_type = multipart(
        [("ProductName", "KillTest"), ("Version", "1.0")],
        [("upload_file_minidump", "m.dmp", b"MDMP" + os.urandom(256 * 1024))],
    )
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.post(
                    url + "/submit", data=body, headers={"Content-Type": content_type},
                    timeout=30,
                )  # fmt: skip
            except requests.RequestException:
                return  # the collector is gone
            if r.status_code == 200:
                with lock:
                    answered.append(crash_id_of(r.text))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of uploads
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    proc.communicate(timeout=30)
    assert len(answered) >= 20
    storage = open_storage(str(tmp_path / "crashes"))
    assert all(storage.has_raw_crash(crash_id) for crash_id in answered)

    result = run_daemon(tmp_path, CRASHPROC_STACKWALKER="none")
    assert result.returncode == 0, result.stderr  # nothing dead-lettered
    assert all(storage.has_processed_crash(crash_id) for crash_id in answered)
    queue = open_queue(f"sqlite:{tmp_path / 'queue.sqlite'}")
    assert queue.dead_letter_count() == 0 and queue.pending() == 0
