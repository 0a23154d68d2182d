"""The storage, queue and daemon settings from the environment and the command line."""

from __future__ import annotations

import argparse

import pytest

from processor.cli.common import settings_from_args
from processor.config import ConfigError, Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.storage == "./var/crashes"
    assert settings.queue == "sqlite:./var/queue.sqlite"
    assert settings.workers >= 1
    assert (settings.queue_lease, settings.queue_max_attempts) == (60.0, 3)


def test_environment():
    settings = Settings.from_env(
        {
            "CRASHPROC_STORAGE": "s3://bucket/prefix",
            "CRASHPROC_QUEUE": "redis://localhost:6379/0",
            "CRASHPROC_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "CRASHPROC_WORKERS": "3",
            "CRASHPROC_QUEUE_LEASE": "2.5",
            "CRASHPROC_QUEUE_MAX_ATTEMPTS": "7",
            "CRASHPROC_QUEUE_RETRY_DELAY": "0",
            "CRASHPROC_JOB_TIMEOUT": "30",
            "CRASHPROC_DAEMON_LOG_INTERVAL": "10",
        }
    )
    assert settings.storage == "s3://bucket/prefix"
    assert settings.queue == "redis://localhost:6379/0"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert settings.workers == 3
    assert settings.queue_lease == 2.5
    assert settings.queue_max_attempts == 7
    assert settings.queue_retry_delay == 0.0
    assert settings.job_timeout == 30.0
    assert settings.daemon_log_interval == 10.0


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("WORKERS", "two", "CRASHPROC_WORKERS: daemon.workers must be an integer"),
        ("WORKERS", "0", "daemon.workers must be at least 1"),
        ("QUEUE_LEASE", "soon", "CRASHPROC_QUEUE_LEASE: queue.lease must be a number"),
        ("QUEUE_LEASE", "0", "queue.lease must be greater than 0"),
        ("QUEUE_RETRY_DELAY", "-1", "queue.retry_delay must be at least 0"),
    ],
)
def test_bad_values(name, value, problem):
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env({f"CRASHPROC_{name}": value})


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("CRASHPROC_STORAGE", "/from/env")
    monkeypatch.setenv("CRASHPROC_QUEUE", "sqlite:/from/env.sqlite")
    monkeypatch.setenv("CRASHPROC_WORKERS", "4")
    args = argparse.Namespace(storage="/from/flag", queue=None, workers=2)
    settings = settings_from_args(args)
    assert (settings.storage, settings.queue, settings.workers) == (
        "/from/flag",
        "sqlite:/from/env.sqlite",
        2,
    )
