"""Sentry setup, the scrubber and the pipeline's error reporter (events captured in-process)."""

from __future__ import annotations

import copy
import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
import yaml
from sentry_sdk.transport import Transport

from crashproc.sentry import MASK, build_key_masker
from processor.config import ConfigError
from processor.metrics import METRICS
from processor.observability.metrics_setup import setup_metrics
from processor.observability.scrub import build_scrubber, protected_names
from processor.observability.sentry import report_rule_error, setup_sentry
from processor.pipeline import Pipeline
from schemas.library import SCHEMA_DIR
from tests.processor.observability.sentry_helpers import (
    REPO,
    LeakyRule,
    protected_values,
    sample_raw_crash,
)

DSN = "https://public@sentry.invalid/1"


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    """Sentry set up as in production, with a transport that keeps events instead of sending."""
    events: list[dict[str, Any]] = []

    class KeepingTransport(Transport):
        def capture_envelope(self, envelope):
            event = envelope.get_event()
            if event is not None:
                events.append(event)

    assert setup_sentry(
        DSN,
        "crashproc@test",
        server_name="test-host",
        environment="test",
        transport=KeepingTransport,
    )
    try:
        with sentry_sdk.isolation_scope():
            yield events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def run_leaky_pipeline(tmp_path: Path, raw_crash: dict[str, Any] | None = None) -> dict:
    pipeline = Pipeline({"default": [LeakyRule()]}, "test-host", error_reporter=report_rule_error)
    raw_crash = sample_raw_crash() if raw_crash is None else raw_crash
    return pipeline.process_crash("default", raw_crash, {}, {}, str(tmp_path))


# -- the pinned event ----------------------------------------------------------------------


def _placeholder(value: Any, pattern: str, placeholder: str) -> str:
    assert isinstance(value, str) and re.fullmatch(pattern, value), (placeholder, value)
    return placeholder


def _normalize_frame(frame: dict[str, Any]) -> None:
    for key in ("abs_path", "filename"):
        if frame.get(key, "").startswith(str(REPO) + "/"):
            frame[key] = frame[key][len(str(REPO)) + 1 :]
    assert isinstance(frame.pop("lineno"), int)
    frame["lineno"] = "<lineno>"
    for key in ("pre_context", "post_context"):
        assert all(isinstance(line, str) for line in frame[key])
        frame[key] = "<source>"
    assert isinstance(frame["context_line"], str)
    frame["context_line"] = "<source>"


def normalized(event: dict[str, Any]) -> dict[str, Any]:
    """The event with what changes from run to run (ids, times, versions, lines) replaced."""
    event = copy.deepcopy(event)
    event["event_id"] = _placeholder(event["event_id"], "[0-9a-f]{32}", "<event_id>")
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"
    event["timestamp"] = _placeholder(event["timestamp"], iso, "<timestamp>")
    for crumb in event["breadcrumbs"]["values"]:
        crumb["timestamp"] = _placeholder(crumb["timestamp"], iso, "<timestamp>")
    trace = event["contexts"]["trace"]
    trace["trace_id"] = _placeholder(trace["trace_id"], "[0-9a-f]{32}", "<trace_id>")
    trace["span_id"] = _placeholder(trace["span_id"], "[0-9a-f]{16}", "<span_id>")
    version = r"\d+\.\d+\.\d+\S*"
    event["sdk"]["version"] = _placeholder(event["sdk"]["version"], version, "<version>")
    for package in event["sdk"]["packages"]:
        package["version"] = _placeholder(package["version"], version, "<version>")
    assert "sentry-sdk" in event["modules"]
    assert all(isinstance(v, str) for v in event["modules"].values())
    event["modules"] = "<installed packages>"
    for exception in event["exception"]["values"]:
        # sentry-sdk 3 numbers each exception of a chain; 2.x does so only for groups.
        exception["mechanism"].pop("exception_id", None)
        for frame in exception["stacktrace"]["frames"]:
            _normalize_frame(frame)
    return event


def _frame(path: str, function: str, module: str) -> dict[str, Any]:
    return {
        "filename": path,
        "abs_path": path,
        "function": function,
        "module": module,
        "lineno": "<lineno>",
        "pre_context": "<source>",
        "context_line": "<source>",
        "post_context": "<source>",
        "in_app": True,
    }


def _crumb(level: str, category: str, data: Any) -> dict[str, Any]:
    return {
        "type": "log",
        "level": level,
        "category": category,
        "message": MASK,
        "timestamp": "<timestamp>",
        "data": data,
    }


EXPECTED_EVENT = {
    "level": "error",
    "exception": {
        "values": [
            {
                "mechanism": {"type": "generic", "handled": True},
                "module": None,
                "type": "ValueError",
                "value": MASK,
                "stacktrace": {
                    "frames": [
                        _frame("processor/pipeline.py", "_run_rule", "processor.pipeline"),
                        _frame("processor/rules/base.py", "act", "processor.rules.base"),
                        _frame(
                            "tests/processor/observability/sentry_helpers.py",
                            "action",
                            "tests.processor.observability.sentry_helpers",
                        ),
                    ]
                },
            }
        ]
    },
    "event_id": "<event_id>",
    "timestamp": "<timestamp>",
    "contexts": {
        "crash": {"product": "Firefox", "url": MASK, "notes": {"Comments": MASK}},
        "trace": {"trace_id": "<trace_id>", "span_id": "<span_id>", "parent_span_id": None},
    },
    "transaction_info": {},
    "tags": {"crash_id": "8fe71062-f1a4-49df-ae03-d6e0e0261102"},
    "extra": {"raw_crash": {"URL": MASK, "ProductName": "Firefox"}},
    "breadcrumbs": {
        "values": [
            _crumb("warning", "tests.leaky_rule", MASK),
            _crumb("error", "processor.pipeline", {}),
        ]
    },
    "modules": "<installed packages>",
    "release": "crashproc@test",
    "environment": "test",
    "server_name": "test-host",
    "sdk": {
        "name": "sentry.python",
        "version": "<version>",
        "packages": [{"name": "pypi:sentry-sdk", "version": "<version>"}],
        "integrations": ["atexit", "dedupe", "excepthook", "logging", "modules", "threading"],
    },
    "platform": "python",
}


def test_the_whole_scrubbed_event_of_a_failing_rule(sentry_events, tmp_path):
    processed = run_leaky_pipeline(tmp_path)
    assert "rule 'LeakyRule' failed: ValueError" in processed["processor_notes"]
    (event,) = sentry_events
    assert normalized(event) == EXPECTED_EVENT


def test_no_protected_value_reaches_the_event(sentry_events, tmp_path):
    raw_crash = sample_raw_crash()
    run_leaky_pipeline(tmp_path, raw_crash)
    (event,) = sentry_events
    text = json.dumps(event)
    for value in protected_values(raw_crash):
        assert value not in text
    assert "jane@example.com" not in text and "sample-secret" not in text


def test_the_same_failure_reported_twice_is_one_event(sentry_events):
    try:
        raise KeyError("URL")
    except KeyError as exc:
        report_rule_error(exc, {"crash_id": "8fe71062-f1a4-49df-ae03-d6e0e0261102"})
        report_rule_error(exc, {"crash_id": "8fe71062-f1a4-49df-ae03-d6e0e0261102"})
    assert len(sentry_events) == 1


def test_a_malformed_crash_id_is_not_repeated(sentry_events, tmp_path):
    raw_crash = sample_raw_crash()
    raw_crash["uuid"] = "see https://example.com/private"
    run_leaky_pipeline(tmp_path, raw_crash)
    (event,) = sentry_events
    assert event["tags"] == {"crash_id": "invalid"}


def test_without_a_dsn_sentry_stays_off():
    assert setup_sentry(None) is False
    assert setup_sentry("") is False
    assert not sentry_sdk.get_client().is_active()


def test_an_invalid_dsn_is_a_config_error_that_does_not_quote_it():
    with pytest.raises(ConfigError) as excinfo:
        setup_sentry("not a dsn with secret-key")
    assert "secret-key" not in str(excinfo.value)
    assert not sentry_sdk.get_client().is_active()


# -- the scrubber on its own ---------------------------------------------------------------


def test_protected_names_come_from_the_schemas():
    names = protected_names()
    # Raw annotations, processed fields copied from them, and protected processed fields.
    assert {"url", "email", "comments", "user_comments", "mozcrashreason", "metadata"} <= names
    assert "moz_crash_reason_raw" in names
    assert not {"productname", "version", "signature", "uuid"} & names


def test_a_new_protected_annotation_is_scrubbed_after_a_schema_edit_only(tmp_path):
    for name in ("raw_crash", "processed_crash"):
        shutil.copy(SCHEMA_DIR / f"{name}.schema.yaml", tmp_path)
    raw_path = tmp_path / "raw_crash.schema.yaml"
    document = yaml.safe_load(raw_path.read_text())
    document["properties"]["ShareLink"] = {
        "description": "A link the user shared (test annotation).",
        "type": "string",
        "permissions": ["protected"],
        "examples": ["https://example.com/s/1"],
    }
    raw_path.write_text(yaml.safe_dump(document))
    assert "sharelink" not in protected_names()
    scrubber = build_scrubber(tmp_path)
    event = scrubber({"extra": {"crash": {"ShareLink": "https://example.com/s/1"}}}, None)
    assert event == {"extra": {"crash": {"ShareLink": MASK}}}


def test_key_masker_masks_at_any_depth_and_any_case():
    masker = build_key_masker(["URL", "email"])
    value = {
        "url": "u",
        "items": [{"EMAIL": "e", "keep": 1}, ("x", {"Url": ["a", "b"]})],
        "Email": "",
        "nested": {"deeper": {"url": {"anything": "below"}}},
    }
    assert masker(value) == {
        "url": MASK,
        "items": [{"EMAIL": MASK, "keep": 1}, ["x", {"Url": MASK}]],
        "Email": "",
        "nested": {"deeper": {"url": MASK}},
    }


def test_every_section_that_can_carry_data_is_scrubbed():
    event = {
        "request": {"url": "https://x/y?q=1", "query_string": "q=1", "data": {"a": 1}},
        "user": {"email": "someone@example.org", "id": "7"},
        "logentry": {"message": "crash %s at %s", "formatted": "crash 1 at x", "params": [1]},
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": "'secret'",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"a": "secret"}}]},
                }
            ]
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {"b": "secret"}}]}}]},
        "breadcrumbs": {"values": [{"message": "secret", "data": {"c": "secret"}}]},
        "tags": {"url": "secret", "crash_id": "id"},
    }
    assert build_scrubber()(copy.deepcopy(event), None) == {
        "request": {"url": MASK, "query_string": MASK, "data": MASK},
        "user": MASK,
        "logentry": {"message": "crash %s at %s", "formatted": MASK, "params": MASK},
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": MASK,
                    "stacktrace": {"frames": [{"function": "f", "vars": MASK}]},
                }
            ]
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": MASK}]}}]},
        "breadcrumbs": {"values": [{"message": MASK, "data": MASK}]},
        "tags": {"url": MASK, "crash_id": "id"},
    }


def test_a_failing_scrub_function_replaces_the_value_and_is_counted(checked_metrics, monkeypatch):
    scrubber = build_scrubber()
    rule = next(r for r in scrubber.rules if r.keys == ["user"])

    def broken(value):
        raise RuntimeError("scrub bug")

    monkeypatch.setattr(rule, "scrub", broken)
    event = scrubber({"user": {"email": "someone@example.org"}, "tags": {"a": "b"}}, None)
    assert event == {"user": "ERROR WHEN SCRUBBING", "tags": {"a": "b"}}
    assert checked_metrics.has_record(
        "incr", "crashproc.sentry_scrub_error", tags=["service:processor"]
    )


def test_an_event_the_scrubber_cannot_walk_is_dropped_and_counted(checked_metrics, caplog):
    # "values" should be a list; a rule cannot reach the messages inside, so nothing is sent.
    event = {"exception": {"values": {"0": {"value": "secret"}}}}
    assert build_scrubber()(event, None) is None
    assert checked_metrics.has_record("incr", "crashproc.sentry_scrub_error")
    assert "secret" not in caplog.text
    assert "a Sentry event was dropped" in caplog.text


def test_scrubbing_is_independent_per_event():
    scrubber = build_scrubber()
    assert scrubber({"exception": {"values": {}}}, None) is None
    assert scrubber({"tags": {"a": "b"}}, None) == {"tags": {"a": "b"}}


def test_metric_log_lines_are_not_breadcrumbs(sentry_events, markus_reset, caplog):
    setup_metrics("logging")
    with caplog.at_level(logging.INFO):
        METRICS.incr("processor.denullrule.has_nulls")
        logging.getLogger("processor.test").info("a step")
        report_rule_error(RuntimeError(), {"crash_id": "x"})
    assert "crashproc.processor.denullrule.has_nulls" in caplog.text  # the metric was logged
    (event,) = sentry_events
    categories = [crumb["category"] for crumb in event["breadcrumbs"]["values"]]
    assert categories == ["processor.test"]
