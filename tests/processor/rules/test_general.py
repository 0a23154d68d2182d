"""Tests for the raw-crash hygiene and collector-data rules."""

from __future__ import annotations

import pytest
from markus.testing import MetricsMock

from processor.rules.general import (
    CollectorMetadataRule,
    CrashReportKeysRule,
    DeNoneRule,
    DeNullRule,
    IdentifierRule,
    MinidumpSha256HashRule,
)

CRASH_ID = "de1bb258-cbbf-4589-a673-34f800160918"


class TestDeNullRule:
    def test_removes_nuls_from_keys_and_values(self, run_rule):
        raw_crash = {
            "Product\0Name": "Fire\0fox",
            "Version": "1\x000",
            "Blob": b"ab\0c",
            b"BytesKey\0": "v",
            "Count": 5,
            "Nested": {"a": "x\0"},
        }
        run_rule(DeNullRule(), raw_crash=raw_crash)
        assert raw_crash == {
            "ProductName": "Firefox",
            "Version": "10",
            "Blob": b"abc",
            b"BytesKey": "v",
            "Count": 5,
            # Only top-level values are cleaned; nested JSON is encoded later and NULs
            # there become \u0000 escapes.
            "Nested": {"a": "x\0"},
        }

    def test_clean_key_wins_over_nul_variant(self, run_rule):
        raw_crash = {"ProductName": "Firefox", "Product\0Name": "junk"}
        run_rule(DeNullRule(), raw_crash=raw_crash)
        assert raw_crash == {"ProductName": "Firefox"}

    def test_metric_only_when_something_changed(self, run_rule):
        with MetricsMock() as mm:
            run_rule(DeNullRule(), raw_crash={"a": "b", "n": float("nan"), "x": None})
            mm.assert_not_incr("crashproc.processor.denullrule.has_nulls")
            run_rule(DeNullRule(), raw_crash={"a\0": "b\0", "c": "\0"})
            mm.assert_incr_once("crashproc.processor.denullrule.has_nulls")

    def test_no_notes(self, run_rule):
        assert run_rule(DeNullRule(), raw_crash={"a\0": "b"}).notes == []


class TestDeNoneRule:
    def test_removes_only_none(self, run_rule):
        raw_crash = {"a": None, "b": "", "c": 0, "d": False, "e": [], "f": "x"}
        with MetricsMock() as mm:
            run_rule(DeNoneRule(), raw_crash=raw_crash)
            mm.assert_incr_once("crashproc.processor.denonerule.had_nones")
        assert raw_crash == {"b": "", "c": 0, "d": False, "e": [], "f": "x"}

    def test_no_metric_without_nones(self, run_rule):
        with MetricsMock() as mm:
            run_rule(DeNoneRule(), raw_crash={"a": "1"})
            mm.assert_not_incr("crashproc.processor.denonerule.had_nones")


class TestCrashReportKeysRule:
    def test_annotations_and_dumps_sorted(self, run_rule):
        processed_crash = {}
        status = run_rule(
            CrashReportKeysRule(),
            raw_crash={"uuid": CRASH_ID, "ProductName": "Firefox", "Version-2_x": "1"},
            dumps={"upload_file_minidump": "/p/a", "memory_report": "/p/b", "uuid": "/p/c"},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_report_keys"] == [
            "ProductName",
            "Version-2_x",
            "memory_report",
            "upload_file_minidump",
            "uuid",
        ]
        assert status.notes == []

    @pytest.mark.parametrize(
        "bad_key",
        ["has space", "dotted.name", "", "newline\n", "ünïcode", "semi;colon", 7, None],
    )
    def test_invalid_keys_dropped_with_note(self, run_rule, bad_key):
        processed_crash = {}
        status = run_rule(
            CrashReportKeysRule(),
            raw_crash={"Good": "1", bad_key: "secret value"},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_report_keys"] == ["Good"]
        assert status.notes == ["invalidkeys: Crash report contains invalid keys"]

    def test_long_keys_are_cut_and_noted(self, run_rule):
        processed_crash = {}
        status = run_rule(
            CrashReportKeysRule(),
            raw_crash={"a" * 150: "1", "b" * 100: "2"},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_report_keys"] == ["a" * 100, "b" * 100]
        assert status.notes == ["invalidkeys: Crash report contains invalid keys"]

    def test_max_length_parameter(self, run_rule):
        processed_crash = {}
        run_rule(
            CrashReportKeysRule(max_length=3),
            raw_crash={"abcdef": "1"},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_report_keys"] == ["abc"]

    def test_empty_crash(self, run_rule):
        processed_crash = {}
        status = run_rule(CrashReportKeysRule(), processed_crash=processed_crash)
        assert processed_crash["crash_report_keys"] == []
        assert status.notes == []


class TestCollectorMetadataRule:
    def test_copies_metadata_deeply(self, run_rule):
        metadata = {"collector_notes": [], "dump_checksums": {"upload_file_minidump": "ab"}}
        raw_crash = {"metadata": metadata}
        processed_crash = {}
        run_rule(CollectorMetadataRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash["collector_metadata"] == metadata
        processed_crash["collector_metadata"]["dump_checksums"]["upload_file_minidump"] = "zz"
        assert raw_crash["metadata"]["dump_checksums"]["upload_file_minidump"] == "ab"

    def test_default_is_empty_dict(self, run_rule):
        processed_crash = {}
        status = run_rule(CollectorMetadataRule(), processed_crash=processed_crash)
        assert processed_crash["collector_metadata"] == {}
        assert status.notes == []

    @pytest.mark.parametrize("bad", ["https://secret.example/?token=abc", ["x"], 3])
    def test_non_dict_metadata_noted_without_value(self, run_rule, bad):
        processed_crash = {}
        status = run_rule(
            CollectorMetadataRule(), raw_crash={"metadata": bad}, processed_crash=processed_crash
        )
        assert processed_crash["collector_metadata"] == {}
        assert status.notes == [
            f"CollectorMetadataRule: metadata is {type(bad).__name__} and not dict"
        ]
        assert str(bad) not in status.notes[0]


class TestIdentifierRule:
    def test_copies_uuid(self, run_rule):
        processed_crash = {}
        run_rule(IdentifierRule(), raw_crash={"uuid": CRASH_ID}, processed_crash=processed_crash)
        assert processed_crash == {"crash_id": CRASH_ID, "uuid": CRASH_ID}

    def test_no_uuid_writes_nothing(self, run_rule):
        processed_crash = {}
        run_rule(IdentifierRule(), raw_crash={"ProductName": "x"}, processed_crash=processed_crash)
        assert processed_crash == {}


class TestMinidumpSha256HashRule:
    def test_copies_checksum(self, run_rule):
        digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        processed_crash = {}
        run_rule(
            MinidumpSha256HashRule(),
            raw_crash={"metadata": {"dump_checksums": {"upload_file_minidump": digest}}},
            processed_crash=processed_crash,
        )
        assert processed_crash["minidump_sha256_hash"] == digest

    @pytest.mark.parametrize(
        "raw_crash",
        [
            {},
            {"metadata": {}},
            {"metadata": {"dump_checksums": {"upload_file_minidump_browser": "ab"}}},
            {"metadata": None},
            {"metadata": "x"},
            {"metadata": {"dump_checksums": ["upload_file_minidump"]}},
            {"metadata": {"dump_checksums": {"upload_file_minidump": 12}}},
        ],
    )
    def test_defaults_to_empty_string(self, run_rule, raw_crash):
        processed_crash = {}
        status = run_rule(
            MinidumpSha256HashRule(), raw_crash=raw_crash, processed_crash=processed_crash
        )
        assert processed_crash["minidump_sha256_hash"] == ""
        assert status.notes == []


@pytest.mark.parametrize(
    "raw_crash",
    [
        {},
        {None: None, 1: b"\0", b"k\0": [None], "uuid": None},
        {"metadata": ["dump_checksums"], "uuid": ["not", "a", "string"]},
        {"metadata": {"dump_checksums": None}},
    ],
)
@pytest.mark.parametrize(
    "rule_class",
    [
        DeNullRule,
        DeNoneRule,
        CrashReportKeysRule,
        CollectorMetadataRule,
        IdentifierRule,
        MinidumpSha256HashRule,
    ],
)
def test_every_rule_survives_garbage(run_rule, rule_class, raw_crash):
    status = run_rule(rule_class(), raw_crash=dict(raw_crash), dumps={"bad name": "/x"})
    assert all(isinstance(note, str) for note in status.notes)
