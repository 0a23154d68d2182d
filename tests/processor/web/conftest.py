"""The crash browser over real HTTP on 127.0.0.1, on the report tests' storage (the example
crashes processed by the real pipeline, with the report index the daemon would keep)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from processor.queues import open_queue
from processor.web.app import CrashBrowser
from processor.web.tokens import TokenStore
from tests.postgresserver import postgres_server  # noqa: F401 -- a fixture
from tests.processor.reports import conftest as reports
from tests.processor.reports.conftest import ReportStorage
from webstack.serve import start_background

# The report tests' storage, built once per session for these tests too, with its index in
# SQLite and in PostgreSQL (report_storage is parametrized by backend).
sqlite_report_storage = reports.sqlite_report_storage
postgresql_report_storage = reports.postgresql_report_storage
report_storage = reports.report_storage


@dataclass
class Browser:
    url: str
    data: ReportStorage
    tokens: TokenStore
    queue_url: str


@contextlib.contextmanager
def serving(data: ReportStorage, scratch: Path, **options: Any) -> Iterator[Browser]:
    """The crash browser over ``data`` on 127.0.0.1, with its own tokens and queue;
    ``options`` go to CrashBrowser (session_max_age, secure_cookie)."""
    tokens = TokenStore(scratch / "tokens.sqlite")
    queue_url = f"sqlite:{scratch / 'queue.sqlite'}"
    browser = CrashBrowser(
        data.storage(), data.index_path, tokens, lambda: open_queue(queue_url), **options
    )
    server = start_background(browser.asgi())
    try:
        yield Browser(f"http://127.0.0.1:{server.server_port}", data, tokens, queue_url)
    finally:
        server.shutdown()
        server.server_close()
        browser.close()


@pytest.fixture(scope="module")
def web(
    report_storage: ReportStorage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """On the index in each backend."""
    with serving(report_storage, Path(tmp_path_factory.mktemp("web"))) as browser:
        yield browser


@pytest.fixture(scope="module")
def sqlite_web(
    sqlite_report_storage: ReportStorage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """On the SQLite index only: for what does not depend on the backend (the browser's path)."""
    with serving(sqlite_report_storage, Path(tmp_path_factory.mktemp("web"))) as browser:
        yield browser
