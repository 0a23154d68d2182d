"""Schema-driven annotation rules, on a small schema so the behaviour is visible."""

from __future__ import annotations

from processor.rules.annotations import (
    CopyFromRawCrashRule,
    OversizedAnnotationRule,
    RawCrashSchemaRule,
)
from processor.status import Status
from schemas.library import Schema, load_schema


def node(type_, permission="public", **extra):
    return {"type": type_, "description": "d", "permissions": [permission], **extra}


PROCESSED = Schema(
    {
        "$schema": "crashproc-data/1",
        "type": "object",
        "properties": {
            "uptime": node("integer", source_annotation="UptimeTS"),
            "ratio": node("number", source_annotation="Ratio"),
            "flag": node("boolean", source_annotation="Flag", default=False),
            "product": node("string", source_annotation="ProductName"),
            "env": node(
                "object",
                source_annotation="TelemetryEnvironment",
                properties={"build": node("object", properties={"id": node("string")})},
            ),
            "computed": node("string"),
        },
    },
    name="processed",
)
RAW = Schema(
    {
        "$schema": "crashproc-data/1",
        "type": "object",
        "properties": {
            name: node("string")
            for name in ("UptimeTS", "Ratio", "Flag", "ProductName", "TelemetryEnvironment")
        },
    },
    name="raw",
)


def act(rule, raw_crash):
    processed, status = {}, Status()
    rule.act(raw_crash=raw_crash, dumps={}, processed_crash=processed, tmpdir="/tmp", status=status)
    return processed, status.notes


def test_copies_and_coerces_every_source_annotation():
    processed, notes = act(
        CopyFromRawCrashRule(PROCESSED),
        {
            "UptimeTS": "12",
            "Ratio": "0.5",
            "Flag": "1",
            "ProductName": "Firefox\n",
            "TelemetryEnvironment": '{"build": {"id": "x"}}',
        },
    )
    assert processed == {
        "uptime": 12,
        "ratio": 0.5,
        "flag": True,
        "product": "Firefox",
        "env": {"build": {"id": "x"}},
    }
    assert notes == []


def test_defaults_apply_to_absent_annotations_only():
    processed, _ = act(CopyFromRawCrashRule(PROCESSED), {})
    assert processed == {"flag": False}


def test_bad_values_are_skipped_with_notes_that_hold_no_values():
    processed, notes = act(
        CopyFromRawCrashRule(PROCESSED),
        {
            "UptimeTS": "secret-value",
            "Flag": "maybe",
            "ProductName": 5,
            "TelemetryEnvironment": '{"build": {"id": 7}}',
            "Ratio": "{",
        },
    )
    assert processed == {}
    assert sorted(notes) == [
        "Flag has a non-boolean value",
        "ProductName has a non-string value",
        "Ratio has a non-numeric value",
        "TelemetryEnvironment value is malformed: env.build.id: expected string, got integer",
        "UptimeTS has a non-integer value",
    ]
    assert not any("secret" in note for note in notes)


def test_oversized_annotations_are_left_out_of_processing():
    raw_crash = {
        "uuid": "u" * 20,
        "ProductName": "x" * 11,
        "Version": "1" * 10,
        "TelemetryEnvironment": {"k": "v" * 10},
        "Flag": True,
    }
    _, notes = act(OversizedAnnotationRule(max_value_size=10), raw_crash)
    assert raw_crash == {"uuid": "u" * 20, "Version": "1" * 10, "Flag": True}
    assert notes == [
        "ProductName is too large (11 characters, limit 10); left out of processing",
        "TelemetryEnvironment is too large (19 characters, limit 10); left out of processing",
    ]


def test_raw_schema_rule_notes_unknown_and_wrong_typed_annotations():
    _, notes = act(
        RawCrashSchemaRule(RAW),
        {"ProductName": 5, "Flag": "1", "NewThing": "x", "bad key!": "y", "Ratio": {"a": 1}},
    )
    assert notes == [
        "annotations not in the raw crash schema: NewThing, bad?key?",
        "raw crash annotation ProductName: expected string, got integer",
        "raw crash annotation Ratio: expected string, got object",
    ]


def test_raw_schema_rule_caps_the_list_of_names():
    _, notes = act(RawCrashSchemaRule(RAW), {f"X{i:02}": "v" for i in range(25)})
    assert notes[0].endswith("X19 and 5 more")


def test_the_real_schema_copies_to_socorros_field_names():
    processed, status = {}, Status()
    CopyFromRawCrashRule(load_schema("processed_crash")).act(
        raw_crash={
            "Android_PackageName": "org.mozilla.fenix",
            "CoMarshalInterfaceFailure": "0x80004005",
            "CoUnmarshalInterfaceResult": "0x8001010E\n",
        },
        dumps={},
        processed_crash=processed,
        tmpdir="/nonexistent",
        status=status,
    )
    assert processed["android_packagename"] == "org.mozilla.fenix"
    assert processed["co_marshal_interface_failure"] == "0x80004005"
    assert processed["co_unmarshal_interface_result"] == "0x8001010E"
    assert status.notes == []
