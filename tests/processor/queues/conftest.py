"""A queue URL per backend, so every behaviour test runs against each of them.

Redis runs for real: one redis-server on 127.0.0.1 for the session, one key prefix per test.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest


def load_redisserver():
    """tests/processor/queues/redisserver.py, loaded once by path (tests are not packages)."""
    name = "crashproc_tests_redisserver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("redisserver.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def redis_tools():
    """The redisserver helper module."""
    return load_redisserver()


@pytest.fixture(scope="session")
def redis_server(redis_tools, tmp_path_factory):
    server = redis_tools.RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_server(redis_tools, tmp_path):
    """A redis-server of the test's own, free to be restarted."""
    server = redis_tools.RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


_prefixes = itertools.count()


class ManualClock:
    """A queue clock that moves only when the test says: lease expiry without sleeping.

    It starts in 2001, well behind every real clock, because a Redis queue's clock must not run
    ahead of the server's by a lease (processor.queues.redis_streams)."""

    def __init__(self, start: float = 1_000_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'queue.sqlite'}"
    server = request.getfixturevalue("redis_server")
    return f"{server.url}?prefix=test{next(_prefixes)}"
