"""Every service reports to Sentry through the same scrubbing (crashproc/sentry.py): here the
symbols server, a real `symbols serve` whose configuration names a kent (fake Sentry) server on
127.0.0.1, fails on an upload; the event arrives without the token, query or body."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import requests

from symbols.server import token_digest
from symbols.store import SymbolStore
from tests.processor.observability.conftest import free_port, get_json

REPO = Path(__file__).resolve().parents[3]
TOKEN = "upload-token-never-sent"
QUERY_SECRET = "query-secret-never-sent"


def test_symbols_server_errors_reach_sentry_scrubbed(kent, tmp_path):
    SymbolStore(tmp_path / "store")
    port = free_port()
    host = kent.removeprefix("http://")
    config = tmp_path / "crashproc.toml"
    config.write_text(
        f'[symbols_server]\nstore = "store"\nport = {port}\nworkers = 1\n'
        f'upload_token_sha256 = "{token_digest(TOKEN)}"\n\n'
        f'[sentry]\ndsn = "http://public@{host}/1"\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "symbols.cli", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/__lbheartbeat__", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "symbols serve did not start"
                time.sleep(0.1)
        # The store turns into a file under the server: the next upload fails inside it.
        shutil.rmtree(tmp_path / "store")
        (tmp_path / "store").write_text("not a directory")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("tiny.so/X/tiny.so.sym", b"MODULE Linux x86_64 " + b"AB" * 16 + b"0 t\n")
        answer = requests.post(
            f"{base}/upload/?note={QUERY_SECRET}",
            data=archive.getvalue(),
            headers={"Auth-Token": TOKEN, "Content-Type": "application/zip"},
            timeout=30,
        )
        assert answer.status_code == 500
        assert TOKEN not in answer.text and "NotADirectoryError" not in answer.text
        deadline = time.monotonic() + 30
        while not (events := get_json(f"{kent}/api/eventlist/")["events"]):
            assert time.monotonic() < deadline, "no event reached kent"
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    (listed,) = events
    received = get_json(f"{kent}/api/event/{listed['event_id']}")
    body = received["payload"]["body"]
    assert body["tags"]["service"] == "symbols"
    assert body["exception"]["values"][0]["type"] == "NotADirectoryError"
    everything = json.dumps(received)
    for secret in (TOKEN, token_digest(TOKEN), QUERY_SECRET, str(tmp_path)):
        assert secret not in everything, secret
