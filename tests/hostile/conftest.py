"""The hostile-input suite (issue 18) reuses the daemon tests' sites and the real redis-server.

Both helpers are loaded by path (the test directories are not packages), under the names the
other suites use, so a module is loaded once per session whichever suite comes first.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


redisserver = _load(
    "crashproc_tests_redisserver", TESTS / "processor" / "queues" / "redisserver.py"
)
daemon_helpers = _load(
    "crashproc_tests_daemon_helpers", TESTS / "processor" / "daemon" / "conftest.py"
)

make_site = daemon_helpers.make_site
sample_dir = daemon_helpers.sample_dir
wait_for = daemon_helpers.wait_for


@pytest.fixture
def volatile_redis(tmp_path):
    """A redis-server as its defaults run it: no append-only file, nothing survives a kill."""
    server = redisserver.RedisServer(tmp_path / "redis", persistent=False).start()
    yield server
    server.stop()


@pytest.fixture
def everysec_redis(tmp_path):
    """A redis-server with an append-only file synced once a second (redis.conf's default
    policy once appendonly is on)."""
    server = redisserver.RedisServer(tmp_path / "redis", fsync="everysec").start()
    yield server
    server.stop()


@pytest.fixture
def persistent_redis(tmp_path):
    """A redis-server that loses nothing: append-only file, fsync on every write."""
    server = redisserver.RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()
