"""Fixtures for the observability tests: recorded metrics of real pipeline runs."""

from __future__ import annotations

import json
import os
import shutil
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
from markus.main import MetricsRecord
from markus.testing import MetricsMock

from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.observability.metrics_setup import close_metrics
from processor.observability.registry import MetricSpec, load_registry, record_problems
from processor.runner import CrashProcessor
from tests.conftest import missing

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "examples" / "crashes"
SAMPLE_DIRS = sorted(p for p in SAMPLES.iterdir() if (p / "raw_crash.json").is_file())


def registry_problems(registry: dict[str, MetricSpec], records: list[MetricsRecord]) -> list[str]:
    """Every way ``records`` break the registry (one line per problem, duplicates merged)."""
    return sorted(
        {
            problem
            for record in records
            for problem in record_problems(registry, record.stat_type, record.key, record.tags)
        }
    )


@pytest.fixture(scope="session")
def registry() -> dict[str, MetricSpec]:
    return load_registry()


@pytest.fixture
def checked_metrics(registry: dict[str, MetricSpec]) -> Iterator[MetricsMock]:
    """Records the test's metrics and fails it if any of them is not registered as emitted."""
    with MetricsMock() as mock:
        yield mock
    assert registry_problems(registry, mock.get_records()) == []


@pytest.fixture
def markus_reset() -> Iterator[None]:
    """For tests that configure markus for real: the suite runs with no backends."""
    yield
    close_metrics()


def _recorded_run(settings: Settings, crash_dirs: list[Path]) -> list[MetricsRecord]:
    processor = CrashProcessor(settings)
    with MetricsMock() as mock:
        for directory in crash_dirs:
            processor.process(load_crash_dir(directory))
        processor.close()
    return mock.get_records()


@pytest.fixture(scope="module")
def sample_run_metrics() -> list[MetricsRecord]:
    """Metrics recorded while the default ruleset processes every sample crash."""
    return _recorded_run(Settings(stackwalker="none"), SAMPLE_DIRS)


@pytest.fixture
def walked_run_metrics(
    tmp_path: Path, peer_stackwalker: Path, testdata_dir: Path
) -> list[MetricsRecord]:
    """Metrics recorded while the peer stackwalker walks a sample (its stored output removed)."""
    crash_dir = tmp_path / "crash"
    shutil.copytree(SAMPLES / "windows-x86-test-app", crash_dir)
    (crash_dir / "upload_file_minidump.json").unlink(missing_ok=True)
    settings = Settings(
        stackwalker="external",
        stackwalker_command=str(peer_stackwalker),
        symbols_paths=[str(testdata_dir / "symbols")],
    )
    return _recorded_run(settings, [crash_dir])


KENT = Path(sys.executable).parent / "kent-server"
KENT_START_TIMEOUT = 30.0
# Loopback only: no proxy from the environment may see (or swallow) the requests.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> Any:
    with DIRECT.open(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture
def kent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A kent (fake Sentry) server on a free 127.0.0.1 port; yields its base URL.

    Proxy variables are removed so that Sentry's transport talks to it directly.
    """
    if not KENT.is_file():
        missing(f"kent is not installed ({KENT}); it is a dev dependency")
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    log_path = tmp_path / "kent.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(KENT), "run", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + KENT_START_TIMEOUT
        while True:
            try:
                get_json(f"{base}/api/eventlist/")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"kent did not start: {log_path.read_text()}")
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
