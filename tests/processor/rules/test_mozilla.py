"""Tests for the annotation-derived Mozilla rules, the version table and the expiring cache."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time
from markus.testing import MetricsMock

from processor.resources.expiring_cache import MISSING, ExpiringCache
from processor.resources.versionlookup import TableVersionLookup, VersionLookup, VersionTableError
from processor.rules.base import Rule
from processor.rules.mozilla import (
    AddonsRule,
    BetaVersionRule,
    ConvertModuleSignatureInfoRule,
    DatesAndTimesRule,
    DistributionIdRule,
    ESRVersionRewrite,
    MajorVersionRule,
    MozCrashReasonRule,
    PHCRule,
    ProcessTypeRule,
    SubmittedFromRule,
    ThemePrettyNameRule,
    UtilityActorsNameRule,
)

SECRET = "https://secret.example/private?token=abc"


def assert_no_secret(status) -> None:
    assert all(SECRET not in note for note in status.notes)


class TestProcessTypeRule:
    @pytest.mark.parametrize(
        ("raw_crash", "expected"),
        [
            ({}, "parent"),
            ({"ProcessType": "main"}, "parent"),
            ({"ProcessType": "content"}, "content"),
            ({"ProcessType": "gpu"}, "gpu"),
        ],
    )
    def test_values(self, run_rule, raw_crash, expected):
        processed_crash = {}
        status = run_rule(ProcessTypeRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {"process_type": expected}
        assert status.notes == []

    def test_non_string_is_noted_and_defaults(self, run_rule):
        processed_crash = {}
        status = run_rule(
            ProcessTypeRule(), raw_crash={"ProcessType": 3}, processed_crash=processed_crash
        )
        assert processed_crash == {"process_type": "parent"}
        assert status.notes == ["ProcessType has a non-string value"]


class TestMajorVersionRule:
    @pytest.mark.parametrize(
        ("version", "expected"),
        [
            ("120.0", 120),
            ("120.0.1", 120),
            ("115.5.0esr", 115),
            ("121.0b3", 121),
            ("3", 3),
            ("", 0),
            ("abc.1", 0),
            ("120a1", 0),
            ("1\x00.0", 0),
            ("9" * 5000, 0),  # beyond Python's int() digit limit
            ("9" * 30 + ".0", 0),  # an int, but too large for a 64-bit field
        ],
    )
    def test_values(self, run_rule, version, expected):
        processed_crash = {}
        run_rule(
            MajorVersionRule(), raw_crash={"Version": version}, processed_crash=processed_crash
        )
        assert processed_crash == {"major_version": expected}

    def test_missing_version(self, run_rule):
        processed_crash = {}
        status = run_rule(MajorVersionRule(), processed_crash=processed_crash)
        assert processed_crash == {"major_version": 0}
        assert status.notes == []

    def test_non_string_version(self, run_rule):
        processed_crash = {}
        status = run_rule(
            MajorVersionRule(), raw_crash={"Version": 120}, processed_crash=processed_crash
        )
        assert processed_crash == {"major_version": 0}
        assert status.notes == ["Version has a non-string value"]


class TestConvertModuleSignatureInfoRule:
    """Socorro's cases: absent and string values are left alone, a JSON object becomes its
    JSON text; the processed crash is not touched."""

    def test_absent(self, run_rule):
        raw_crash, processed_crash = {}, {}
        status = run_rule(ConvertModuleSignatureInfoRule(), raw_crash, processed_crash)
        assert raw_crash == {} and processed_crash == {} and status.notes == []

    def test_string_value_is_left_alone(self, run_rule):
        raw_crash, processed_crash = {"ModuleSignatureInfo": "{}"}, {}
        run_rule(ConvertModuleSignatureInfoRule(), raw_crash, processed_crash)
        assert raw_crash == {"ModuleSignatureInfo": "{}"}
        assert processed_crash == {}

    def test_object_value_becomes_its_json_text(self, run_rule):
        raw_crash, processed_crash = {"ModuleSignatureInfo": {"foo": "bar"}}, {}
        status = run_rule(ConvertModuleSignatureInfoRule(), raw_crash, processed_crash)
        assert raw_crash == {"ModuleSignatureInfo": '{"foo": "bar"}'}
        assert processed_crash == {} and status.notes == []

    @pytest.mark.parametrize(("value", "text"), [([1, "a"], '[1, "a"]'), (3, "3"), (True, "true")])
    def test_any_other_non_string_is_encoded_too(self, run_rule, value, text):
        raw_crash = {"ModuleSignatureInfo": value}
        run_rule(ConvertModuleSignatureInfoRule(), raw_crash)
        assert raw_crash == {"ModuleSignatureInfo": text}


class TestESRVersionRewrite:
    def test_appends_esr(self, run_rule):
        processed_crash = {"release_channel": "esr", "version": "115.5.0"}
        status = run_rule(ESRVersionRewrite(), processed_crash=processed_crash)
        assert processed_crash["version"] == "115.5.0esr"
        assert status.notes == []

    def test_running_twice_does_not_double_the_suffix(self, run_rule):
        processed_crash = {"release_channel": "esr", "version": "115.5.0"}
        run_rule(ESRVersionRewrite(), processed_crash=processed_crash)
        run_rule(ESRVersionRewrite(), processed_crash=processed_crash)
        assert processed_crash["version"] == "115.5.0esr"

    @pytest.mark.parametrize("channel", ["release", "beta", "ESR", None])
    def test_other_channels_untouched(self, run_rule, channel):
        processed_crash = {"release_channel": channel, "version": "115.5.0"}
        run_rule(ESRVersionRewrite(), processed_crash=processed_crash)
        assert processed_crash["version"] == "115.5.0"

    @pytest.mark.parametrize("version", [None, 115])
    def test_missing_version_is_noted(self, run_rule, version):
        processed_crash = {"release_channel": "esr"}
        if version is not None:
            processed_crash["version"] = version
        status = run_rule(ESRVersionRewrite(), processed_crash=processed_crash)
        assert status.notes == ["'version' missing from esr release processed_crash"]
        assert processed_crash.get("version") == version


class TestSubmittedFromRule:
    @pytest.mark.parametrize(
        ("raw_crash", "submitted_from", "infobar"),
        [
            ({}, "Unknown", False),
            ({"SubmittedFrom": "Infobar"}, "Infobar", True),
            ({"SubmittedFrom": "Auto"}, "Auto", False),
            ({"SubmittedFrom": "CrashedTab"}, "CrashedTab", False),
            ({"SubmittedFromInfobar": "1"}, "Infobar", True),
            ({"SubmittedFromInfobar": "true"}, "Infobar", True),
            ({"SubmittedFromInfobar": True}, "Infobar", True),
            ({"SubmittedFromInfobar": "0"}, "Unknown", False),
            ({"SubmittedFromInfobar": "yes"}, "Unknown", False),
            ({"SubmittedFromInfobar": {"a": 1}}, "Unknown", False),
            # The legacy annotation wins when both are present.
            ({"SubmittedFromInfobar": "0", "SubmittedFrom": "Infobar"}, "Unknown", False),
        ],
    )
    def test_values(self, run_rule, raw_crash, submitted_from, infobar):
        processed_crash = {}
        run_rule(SubmittedFromRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {
            "submitted_from": submitted_from,
            "submitted_from_infobar": infobar,
        }

    def test_non_string_submitted_from(self, run_rule):
        processed_crash = {}
        status = run_rule(
            SubmittedFromRule(), raw_crash={"SubmittedFrom": ["x"]}, processed_crash=processed_crash
        )
        assert processed_crash["submitted_from"] == "Unknown"
        assert status.notes == ["SubmittedFrom has a non-string value"]


class TestAddonsRule:
    def test_addons_are_split_versioned_and_unquoted(self, run_rule):
        raw_crash = {
            "EMCheckCompatibility": "true",
            "Add-ons": "formautofill%40mozilla.org:1.0.1,{972ce4c6-7e08-4474-a285-3208198ce6fd}:120.0,"
            "no-version%40example.com,spaced+name:2",
        }
        processed_crash = {}
        run_rule(AddonsRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {
            "addons_checked": True,
            "addons": [
                "formautofill@mozilla.org:1.0.1",
                "{972ce4c6-7e08-4474-a285-3208198ce6fd}:120.0",
                "no-version@example.com:NO_VERSION",
                "spaced name:2",
            ],
        }

    @pytest.mark.parametrize(
        ("raw_crash", "checked"),
        [
            ({}, None),
            ({"EMCheckCompatibility": "TRUE"}, True),
            ({"EMCheckCompatibility": True}, True),
            ({"EMCheckCompatibility": "false"}, False),
            ({"EMCheckCompatibility": "junk"}, False),
            ({"EMCheckCompatibility": 1}, False),
        ],
    )
    def test_addons_checked(self, run_rule, raw_crash, checked):
        processed_crash = {}
        run_rule(AddonsRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {"addons_checked": checked, "addons": []}

    def test_empty_addons(self, run_rule):
        processed_crash = {}
        run_rule(AddonsRule(), raw_crash={"Add-ons": ""}, processed_crash=processed_crash)
        assert processed_crash["addons"] == []

    def test_non_string_addons(self, run_rule):
        processed_crash = {}
        status = run_rule(
            AddonsRule(), raw_crash={"Add-ons": ["a:1"]}, processed_crash=processed_crash
        )
        assert processed_crash["addons"] == []
        assert status.notes == ["Add-ons has a non-string value"]

    def test_many_addons(self, run_rule):
        processed_crash = {}
        addons = ",".join(f"addon{i}%40example.com:{i}" for i in range(20000))
        run_rule(AddonsRule(), raw_crash={"Add-ons": addons}, processed_crash=processed_crash)
        assert len(processed_crash["addons"]) == 20000
        assert processed_crash["addons"][-1] == "addon19999@example.com:19999"


class TestThemePrettyNameRule:
    THEME = "{972ce4c6-7e08-4474-a285-3208198ce6fd}"

    def test_renames_default_theme(self, run_rule):
        processed_crash = {
            "addons": ["a@example.com:1", f"{self.THEME}:120.0", self.THEME, 7],
        }
        run_rule(ThemePrettyNameRule(), processed_crash=processed_crash)
        assert processed_crash["addons"] == [
            "a@example.com:1",
            f"{self.THEME} (default theme):120.0",
            f"{self.THEME} (default theme)",
            7,
        ]

    @pytest.mark.parametrize("addons", [[], ["a@example.com:1"], None, "not a list"])
    def test_nothing_to_rename(self, run_rule, addons):
        processed_crash = {"addons": addons}
        run_rule(ThemePrettyNameRule(), processed_crash=processed_crash)
        assert processed_crash == {"addons": addons}

    def test_after_addons_rule(self, run_rule):
        processed_crash = {}
        run_rule(
            AddonsRule(),
            raw_crash={"Add-ons": f"{self.THEME}:1.0"},
            processed_crash=processed_crash,
        )
        run_rule(ThemePrettyNameRule(), processed_crash=processed_crash)
        assert processed_crash["addons"] == [f"{self.THEME} (default theme):1.0"]


class TestDistributionIdRule:
    @pytest.mark.parametrize(
        ("raw_crash", "expected"),
        [
            ({}, "unknown"),
            ({"DistributionID": "canonical"}, "canonical"),
            ({"DistributionID": "", "TelemetryEnvironment": "{}"}, "unknown"),
            (
                {"TelemetryEnvironment": json.dumps({"partner": {"distributionId": "debian"}})},
                "debian",
            ),
            (
                {
                    "DistributionID": "",
                    "TelemetryEnvironment": json.dumps({"partner": {"distributionId": "debian"}}),
                },
                "debian",
            ),
            (
                {"TelemetryEnvironment": json.dumps({"partner": {"distributionId": None}})},
                "mozilla",
            ),
            ({"TelemetryEnvironment": json.dumps({"partner": {"distributionId": ""}})}, "mozilla"),
            ({"TelemetryEnvironment": json.dumps({"partner": {"distributionId": 5}})}, "unknown"),
            ({"TelemetryEnvironment": json.dumps({"partner": "x"})}, "unknown"),
            ({"TelemetryEnvironment": json.dumps([1, 2])}, "unknown"),
            ({"TelemetryEnvironment": "{not json"}, "unknown"),
            ({"TelemetryEnvironment": "[" * 100000}, "unknown"),
            ({"TelemetryEnvironment": {"partner": {"distributionId": "dict-form"}}}, "dict-form"),
        ],
    )
    def test_values(self, run_rule, raw_crash, expected):
        processed_crash = {}
        status = run_rule(
            DistributionIdRule(), raw_crash=raw_crash, processed_crash=processed_crash
        )
        assert processed_crash == {"distribution_id": expected}
        assert status.notes == []


class TestUtilityActorsNameRule:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("audio-decoder-generic", ["audio-decoder-generic"]),
            (
                " audio-decoder-generic, ,windows-utils ,",
                ["audio-decoder-generic", "windows-utils"],
            ),
            ("", []),
        ],
    )
    def test_values(self, run_rule, value, expected):
        processed_crash = {}
        run_rule(
            UtilityActorsNameRule(),
            raw_crash={"UtilityActorsName": value},
            processed_crash=processed_crash,
        )
        assert processed_crash == {"utility_actors_name": expected}

    def test_absent(self, run_rule):
        processed_crash = {}
        status = run_rule(UtilityActorsNameRule(), processed_crash=processed_crash)
        assert processed_crash == {}
        assert status.notes == []

    def test_non_string(self, run_rule):
        processed_crash = {}
        status = run_rule(
            UtilityActorsNameRule(),
            raw_crash={"UtilityActorsName": 12},
            processed_crash=processed_crash,
        )
        assert processed_crash == {}
        assert status.notes == ["UtilityActorsName has a non-string value"]


SUBMITTED = "2024-03-01T12:00:00.123456+00:00"
SUBMITTED_EPOCH = 1709294400  # date -d 2024-03-01T12:00:00Z +%s


class TestDatesAndTimesRule:
    def test_normal_crash(self, run_rule):
        raw_crash = {
            "submitted_timestamp": SUBMITTED,
            "CrashTime": "1709290000",  # 2024-03-01T10:46:40Z
            "InstallTime": "1709200000",
            "SecondsSinceLastCrash": "86400",
        }
        processed_crash = {"startup_time": 1709280000}
        status = run_rule(DatesAndTimesRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {
            "startup_time": 1709280000,
            "submitted_timestamp": SUBMITTED,
            "date_processed": SUBMITTED,
            "crash_time": 1709290000,
            "client_crash_date": "2024-03-01T10:46:40+00:00",
            "install_age": 90000,
            "uptime": 10000,
            "last_crash": 86400,
        }
        assert status.notes == []

    def test_defaults_without_client_times(self, run_rule):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": SUBMITTED},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_time"] == SUBMITTED_EPOCH
        assert processed_crash["client_crash_date"] == "2024-03-01T12:00:00+00:00"
        assert processed_crash["install_age"] == 0
        assert processed_crash["uptime"] == 0
        assert processed_crash["last_crash"] is None
        assert status.notes == [
            "WARNING: raw_crash missing CrashTime",
            "client_crash_date is unknown",
        ]

    def test_crash_time_is_cut_to_ten_characters(self, run_rule):
        processed_crash = {}
        run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": SUBMITTED, "CrashTime": "1709290000999"},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_time"] == 1709290000

    def test_integer_crash_time_from_json_blob(self, run_rule):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": SUBMITTED, "CrashTime": 1709290000},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_time"] == 1709290000
        assert status.notes == []

    @pytest.mark.parametrize("crash_time", ["abc", "", "12.5", None, [1], True])
    def test_bad_crash_time(self, run_rule, crash_time):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": SUBMITTED, "CrashTime": crash_time},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_time"] == 0
        assert processed_crash["client_crash_date"] == "1970-01-01T00:00:00+00:00"
        assert status.notes == ['non-integer value of "CrashTime"']

    def test_uptime_is_never_negative(self, run_rule):
        processed_crash = {"startup_time": 1709299999}
        run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": SUBMITTED, "CrashTime": "1709290000"},
            processed_crash=processed_crash,
        )
        assert processed_crash["uptime"] == 0
        # InstallTime defaults to the startup time.
        assert processed_crash["install_age"] == 1709290000 - 1709299999

    @pytest.mark.parametrize(
        ("startup_time", "uptime"), [("1336499438", 20116), ("soon", 0), (None, 0)]
    )
    def test_startup_time_given_as_a_string(self, run_rule, startup_time, uptime):
        # Socorro's canonical crash puts the raw "StartupTime" string into startup_time and
        # expects uptime 20116; a value that is no integer counts as absent.
        processed_crash = {"startup_time": startup_time}
        run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": SUBMITTED, "CrashTime": "1336519554"},
            processed_crash=processed_crash,
        )
        assert processed_crash["uptime"] == uptime

    @pytest.mark.parametrize("install_time", ["soon", "9" * 30, {"t": 1}])
    def test_bad_install_time(self, run_rule, install_time):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={
                "submitted_timestamp": SUBMITTED,
                "CrashTime": "1709290000",
                "InstallTime": install_time,
            },
            processed_crash=processed_crash,
        )
        assert processed_crash["install_age"] == 1709290000
        assert status.notes == ['non-integer value of "InstallTime"']

    @pytest.mark.parametrize(
        ("value", "expected", "notes"),
        [
            ("0", 0, []),
            ("12345", 12345, []),
            ("x", None, ['non-integer value of "SecondsSinceLastCrash"']),
            ("9" * 5000, None, ['non-integer value of "SecondsSinceLastCrash"']),
            (str(2**63), None, ['"SecondsSinceLastCrash" larger than MAXINT - set to NULL']),
            (str(2**63 - 1), 2**63 - 1, []),
        ],
    )
    def test_last_crash(self, run_rule, value, expected, notes):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={
                "submitted_timestamp": SUBMITTED,
                "CrashTime": "1709290000",
                "SecondsSinceLastCrash": value,
            },
            processed_crash=processed_crash,
        )
        assert processed_crash["last_crash"] == expected
        assert status.notes == notes

    def test_naive_submitted_timestamp_is_utc(self, run_rule):
        processed_crash = {}
        run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": "2024-03-01T12:00:00"},
            processed_crash=processed_crash,
        )
        assert processed_crash["crash_time"] == SUBMITTED_EPOCH

    @pytest.mark.parametrize(
        "submitted", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-13-01"]
    )
    def test_submitted_timestamp_out_of_range(self, run_rule, submitted):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": submitted, "CrashTime": "1709290000"},
            processed_crash=processed_crash,
        )
        assert processed_crash["submitted_timestamp"] == submitted
        assert processed_crash["client_crash_date"] == "2024-03-01T10:46:40+00:00"
        assert status.notes == ["WARNING: raw_crash has a malformed submitted_timestamp"]

    def test_missing_submitted_timestamp(self, run_rule):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={"CrashTime": "1709290000"},
            processed_crash=processed_crash,
        )
        assert "submitted_timestamp" not in processed_crash
        assert "date_processed" not in processed_crash
        assert processed_crash["crash_time"] == 1709290000
        assert status.notes == ["WARNING: raw_crash missing submitted_timestamp"]

    def test_malformed_submitted_timestamp(self, run_rule):
        processed_crash = {}
        status = run_rule(
            DatesAndTimesRule(),
            raw_crash={"submitted_timestamp": "yesterday"},
            processed_crash=processed_crash,
        )
        assert processed_crash["submitted_timestamp"] == "yesterday"
        assert processed_crash["crash_time"] == 0
        assert status.notes == [
            "WARNING: raw_crash has a malformed submitted_timestamp",
            "WARNING: raw_crash missing CrashTime",
            "client_crash_date is unknown",
        ]


class TestMozCrashReasonRule:
    def test_public_reason(self, run_rule):
        processed_crash = {}
        status = run_rule(
            MozCrashReasonRule(),
            raw_crash={"MozCrashReason": "MOZ_CRASH(Shutdown too long)"},
            processed_crash=processed_crash,
        )
        assert processed_crash == {
            "moz_crash_reason_raw": "MOZ_CRASH(Shutdown too long)",
            "moz_crash_reason": "MOZ_CRASH(Shutdown too long)",
        }
        assert status.notes == []

    @pytest.mark.parametrize(
        "reason",
        [
            f'Failed to load module "{SECRET}"',
            "byte index 5 is not a char boundary; it is inside 'é' of `secret text`",
            f"do not use eval with system privileges: {SECRET}",
        ],
    )
    def test_sanitized_reasons(self, run_rule, reason):
        processed_crash = {}
        status = run_rule(
            MozCrashReasonRule(),
            raw_crash={"MozCrashReason": reason},
            processed_crash=processed_crash,
        )
        assert processed_crash == {
            "moz_crash_reason_raw": reason,
            "moz_crash_reason": "sanitized--see moz_crash_reason_raw",
        }
        assert_no_secret(status)

    @pytest.mark.parametrize("raw_crash", [{}, {"MozCrashReason": ""}])
    def test_absent_or_empty(self, run_rule, raw_crash):
        processed_crash = {}
        run_rule(MozCrashReasonRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {}

    def test_non_string(self, run_rule):
        processed_crash = {}
        status = run_rule(
            MozCrashReasonRule(),
            raw_crash={"MozCrashReason": {"msg": SECRET}},
            processed_crash=processed_crash,
        )
        assert processed_crash == {}
        assert status.notes == ["MozCrashReason has a non-string value"]


class TestPHCRule:
    def test_all_fields(self, run_rule):
        raw_crash = {
            "PHCKind": "FreedPage",
            "PHCBaseAddress": "8796093022208",
            "PHCUsableSize": "4096",
            "PHCAllocStack": "100,200,300",
            "PHCFreeStack": "400,500",
        }
        processed_crash = {}
        status = run_rule(PHCRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {
            "phc_kind": "FreedPage",
            "phc_base_address": "0x80000000000",
            "phc_usable_size": 4096,
            "phc_alloc_stack": "100,200,300",
            "phc_free_stack": "400,500",
        }
        assert status.notes == []

    def test_only_kind(self, run_rule):
        processed_crash = {}
        run_rule(PHCRule(), raw_crash={"PHCKind": "GuardPage"}, processed_crash=processed_crash)
        assert processed_crash == {"phc_kind": "GuardPage"}

    def test_without_kind_nothing_happens(self, run_rule):
        processed_crash = {}
        run_rule(PHCRule(), raw_crash={"PHCUsableSize": "8"}, processed_crash=processed_crash)
        assert processed_crash == {}

    @pytest.mark.parametrize("address", ["0x10", "abc", "-5", str(2**64), ""])
    def test_bad_base_address(self, run_rule, address):
        processed_crash = {}
        status = run_rule(
            PHCRule(),
            raw_crash={"PHCKind": "FreedPage", "PHCBaseAddress": address},
            processed_crash=processed_crash,
        )
        assert "phc_base_address" not in processed_crash
        assert status.notes == ["PHCBaseAddress is not a valid address"]

    @pytest.mark.parametrize("size", ["big", "-1", "9" * 30, 1.5])
    def test_bad_usable_size(self, run_rule, size):
        processed_crash = {}
        status = run_rule(
            PHCRule(),
            raw_crash={"PHCKind": "FreedPage", "PHCUsableSize": size},
            processed_crash=processed_crash,
        )
        assert "phc_usable_size" not in processed_crash
        assert status.notes == ["PHCUsableSize is not a valid size"]

    def test_non_string_stack(self, run_rule):
        processed_crash = {}
        status = run_rule(
            PHCRule(),
            raw_crash={"PHCKind": "FreedPage", "PHCAllocStack": [1, 2]},
            processed_crash=processed_crash,
        )
        assert processed_crash == {"phc_kind": "FreedPage"}
        assert status.notes == ["PHCAllocStack has a non-string value"]


# -- BetaVersionRule ---------------------------------------------------------------------------


class RecordingLookup:
    """A real VersionLookup over a table that records its calls, to observe the cache."""

    def __init__(self, table: TableVersionLookup) -> None:
        self.table = table
        self.calls: list[tuple[str, str, str]] = []

    def lookup(self, product: str, channel: str, build_id: str) -> str | None:
        self.calls.append((product, channel, build_id))
        return self.table.lookup(product, channel, build_id)


class FailingLookup:
    """A backend that breaks (say, a table on a vanished network share)."""

    def __init__(self) -> None:
        self.calls = 0

    def lookup(self, product: str, channel: str, build_id: str) -> str | None:
        self.calls += 1
        raise OSError("backend unavailable")


VERSION_ROWS = [
    {
        "product": "Firefox",
        "channel": "beta",
        "build_id": "20240226091927",
        "version_string": "124.0b3",
    },
    {
        "product": "Thunderbird",
        "channel": "beta",
        "build_id": "20240227100000",
        "version_string": "124.0b2",
    },
    {
        "product": "DevEdition",
        "channel": "aurora",
        "build_id": "20240226091927",
        "version_string": "124.0b3",
    },
    {
        "product": "Firefox",
        "channel": "aurora",
        "build_id": "20170501000000",
        "version_string": "55.0a2",
    },
]


@pytest.fixture
def version_table(tmp_path):
    path = tmp_path / "versions.json"
    path.write_text(json.dumps(VERSION_ROWS))
    return TableVersionLookup(path)


def beta_crash(product="Firefox", channel="beta", build="20240226091927", version="124.0"):
    return {"product": product, "release_channel": channel, "build": build, "version": version}


class TestBetaVersionRule:
    def test_real_version_found(self, run_rule, version_table):
        rule = BetaVersionRule(version_lookup=version_table)
        processed_crash = beta_crash()
        with MetricsMock() as mm:
            status = run_rule(rule, processed_crash=processed_crash)
        assert processed_crash["version"] == "124.0b3"
        assert status.notes == []
        mm.assert_incr_once("crashproc.processor.betaversionrule.cache", tags=["result:miss"])
        mm.assert_incr_once("crashproc.processor.betaversionrule.lookup", tags=["result:success"])

    def test_thunderbird_and_channel_case(self, run_rule, version_table):
        processed_crash = beta_crash(product="Thunderbird", channel="Beta", build="20240227100000")
        run_rule(BetaVersionRule(version_table), processed_crash=processed_crash)
        assert processed_crash["version"] == "124.0b2"

    def test_not_found_adds_b0_and_note(self, run_rule, version_table):
        processed_crash = beta_crash(build="20240101000000")
        with MetricsMock() as mm:
            status = run_rule(BetaVersionRule(version_table), processed_crash=processed_crash)
        assert processed_crash["version"] == "124.0b0"
        assert status.notes == [
            'release channel is beta but no version data was found - added "b0" '
            "suffix to version number"
        ]
        mm.assert_incr_once("crashproc.processor.betaversionrule.lookup", tags=["result:fail"])

    def test_default_lookup_is_an_empty_table(self, run_rule):
        processed_crash = beta_crash()
        run_rule(BetaVersionRule(), processed_crash=processed_crash)
        assert processed_crash["version"] == "124.0b0"

    @pytest.mark.parametrize("build", ["", "   ", None, ["2024"]])
    def test_no_build_id_skips_lookup(self, run_rule, version_table, build):
        lookup = RecordingLookup(version_table)
        processed_crash = beta_crash(build=build)
        run_rule(BetaVersionRule(lookup), processed_crash=processed_crash)
        assert lookup.calls == []
        assert processed_crash["version"] == "124.0b0"

    def test_integer_build_id(self, run_rule, version_table):
        processed_crash = beta_crash(build=20240226091927)
        run_rule(BetaVersionRule(version_table), processed_crash=processed_crash)
        assert processed_crash["version"] == "124.0b3"

    def test_missing_version_is_noted(self, run_rule, version_table):
        processed_crash = beta_crash(build="20240101000000")
        del processed_crash["version"]
        status = run_rule(BetaVersionRule(version_table), processed_crash=processed_crash)
        assert "version" not in processed_crash
        assert status.notes == ["release channel is beta but the version is missing"]

    @pytest.mark.parametrize(
        ("build", "looked_up_as"),
        [("20240226091927", "DevEdition"), ("20170501000000", "Firefox")],
    )
    def test_aurora_after_2017_is_devedition(self, run_rule, version_table, build, looked_up_as):
        lookup = RecordingLookup(version_table)
        processed_crash = beta_crash(channel="aurora", build=build)
        run_rule(BetaVersionRule(lookup), processed_crash=processed_crash)
        assert lookup.calls == [(looked_up_as, "aurora", build)]
        assert processed_crash["version"] != "124.0b0"

    @pytest.mark.parametrize(
        "processed_crash",
        [
            beta_crash(channel="release"),
            beta_crash(channel="nightly"),
            beta_crash(product="Fenix"),
            beta_crash(product="DevEdition"),
            {"product": "Firefox", "release_channel": None, "version": "1.0"},
            {"version": "1.0"},
        ],
    )
    def test_predicate(self, run_rule, version_table, processed_crash):
        before = dict(processed_crash)
        lookup = RecordingLookup(version_table)
        run_rule(BetaVersionRule(lookup), processed_crash=processed_crash)
        assert processed_crash == before
        assert lookup.calls == []

    def test_answers_are_cached_for_a_day(self, run_rule, version_table):
        lookup = RecordingLookup(version_table)
        rule = BetaVersionRule(lookup)
        with freeze_time("2024-03-01 12:00:00") as frozen:
            run_rule(rule, processed_crash=beta_crash())
            frozen.tick(23 * 3600)
            with MetricsMock() as mm:
                processed_crash = beta_crash()
                run_rule(rule, processed_crash=processed_crash)
            assert processed_crash["version"] == "124.0b3"
            assert len(lookup.calls) == 1
            mm.assert_incr_once("crashproc.processor.betaversionrule.cache", tags=["result:hit"])
            mm.assert_not_incr("crashproc.processor.betaversionrule.lookup")
            frozen.tick(2 * 3600)
            run_rule(rule, processed_crash=beta_crash())
            assert len(lookup.calls) == 2

    def test_misses_are_cached_for_half_an_hour(self, run_rule, version_table):
        lookup = RecordingLookup(version_table)
        rule = BetaVersionRule(lookup)
        with freeze_time("2024-03-01 12:00:00") as frozen:
            run_rule(rule, processed_crash=beta_crash(build="20240101000000"))
            frozen.tick(29 * 60)
            processed_crash = beta_crash(build="20240101000000")
            status = run_rule(rule, processed_crash=processed_crash)
            assert len(lookup.calls) == 1
            # A remembered miss still gets the fallback.
            assert processed_crash["version"] == "124.0b0"
            assert len(status.notes) == 1
            frozen.tick(2 * 60)
            run_rule(rule, processed_crash=beta_crash(build="20240101000000"))
            assert len(lookup.calls) == 2

    def test_failing_backend_falls_back_and_is_not_cached(self, run_rule):
        lookup = FailingLookup()
        rule = BetaVersionRule(lookup)
        for _ in range(2):
            processed_crash = beta_crash()
            with MetricsMock() as mm:
                run_rule(rule, processed_crash=processed_crash)
            assert processed_crash["version"] == "124.0b0"
            mm.assert_incr_once("crashproc.processor.betaversionrule.lookup", tags=["result:fail"])
        assert lookup.calls == 2

    def test_non_string_answer_is_a_miss(self, run_rule):
        class NumberLookup:
            def lookup(self, product, channel, build_id):
                return 124

        processed_crash = beta_crash()
        run_rule(BetaVersionRule(NumberLookup()), processed_crash=processed_crash)
        assert processed_crash["version"] == "124.0b0"

    @pytest.mark.parametrize(
        ("crash", "asked"),
        [
            (
                beta_crash(channel="BETA", build=" 20240226091927 "),
                ("Firefox", "beta", "20240226091927"),
            ),
            (beta_crash(build=20240226091927), ("Firefox", "beta", "20240226091927")),
            (
                beta_crash(product="Thunderbird", channel="Aurora"),
                ("Thunderbird", "aurora", "20240226091927"),
            ),
        ],
    )
    def test_any_object_with_a_lookup_method_is_asked_and_answered(self, run_rule, crash, asked):
        # The VersionLookup protocol in use: a plain class (no base class, no table) gets the
        # product, the lowercased channel and the build id as trimmed text, and its answer,
        # whatever it is, becomes the version.
        class Answering:
            def __init__(self):
                self.calls = []

            def lookup(self, product, channel, build_id):
                self.calls.append((product, channel, build_id))
                return f"answer for {build_id}"

        lookup = Answering()
        run_rule(BetaVersionRule(lookup), processed_crash=crash)
        assert lookup.calls == [asked]
        assert crash["version"] == f"answer for {asked[2]}"


class TestTableVersionLookup:
    def test_json_rows(self, version_table):
        assert len(version_table) == 4
        assert version_table.lookup("Firefox", "beta", "20240226091927") == "124.0b3"
        assert version_table.lookup("Firefox", "BETA", "20240226091927") == "124.0b3"
        assert version_table.lookup("Firefox", "beta", "20240226091928") is None

    def test_api_response_shape(self, tmp_path):
        path = tmp_path / "response.json"
        path.write_text(json.dumps({"hits": VERSION_ROWS[:1], "total": 1}))
        assert TableVersionLookup(path).lookup("Firefox", "beta", "20240226091927") == "124.0b3"

    def test_numeric_build_ids_in_json(self, tmp_path):
        path = tmp_path / "versions.json"
        row = dict(VERSION_ROWS[0], build_id=20240226091927)
        path.write_text(json.dumps([row]))
        assert TableVersionLookup(path).lookup("Firefox", "beta", "20240226091927") == "124.0b3"

    def test_csv(self, tmp_path):
        path = tmp_path / "versions.csv"
        path.write_text(
            "product,channel,build_id,version_string\n"
            "Firefox,beta,20240226091927,124.0b3\n"
            "Thunderbird,Beta,20240227100000,124.0b2\n"
        )
        table = TableVersionLookup(path)
        assert len(table) == 2
        assert table.lookup("Thunderbird", "beta", "20240227100000") == "124.0b2"

    def test_no_path_is_empty(self):
        table = TableVersionLookup()
        assert len(table) == 0
        assert table.lookup("Firefox", "beta", "20240226091927") is None

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("v.json", "{nope", "not valid JSON"),
            ("v.json", '{"rows": []}', "not a list of rows"),
            ("v.json", "[1]", "row 1 is not an object"),
            ("v.json", '[{"product": "Firefox"}]', "row 1: channel must be a non-empty string"),
            ("v.csv", "product,channel\nFirefox,beta\n", "lacks columns: build_id, version_string"),
        ],
    )
    def test_bad_tables(self, tmp_path, name, content, message):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(VersionTableError, match=message):
            TableVersionLookup(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(VersionTableError, match="cannot read"):
            TableVersionLookup(tmp_path / "absent.json")


class TestExpiringCache:
    def test_set_get_and_expiry(self):
        with freeze_time("2024-03-01 12:00:00") as frozen:
            cache = ExpiringCache(max_size=10, default_ttl=60)
            cache.set("a", 1)
            cache.set("b", None, ttl=600)
            assert cache.get("a") == 1
            assert cache.lookup("b") is None
            assert "b" in cache
            assert cache.lookup("c") is MISSING
            frozen.tick(61)
            assert cache.get("a", "gone") == "gone"
            assert "b" in cache

    def test_bounded_size_drops_oldest(self):
        cache = ExpiringCache(max_size=3, default_ttl=60)
        for key in "abcd":
            cache.set(key, key.upper())
        assert len(cache) == 3
        assert "a" not in cache
        assert [cache.get(key) for key in "bcd"] == ["B", "C", "D"]

    def test_resetting_a_key_makes_it_newest(self):
        cache = ExpiringCache(max_size=2, default_ttl=60)
        cache.set("a", 1)
        cache.set("b", 2)
        cache.set("a", 3)
        cache.set("c", 4)
        assert "b" not in cache
        assert cache.get("a") == 3

    def test_beta_rule_cache_is_bounded(self, run_rule, version_table):
        rule = BetaVersionRule(version_table)
        for build in range(rule.CACHE_MAX_SIZE + 50):
            run_rule(rule, processed_crash=beta_crash(build=str(20240101000000 + build)))
        assert len(rule.cache) == rule.CACHE_MAX_SIZE

    @pytest.mark.parametrize(("max_size", "ttl"), [(0, 1), (1, 0)])
    def test_invalid_parameters(self, max_size, ttl):
        with pytest.raises(ValueError):
            ExpiringCache(max_size=max_size, default_ttl=ttl)


def mozilla_rules(version_lookup: VersionLookup) -> list[Rule]:
    """One of each rule in processor.rules.mozilla, ThemePrettyNameRule after AddonsRule."""
    return [
        ProcessTypeRule(),
        ESRVersionRewrite(),
        MajorVersionRule(),
        SubmittedFromRule(),
        AddonsRule(),
        ThemePrettyNameRule(),
        DistributionIdRule(),
        UtilityActorsNameRule(),
        DatesAndTimesRule(),
        MozCrashReasonRule(),
        PHCRule(),
        BetaVersionRule(version_lookup),
    ]


def test_written_fields_match_the_processed_schema(run_rule, version_table, schema_problems):
    """Every field these rules write is declared, with the type they write, in the schema."""
    raw_crash = {
        "submitted_timestamp": SUBMITTED,
        "CrashTime": "1709290000",
        "InstallTime": "1709200000",
        "SecondsSinceLastCrash": "86400",
        "ProcessType": "content",
        "Version": "124.0",
        "SubmittedFrom": "Auto",
        "EMCheckCompatibility": "true",
        "Add-ons": "{972ce4c6-7e08-4474-a285-3208198ce6fd}:124.0,a%40b.org:1",
        "DistributionID": "canonical",
        "UtilityActorsName": "audio-decoder-generic,windows-utils",
        "MozCrashReason": "MOZ_CRASH(boom)",
        "PHCKind": "FreedPage",
        "PHCBaseAddress": "8796093022208",
        "PHCUsableSize": "4096",
        "PHCAllocStack": "1,2",
        "PHCFreeStack": "3,4",
    }
    processed_crash = beta_crash() | {"startup_time": 1709280000}
    for rule in mozilla_rules(version_table):
        run_rule(rule, raw_crash=raw_crash, processed_crash=processed_crash)
    assert set(processed_crash) == {
        *beta_crash(),
        "startup_time",
        "process_type",
        "major_version",
        "submitted_from",
        "submitted_from_infobar",
        "addons_checked",
        "addons",
        "distribution_id",
        "utility_actors_name",
        "submitted_timestamp",
        "date_processed",
        "crash_time",
        "client_crash_date",
        "install_age",
        "uptime",
        "last_crash",
        "moz_crash_reason_raw",
        "moz_crash_reason",
        "phc_kind",
        "phc_base_address",
        "phc_usable_size",
        "phc_alloc_stack",
        "phc_free_stack",
    }
    assert schema_problems(processed_crash) == {}


GARBAGE = [
    None,
    0,
    -1,
    2**70,
    1.5,
    float("nan"),
    True,
    [],
    {},
    {"a": [1]},
    "",
    "\x00",
    "x" * 1_000_000,
    "9" * 5000,
    "-" * 10,
]
ANNOTATIONS = [
    "submitted_timestamp",
    "CrashTime",
    "InstallTime",
    "SecondsSinceLastCrash",
    "ProcessType",
    "Version",
    "SubmittedFrom",
    "SubmittedFromInfobar",
    "EMCheckCompatibility",
    "Add-ons",
    "DistributionID",
    "TelemetryEnvironment",
    "UtilityActorsName",
    "MozCrashReason",
    "PHCKind",
    "PHCBaseAddress",
    "PHCUsableSize",
    "PHCAllocStack",
    "PHCFreeStack",
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=lambda value: type(value).__name__)
def test_garbage_everywhere_never_raises(run_rule, version_table, garbage):
    """Bad input becomes notes and defaults, never an exception (a "rule failed" note)."""
    raw_crash = dict.fromkeys(ANNOTATIONS, garbage)
    processed_crash = dict.fromkeys(
        ["product", "release_channel", "build", "version", "startup_time", "addons"], garbage
    )
    for rule in mozilla_rules(version_table):
        status = run_rule(rule, raw_crash=raw_crash, processed_crash=processed_crash)
        if isinstance(garbage, str) and len(garbage) > 3:
            assert all(garbage not in note for note in status.notes)
