"""Pipeline: rule isolation, notes, history across reprocessing, honest success."""

from __future__ import annotations

import logging

from freezegun import freeze_time

from processor.pipeline import PLACEHOLDER_SIGNATURE, Pipeline
from processor.rules.base import Rule


class SetField(Rule):
    def __init__(self, key, value):
        self.key, self.value = key, value

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status):
        processed_crash[self.key] = self.value
        status.add_note(f"set {self.key}")


class LeakyFailure(Rule):
    """Fails with a message that holds a protected value."""

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status):
        raise KeyError(raw_crash["URL"])


class Skipped(Rule):
    def predicate(self, raw_crash, dumps, processed_crash, tmpdir, status):
        return False

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status):
        raise AssertionError("action must not run when the predicate is false")


RAW = {"uuid": "de1bb258-cbbf-4589-a673-34f800260918", "URL": "https://example.com/private"}


def run(pipeline, ruleset="default", processed=None, **kwargs):
    return pipeline.process_crash(ruleset, dict(RAW), {}, processed or {}, "/tmp", **kwargs)


@freeze_time("2026-11-21 10:00:00")
def test_runs_rules_in_order_and_records_notes_and_times():
    pipeline = Pipeline({"default": [SetField("a", 1), Skipped(), SetField("b", 2)]}, hostname="h1")
    processed = run(pipeline, notes=["loader note"])
    assert (processed["a"], processed["b"]) == (1, 2)
    assert processed["success"] is True
    assert processed["signature"] == PLACEHOLDER_SIGNATURE
    assert processed["started_datetime"] == "2026-11-21T10:00:00+00:00"
    assert processed["completed_datetime"] == "2026-11-21T10:00:00+00:00"
    assert processed["processor_notes"].splitlines() == [
        ">>> Start processing: 2026-11-21T10:00:00+00:00 (h1)",
        "loader note",
        "set a",
        "set b",
    ]
    assert "processor_history" not in processed


def test_failing_rule_is_isolated_and_its_message_never_leaks(caplog):
    reported = []
    pipeline = Pipeline(
        {"default": [LeakyFailure(), SetField("after", True)]},
        hostname="h",
        error_reporter=lambda exc, ctx: reported.append((type(exc), ctx)),
    )
    with caplog.at_level(logging.ERROR):
        processed = run(pipeline)
    assert processed["after"] is True, "later rules still run"
    assert processed["success"] is False, "success is honest"
    assert "ruleset 'default' rule 'LeakyFailure' failed: KeyError" in processed["processor_notes"]
    assert "example.com" not in processed["processor_notes"]
    assert "example.com" not in caplog.text
    assert "LeakyFailure" in caplog.text and "KeyError" in caplog.text
    assert len(reported) == 1
    exc_type, context = reported[0]
    assert exc_type is KeyError
    assert context["crash_id"] == RAW["uuid"]
    assert context["ruleset"] == "default"
    assert context["rule"].endswith(".LeakyFailure")


def test_failing_error_reporter_does_not_break_processing():
    def broken_reporter(exc, ctx):
        raise RuntimeError("reporter down")

    pipeline = Pipeline(
        {"default": [LeakyFailure(), SetField("x", 1)]}, error_reporter=broken_reporter
    )
    assert run(pipeline)["x"] == 1


def test_unknown_ruleset_is_a_failed_crash_with_a_note():
    processed = run(Pipeline({"default": []}), ruleset="nope")
    assert processed["success"] is False
    assert "unknown ruleset 'nope'" in processed["processor_notes"]


def test_stackwalker_failure_makes_success_false():
    pipeline = Pipeline(
        {"default": [SetField("mdsw_status_string", "ERROR_MINIDUMP_HEADER_MISMATCH")]}
    )
    assert run(pipeline)["success"] is False
    pipeline = Pipeline({"default": [SetField("mdsw_status_string", "OK")]})
    assert run(pipeline)["success"] is True


def test_reprocessing_moves_earlier_notes_into_history():
    pipeline = Pipeline({"default": [SetField("a", 1)]}, hostname="h")
    with freeze_time("2026-11-20 09:00:00"):
        first = run(pipeline)
    first_notes = first["processor_notes"]
    with freeze_time("2026-11-21 09:00:00"):
        second = run(pipeline, processed=dict(first))
    assert second["processor_history"] == [first_notes]
    with freeze_time("2026-11-22 09:00:00"):
        third = run(pipeline, processed=dict(second))
    assert third["processor_history"] == [second["processor_notes"], first_notes]
    assert third["processor_notes"].startswith(">>> Start processing: 2026-11-22")


def test_the_same_note_is_made_once():
    pipeline = Pipeline({"default": [SetField("a", 1), SetField("a", 2)]}, hostname="h")
    assert run(pipeline)["processor_notes"].splitlines()[1:] == ["set a"]
