"""``crashproc process`` turns metrics and Sentry on from its settings (environment)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from processor.cli import run
from processor.config import Settings
from tests.processor.observability.conftest import REPO, get_json
from tests.processor.observability.sentry_helpers import (
    SAMPLE,
    protected_values,
    sample_raw_crash,
)

LEAKY_RULE = "tests.processor.observability.sentry_helpers.LeakyRule"


def crashproc(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``crashproc`` in its own process, as users run it (so exit-time flushing is real)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRASHPROC_")}
    return subprocess.run(
        [sys.executable, "-m", "processor", *argv],
        env={**base, "PYTHONPATH": str(REPO), "CRASHPROC_STACKWALKER": "none", **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_settings_read_metrics_and_sentry_from_the_environment():
    settings = Settings.from_env(
        {
            "CRASHPROC_METRICS": "datadog",
            "CRASHPROC_STATSD_HOST": "agent.local",
            "CRASHPROC_STATSD_PORT": "9125",
            "CRASHPROC_SENTRY_DSN": "https://key@sentry.example.com/3",
        }
    )
    assert (settings.metrics, settings.statsd_host, settings.statsd_port) == (
        "datadog",
        "agent.local",
        9125,
    )
    assert settings.sentry_dsn == "https://key@sentry.example.com/3"
    assert "key@" not in repr(settings)
    defaults = Settings.from_env({})
    assert (defaults.metrics, defaults.sentry_dsn) == ("none", None)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CRASHPROC_METRICS": "graphite"}, "metrics.backend must be one of none, logging, statsd"),
        ({"CRASHPROC_STATSD_PORT": "0"}, "metrics.statsd_port must be at least 1"),
        (
            {"CRASHPROC_STATSD_PORT": "eighty"},
            "CRASHPROC_STATSD_PORT: metrics.statsd_port must be an integer",
        ),
        ({"CRASHPROC_SENTRY_DSN": "not-a-dsn-secretkey"}, "the Sentry DSN is not valid"),
    ],
)
def test_bad_observability_settings_are_usage_errors(monkeypatch, capsys, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = run(["process", str(SAMPLE)], out=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "secretkey" not in err


def test_crashproc_sends_a_failing_rules_event_to_sentry(kent):
    host = kent.removeprefix("http://")
    proc = crashproc(
        {"CRASHPROC_SENTRY_DSN": f"http://public@{host}/1", "CRASHPROC_EXTRA_RULES": LEAKY_RULE},
        "process",
        "--format",
        "summary",
        str(SAMPLE),
    )
    assert proc.returncode == 0, proc.stderr
    raw_crash = sample_raw_crash()
    assert proc.stdout.startswith(f"{SAMPLE.name}  {raw_crash['uuid']}")
    (listed,) = get_json(f"{kent}/api/eventlist/")["events"]
    received = get_json(f"{kent}/api/event/{listed['event_id']}")
    assert received["payload"]["body"]["tags"] == {"crash_id": raw_crash["uuid"]}
    # (The leaky rule logs the URL itself on purpose; what matters is what Sentry got.)
    everything = json.dumps(received)
    for value in protected_values(raw_crash):
        assert value not in everything


def test_crashproc_emits_registered_metrics_through_the_configured_backend():
    proc = crashproc(
        {"CRASHPROC_METRICS": "logging"}, "-v", "process", "--format", "summary", str(SAMPLE)
    )
    assert proc.returncode == 0, proc.stderr
    assert "crashproc.processor.process_crash" in proc.stderr
    assert "crashproc.processor.rule.act.timing" in proc.stderr
    assert "metrics registry" not in proc.stderr  # no unregistered metric was warned about


def test_metrics_are_off_by_default():
    proc = crashproc({}, "-v", "process", "--format", "summary", str(SAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "crashproc.processor.process_crash" not in proc.stderr
