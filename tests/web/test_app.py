"""The shared web stack over real HTTP on 127.0.0.1: endpoints, access log, metrics, 500s."""

from __future__ import annotations

import logging
import time

import pytest
import requests
from markus.testing import MetricsMock
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import crashproc
from webstack.app import service_app
from webstack.serve import start_background


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def broken(request: Request) -> PlainTextResponse:
    raise RuntimeError("secret annotation value")


def _eventually(probe, timeout=10.0):
    """What ``probe`` returns once it is non-empty (or its last answer after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


@pytest.fixture
def base():
    checks = {"disk": lambda: "ok", "flaky": lambda: "ok"}
    app = service_app("collector", [Route("/echo", echo), Route("/broken", broken)], checks=checks)
    server = start_background(app)
    try:
        yield f"http://127.0.0.1:{server.server_port}", checks
    finally:
        server.shutdown()
        server.server_close()


def test_dockerflow_endpoints(base):
    url, checks = base
    assert requests.get(url + "/__lbheartbeat__", timeout=10).json() == {"status": "ok"}
    r = requests.get(url + "/__heartbeat__", timeout=10)
    assert (r.status_code, r.json()["checks"]) == (200, {"disk": "ok", "flaky": "ok"})
    checks["flaky"] = lambda: 1 / 0
    r = requests.get(url + "/__heartbeat__", timeout=10)
    assert r.status_code == 500 and r.json()["checks"]["flaky"] == "error"
    version = requests.get(url + "/__version__", timeout=10).json()
    assert version["version"] == crashproc.version() and version["service"] == "collector"


def test_access_log_and_metrics_leave_secrets_out(base, caplog):
    url, _ = base
    caplog.set_level(logging.INFO, logger="webstack.access")
    with MetricsMock() as metrics:
        r = requests.get(url + "/echo?token=hunter2", headers={"Auth-Token": "t0ken"}, timeout=10)
        assert r.text == "hello"
        # The middleware measures the whole exchange, so it records the request after the
        # last body byte left: the client can read the answer a moment before that.
        records = _eventually(lambda: metrics.filter_records("timing", "crashproc.web.request"))
        tags = records[0].tags
    assert tags == ["service:collector", "route:/echo", "status:2xx"]
    lines = _eventually(
        lambda: [rec.getMessage() for rec in caplog.records if rec.name == "webstack.access"]
    )
    assert any(line.startswith("collector GET /echo 200 5B") for line in lines), lines
    assert not any("hunter2" in line or "t0ken" in line for line in lines)


def test_an_exception_is_a_json_500_without_its_message(base, caplog):
    url, _ = base
    r = requests.get(url + "/broken", timeout=10)
    assert r.status_code == 500 and r.json() == {"error": "Internal Server Error"}
    assert "secret annotation value" not in r.text
    r = requests.get(url + "/echo", timeout=10)  # the server lives on
    assert r.status_code == 200
