"""Tests for the CPU/OS rules, on real stackwalker output and on edge-case dicts."""

from __future__ import annotations

import pytest

from processor.rules.platform import (
    AndroidCPUInfoRule,
    AndroidOSInfoRule,
    CPUInfoRule,
    OSInfoRule,
    OSPrettyVersionRule,
    PlatformInfoRule,
)

GARBAGE_JSON_DUMPS = [
    None,
    [],
    "OK",
    7,
    {},
    {"system_info": None},
    {"system_info": ["x86"]},
    {"system_info": {"cpu_info": None, "cpu_count": True, "cpu_arch": 5, "os": [], "os_ver": 1}},
]


def run_chain(run_rule, raw_crash, processed_crash):
    """The platform rules in ruleset order."""
    for rule in (
        CPUInfoRule(),
        AndroidCPUInfoRule(),
        OSInfoRule(),
        AndroidOSInfoRule(),
        PlatformInfoRule(),
        OSPrettyVersionRule(),
    ):
        run_rule(rule, raw_crash=raw_crash, processed_crash=processed_crash)


class TestCPUInfoRule:
    def test_real_windows_x86_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("test.dmp")}
        run_rule(CPUInfoRule(), processed_crash=processed_crash)
        # Facts about test.dmp from rust-minidump's own tests (testdata README).
        assert processed_crash["cpu_info"] == "GenuineIntel family 6 model 13 stepping 8"
        assert processed_crash["cpu_arch"] == "x86"
        assert processed_crash["cpu_count"] == 1
        assert "cpu_microcode_version" not in processed_crash

    def test_real_linux_amd64_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("linux-mini.dmp")}
        run_rule(CPUInfoRule(), processed_crash=processed_crash)
        assert processed_crash["cpu_arch"] == "amd64"
        assert processed_crash["cpu_count"] == 4

    def test_microcode_version_copied(self, run_rule):
        processed_crash = {"json_dump": {"system_info": {"cpu_microcode_version": "0xf0"}}}
        run_rule(CPUInfoRule(), processed_crash=processed_crash)
        assert processed_crash["cpu_microcode_version"] == "0xf0"

    @pytest.mark.parametrize("json_dump", GARBAGE_JSON_DUMPS)
    def test_defaults(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump}
        status = run_rule(CPUInfoRule(), processed_crash=processed_crash)
        assert processed_crash["cpu_info"] == "unknown"
        assert processed_crash["cpu_arch"] == "unknown"
        assert processed_crash["cpu_count"] == 0
        assert "cpu_microcode_version" not in processed_crash
        assert status.notes == []


class TestAndroidCPUInfoRule:
    @pytest.mark.parametrize(
        "abi, arch",
        [
            ("armeabi-v7a", "arm"),
            ("arm64-v8a", "arm64"),
            ("x86_64", "amd64"),
            ("x86", "x86"),
            ("mips", "mips"),
        ],
    )
    def test_maps_abi(self, run_rule, abi, arch):
        processed_crash = {"cpu_arch": "unknown"}
        run_rule(
            AndroidCPUInfoRule(),
            raw_crash={"Android_CPU_ABI": abi},
            processed_crash=processed_crash,
        )
        assert processed_crash["cpu_arch"] == arch

    def test_runs_when_cpu_arch_absent(self, run_rule):
        processed_crash = {}
        run_rule(
            AndroidCPUInfoRule(),
            raw_crash={"Android_CPU_ABI": "arm64-v8a"},
            processed_crash=processed_crash,
        )
        assert processed_crash["cpu_arch"] == "arm64"

    def test_minidump_arch_wins(self, run_rule):
        processed_crash = {"cpu_arch": "arm"}
        run_rule(
            AndroidCPUInfoRule(),
            raw_crash={"Android_CPU_ABI": "x86_64"},
            processed_crash=processed_crash,
        )
        assert processed_crash["cpu_arch"] == "arm"

    @pytest.mark.parametrize(
        "raw_crash",
        [{}, {"Android_CPU_ABI": ""}, {"Android_CPU_ABI": ["arm"]}, {"Android_CPU_ABI": 3}],
    )
    def test_missing_or_garbage_annotation(self, run_rule, raw_crash):
        processed_crash = {"cpu_arch": "unknown"}
        run_rule(AndroidCPUInfoRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {"cpu_arch": "unknown"}


class TestOSInfoRule:
    def test_real_linux_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("linux-mini.dmp")}
        run_rule(OSInfoRule(), processed_crash=processed_crash)
        assert processed_crash["os_name"] == "Linux"
        # testdata README: the OS version parts of linux-mini.dmp.
        assert (
            processed_crash["os_version"]
            == "4.9.60-linuxkit-aufs #1 SMP Mon Nov 6 16:00:12 UTC 2017"
        )

    def test_strips_whitespace(self, run_rule):
        processed_crash = {
            "json_dump": {"system_info": {"os": " Windows NT\n", "os_ver": " 10.0.19045 "}}
        }
        run_rule(OSInfoRule(), processed_crash=processed_crash)
        assert (processed_crash["os_name"], processed_crash["os_version"]) == (
            "Windows NT",
            "10.0.19045",
        )

    @pytest.mark.parametrize("json_dump", GARBAGE_JSON_DUMPS)
    def test_defaults(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump}
        run_rule(OSInfoRule(), processed_crash=processed_crash)
        assert (processed_crash["os_name"], processed_crash["os_version"]) == ("Unknown", "")


class TestAndroidOSInfoRule:
    @pytest.mark.parametrize("os_name", ["Unknown", "unknown", "Android", None])
    def test_sdk_level(self, run_rule, os_name):
        processed_crash = (
            {"os_version": ""} if os_name is None else {"os_name": os_name, "os_version": ""}
        )
        run_rule(
            AndroidOSInfoRule(),
            raw_crash={"Android_Version": "23 (REL)"},
            processed_crash=processed_crash,
        )
        assert processed_crash == {"os_name": "Android", "os_version": "23"}

    @pytest.mark.parametrize("value", ["REL", "", " 23", "٢٣ (REL)", "2_3", "+23"])
    def test_non_numeric_sdk_keeps_version(self, run_rule, value):
        processed_crash = {"os_name": "Unknown", "os_version": "old"}
        run_rule(
            AndroidOSInfoRule(),
            raw_crash={"Android_Version": value},
            processed_crash=processed_crash,
        )
        assert processed_crash == {"os_name": "Android", "os_version": "old"}

    @pytest.mark.parametrize(
        "raw_crash, processed_crash",
        [
            ({"Android_Version": "23 (REL)"}, {"os_name": "Linux", "os_version": "5.4"}),
            ({}, {"os_name": "Unknown", "os_version": ""}),
            ({"Android_Version": 23}, {"os_name": "Unknown", "os_version": ""}),
            ({"Android_Version": "23 (REL)"}, {"os_name": 5, "os_version": ""}),
        ],
    )
    def test_not_applied(self, run_rule, raw_crash, processed_crash):
        before = dict(processed_crash)
        run_rule(AndroidOSInfoRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == before


class TestPlatformInfoRule:
    ANNOTATIONS = {
        "CPUArchitecture": "aarch64",
        "CPUInfo": "Qualcomm",
        "OS": "Android",
        "OSVersion": " 34 ",
    }

    def test_fills_sentinels(self, run_rule):
        processed_crash = {
            "cpu_arch": "unknown",
            "cpu_info": "unknown",
            "os_name": "Unknown",
            "os_version": "",
        }
        run_rule(
            PlatformInfoRule(), raw_crash=dict(self.ANNOTATIONS), processed_crash=processed_crash
        )
        assert processed_crash == {
            "cpu_arch": "aarch64",
            "cpu_info": "Qualcomm",
            "os_name": "Android",
            "os_version": "34",
        }

    def test_fills_missing_fields(self, run_rule):
        processed_crash = {}
        run_rule(
            PlatformInfoRule(), raw_crash=dict(self.ANNOTATIONS), processed_crash=processed_crash
        )
        assert processed_crash["cpu_arch"] == "aarch64"
        assert processed_crash["os_version"] == "34"

    def test_minidump_values_win(self, run_rule):
        processed_crash = {
            "cpu_arch": "arm64",
            "cpu_info": "ARMv8",
            "os_name": "Linux",
            "os_version": "5.4",
        }
        before = dict(processed_crash)
        run_rule(
            PlatformInfoRule(), raw_crash=dict(self.ANNOTATIONS), processed_crash=processed_crash
        )
        assert processed_crash == before

    def test_unusable_annotations_leave_sentinels(self, run_rule):
        processed_crash = {
            "cpu_arch": "unknown",
            "cpu_info": "unknown",
            "os_name": "Unknown",
            "os_version": "",
        }
        before = dict(processed_crash)
        raw_crash = {"CPUArchitecture": "  ", "CPUInfo": 5, "OS": None, "OSVersion": ["1"]}
        run_rule(PlatformInfoRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == before


class TestOSPrettyVersionRule:
    @pytest.mark.parametrize(
        "os_name, os_version, expected",
        [
            ("Windows NT", "3.5.807", "Windows NT"),
            ("Windows NT", "4.0.1381", "Windows NT"),
            ("Windows NT", "4.10.2222", "Windows Unknown"),
            ("Windows NT", "5.0.2195", "Windows 2000"),
            ("Windows NT", "5.1.2600 Service Pack 2", "Windows XP"),
            ("Windows NT", "5.2.3790", "Windows Server 2003"),
            ("Windows NT", "6.0.6002", "Windows Vista"),
            ("Windows NT", "6.1.7601 Service Pack 1", "Windows 7"),
            ("Windows NT", "6.2.9200", "Windows 8"),
            ("Windows NT", "6.3.9600", "Windows 8.1"),
            ("Windows NT", "10.0.19045", "Windows 10"),
            ("Windows NT", "10.0.21995", "Windows 10"),
            ("Windows NT", "10.0.21996", "Windows 11"),
            ("Windows NT", "10.0.22631", "Windows 11"),
            ("Windows NT", "10.0", "Windows 10"),
            ("Windows NT", "7.0.1", "Windows Unknown"),
            ("Windows NT", "garbage", "Windows NT"),
            ("Windows NT", "", "Windows NT"),
            ("Windows NT", None, "Windows NT"),
            ("Windows_NT", "10.0.26100", "Windows 11"),
            ("Mac OS X", "11.6.7 20G630", "macOS 11"),
            ("Mac OS X", "14.1", "macOS 14"),
            ("Mac OS X", "10.15.7 19H114", "OS X 10.15"),
            ("Mac OS X", "10.6", "OS X 10.6"),
            ("Mac OS X", "9.2", "OS X Unknown"),
            ("Mac OS X", "x", "Mac OS X"),
            ("Android", "34", "Android 34"),
            ("Android", "", "Android"),
            ("Solaris", "5.11", "Solaris"),
            ("Unknown", "", "Unknown"),
            ("", "", ""),
            (None, "10.0", None),
            (["Windows"], "10.0", None),
        ],
    )
    def test_versions(self, run_rule, os_name, os_version, expected):
        processed_crash = {"os_name": os_name, "os_version": os_version}
        run_rule(OSPrettyVersionRule(), processed_crash=processed_crash)
        assert processed_crash["os_pretty_version"] == expected

    def test_missing_fields(self, run_rule):
        processed_crash = {}
        run_rule(OSPrettyVersionRule(), processed_crash=processed_crash)
        assert processed_crash["os_pretty_version"] is None

    def test_linux_lsb_release_from_real_dump(self, run_rule, stackwalk):
        processed_crash = {
            "os_name": "Linux",
            "os_version": "4.9",
            "json_dump": stackwalk("linux-mini.dmp"),
        }
        run_rule(
            OSPrettyVersionRule(),
            raw_crash={"LinuxLSBDescription": "Other Distro"},
            processed_crash=processed_crash,
        )
        assert processed_crash["os_pretty_version"] == "Ubuntu 16.04.3 LTS"

    @pytest.mark.parametrize(
        "json_dump, raw_crash, expected",
        [
            (
                {"lsb_release": None},
                {"LinuxLSBDescription": " Fedora Linux 39 "},
                "Fedora Linux 39",
            ),
            (
                {"lsb_release": {"description": ""}},
                {"LinuxLSBDescription": "Arch Linux"},
                "Arch Linux",
            ),
            ({"lsb_release": {"description": 5}}, {}, "Linux"),
            (None, {"LinuxLSBDescription": ""}, "Linux"),
            ([], {"LinuxLSBDescription": ["x"]}, "Linux"),
        ],
    )
    def test_linux_fallbacks(self, run_rule, json_dump, raw_crash, expected):
        processed_crash = {"os_name": "Linux", "os_version": "", "json_dump": json_dump}
        run_rule(OSPrettyVersionRule(), raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash["os_pretty_version"] == expected


class TestPlatformChain:
    """The six rules in ruleset order on real outputs and on a minidump-less report."""

    @pytest.mark.parametrize(
        "dump, os_name, pretty",
        [
            ("test.dmp", "Windows NT", "Windows XP"),
            ("invalid-parameter.dmp", "Windows NT", "Windows 10"),
            ("pipeline-inlines-macos-segv.dmp", "Mac OS X", "macOS 11"),
            ("simple-crashpad.dmp", "Mac OS X", "OS X 10.15"),
            ("linux-mini.dmp", "Linux", "Ubuntu 16.04.3 LTS"),
        ],
    )
    def test_real_dumps(self, run_rule, stackwalk, dump, os_name, pretty):
        processed_crash = {"json_dump": stackwalk(dump)}
        # Annotations must not override what the minidump says.
        raw_crash = {
            "OS": "Android",
            "OSVersion": "1",
            "CPUArchitecture": "mips",
            "Android_Version": "23",
        }
        run_chain(run_rule, raw_crash, processed_crash)
        assert processed_crash["os_name"] == os_name
        assert processed_crash["os_pretty_version"] == pretty
        assert processed_crash["cpu_arch"] in ("x86", "amd64")

    def test_android_report_without_minidump(self, run_rule):
        processed_crash = {}
        raw_crash = {
            "Android_CPU_ABI": "arm64-v8a",
            "Android_Version": "34 (REL)",
            "CPUInfo": "Snapdragon",
        }
        run_chain(run_rule, raw_crash, processed_crash)
        assert processed_crash == {
            "cpu_info": "Snapdragon",
            "cpu_count": 0,
            "cpu_arch": "arm64",
            "os_name": "Android",
            "os_version": "34",
            "os_pretty_version": "Android 34",
        }

    def test_crash_ping_without_minidump(self, run_rule):
        processed_crash = {"json_dump": {}}
        raw_crash = {"CPUArchitecture": "amd64", "OS": "Windows_NT", "OSVersion": "10.0.22631"}
        run_chain(run_rule, raw_crash, processed_crash)
        assert processed_crash["cpu_arch"] == "amd64"
        assert processed_crash["cpu_info"] == "unknown"
        assert processed_crash["os_pretty_version"] == "Windows 11"


@pytest.mark.parametrize(
    "raw_crash, processed_crash",
    [
        ({"Android_CPU_ABI": None, "Android_Version": None, "OS": {}}, {"json_dump": None}),
        (
            {"CPUArchitecture": ["x"], "LinuxLSBDescription": 5},
            {"os_name": "Linux", "json_dump": "x"},
        ),
        ({"Android_Version": "٢٣"}, {"os_name": ["Android"], "cpu_arch": {}, "os_version": 10.0}),
        ({}, {"os_name": "Windows NT", "os_version": ["10.0"], "json_dump": {"lsb_release": []}}),
    ],
)
@pytest.mark.parametrize(
    "rule_class",
    [
        CPUInfoRule,
        AndroidCPUInfoRule,
        OSInfoRule,
        AndroidOSInfoRule,
        PlatformInfoRule,
        OSPrettyVersionRule,
    ],
)
def test_every_rule_survives_garbage(run_rule, rule_class, raw_crash, processed_crash):
    status = run_rule(
        rule_class(), raw_crash=dict(raw_crash), processed_crash=dict(processed_crash)
    )
    assert status.notes == []
