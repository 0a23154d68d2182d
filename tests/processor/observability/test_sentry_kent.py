"""A failing rule's event sent over HTTP to kent (a fake Sentry server) on 127.0.0.1.

This is the real path: sentry_sdk's own HTTP transport, a DSN, a server receiving envelopes.
The test then reads back everything kent received and looks for any protected value.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk

from processor.observability.sentry import report_rule_error, setup_sentry
from processor.pipeline import Pipeline
from tests.processor.observability.sentry_helpers import (
    LeakyRule,
    protected_values,
    sample_raw_crash,
)

KENT = Path(sys.executable).parent / "kent-server"
START_TIMEOUT = 30.0
# Loopback only: no proxy from the environment may see (or swallow) the requests.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> Any:
    with DIRECT.open(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture
def kent(tmp_path: Path) -> Iterator[str]:
    """A kent server on a free 127.0.0.1 port; yields its base URL."""
    if not KENT.is_file():
        pytest.skip(f"kent is not installed ({KENT}); it is a dev dependency")
    port = _free_port()
    log = open(tmp_path / "kent.log", "wb")  # noqa: SIM115 (closed below, after the server)
    proc = subprocess.Popen(
        [str(KENT), "run", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                _get(f"{base}/api/eventlist/")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"kent did not start: {(tmp_path / 'kent.log').read_text()}")
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def sentry_to_kent(kent: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    host = kent.removeprefix("http://")
    assert setup_sentry(f"http://public@{host}/1", "crashproc@test", server_name="test-host")
    try:
        with sentry_sdk.isolation_scope():
            yield kent
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def test_failing_rule_event_reaches_kent_without_protected_values(sentry_to_kent, tmp_path):
    raw_crash = sample_raw_crash()
    secrets = protected_values(raw_crash)
    pipeline = Pipeline({"default": [LeakyRule()]}, "test-host", error_reporter=report_rule_error)
    pipeline.process_crash("default", raw_crash, {}, {}, str(tmp_path))
    sentry_sdk.flush(timeout=10)

    listed = _get(f"{sentry_to_kent}/api/eventlist/")["events"]
    assert len(listed) == 1
    assert listed[0]["summary"] == "ValueError: [Scrubbed]"
    received = _get(f"{sentry_to_kent}/api/event/{listed[0]['event_id']}")
    body = received["payload"]["body"]
    assert body["tags"] == {"crash_id": raw_crash["uuid"]}
    assert body["release"] == "crashproc@test"
    assert [f["function"] for f in body["exception"]["values"][0]["stacktrace"]["frames"]] == [
        "_run_rule",
        "act",
        "action",
    ]
    # Everything kent holds for the event: envelope and item headers and the event itself.
    everything = json.dumps(received)
    for value in secrets:
        assert value not in everything
    for fragment in ("jane@example.com", "sample-secret", "example.com/private"):
        assert fragment not in everything
