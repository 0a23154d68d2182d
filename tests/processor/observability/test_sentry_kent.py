"""A failing rule's event sent over HTTP to kent (a fake Sentry server) on 127.0.0.1.

This is the real path: sentry_sdk's own HTTP transport, a DSN, a server receiving envelopes.
The test then reads back everything kent received and looks for any protected value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sentry_sdk

from processor.observability.sentry import report_rule_error, setup_sentry
from processor.pipeline import Pipeline
from tests.processor.observability.conftest import get_json
from tests.processor.observability.sentry_helpers import (
    LeakyRule,
    protected_values,
    sample_raw_crash,
)


@pytest.fixture
def sentry_to_kent(kent: str) -> Iterator[str]:
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

    listed = get_json(f"{sentry_to_kent}/api/eventlist/")["events"]
    assert len(listed) == 1
    assert listed[0]["summary"] == "ValueError: [Scrubbed]"
    received = get_json(f"{sentry_to_kent}/api/event/{listed[0]['event_id']}")
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
