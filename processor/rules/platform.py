"""Rules that fill the CPU and OS fields of the processed crash.

Sources, in order of trust: the minidump (``json_dump.system_info``), then Android
annotations, then the generic CPU/OS annotations sent with reports that have no minidump
("crash pings"). Each later rule only fills what the earlier ones left at their sentinel
value, so the order in the ruleset is CPUInfo, AndroidCPUInfo, OSInfo, AndroidOSInfo,
PlatformInfo, then OSPrettyVersion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from processor.rules.base import Rule
from processor.rules.safe import dig
from processor.status import Status

# Values the minidump-based rules write when the minidump says nothing; later rules treat
# them as "not known yet".
UNKNOWN_CPU_ARCH = "unknown"
UNKNOWN_CPU_INFO = "unknown"
UNKNOWN_OS_NAME = "Unknown"
UNKNOWN_OS_VERSION = ""


def _annotation_str(raw_crash: Mapping[str, Any], name: str) -> str | None:
    """The stripped, non-empty string value of an annotation, or None."""
    value = raw_crash.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _system_info(processed_crash: Mapping[str, Any]) -> dict[str, Any]:
    """The stackwalker's ``system_info`` ({} when there is none or it is not an object)."""
    return dig(processed_crash, "json_dump.system_info", dict, {})


class CPUInfoRule(Rule):
    """Copy the CPU description from the stackwalker's ``system_info``.

    Writes ``cpu_info`` (default "unknown"), ``cpu_count`` (default 0), ``cpu_arch``
    (default "unknown") and, only when the stackwalker reported one, the
    ``cpu_microcode_version`` hex string. Null or mistyped values count as missing.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        system_info = _system_info(processed_crash)
        processed_crash["cpu_info"] = dig(system_info, "cpu_info", str, UNKNOWN_CPU_INFO)
        processed_crash["cpu_count"] = dig(system_info, "cpu_count", int, 0)
        processed_crash["cpu_arch"] = dig(system_info, "cpu_arch", str, UNKNOWN_CPU_ARCH)
        microcode = dig(system_info, "cpu_microcode_version", str)
        if microcode is not None:
            processed_crash["cpu_microcode_version"] = microcode


class AndroidCPUInfoRule(Rule):
    """Derive ``cpu_arch`` from ``Android_CPU_ABI`` when the minidump did not give one.

    Android ABI names are mapped to the stackwalker's architecture names so both sources
    facet together; unknown ABIs are kept as sent.
    """

    ABI_TO_ARCH = {
        "armeabi-v7a": "arm",
        "arm64-v8a": "arm64",
        "x86_64": "amd64",
    }

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return (
            processed_crash.get("cpu_arch", UNKNOWN_CPU_ARCH) == UNKNOWN_CPU_ARCH
            and _annotation_str(raw_crash, "Android_CPU_ABI") is not None
        )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        abi = _annotation_str(raw_crash, "Android_CPU_ABI")
        processed_crash["cpu_arch"] = self.ABI_TO_ARCH.get(abi, abi)


class OSInfoRule(Rule):
    """Copy ``os_name`` (default "Unknown") and ``os_version`` (default "") from the
    stackwalker's ``system_info``, stripped of surrounding whitespace."""

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        system_info = _system_info(processed_crash)
        processed_crash["os_name"] = dig(system_info, "os", str, UNKNOWN_OS_NAME).strip()
        processed_crash["os_version"] = dig(system_info, "os_ver", str, UNKNOWN_OS_VERSION).strip()


class AndroidOSInfoRule(Rule):
    """Use ``Android_Version`` (e.g. "23 (REL)") for the OS fields of Android reports.

    Sets ``os_name`` to "Android" and ``os_version`` to the SDK level (kept as a string),
    the latter only when it is a plain decimal number.
    """

    SDK_LEVEL = re.compile(r"[0-9]+")

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        os_name = processed_crash.get("os_name", UNKNOWN_OS_NAME)
        return (
            isinstance(os_name, str)
            and os_name.lower() in ("unknown", "android")
            and isinstance(raw_crash.get("Android_Version"), str)
        )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        processed_crash["os_name"] = "Android"
        sdk_level = raw_crash["Android_Version"].split(" ")[0]
        if self.SDK_LEVEL.fullmatch(sdk_level):
            processed_crash["os_version"] = sdk_level


class PlatformInfoRule(Rule):
    """Fill CPU/OS fields from the ``CPUArchitecture``, ``CPUInfo``, ``OS`` and ``OSVersion``
    annotations, for reports without a minidump.

    A field is only filled while it is missing, empty, or still at the sentinel the
    minidump-based rules write, so minidump data always wins.
    """

    # processed-crash field -> (annotation, sentinel meaning "not known")
    FIELDS = {
        "cpu_arch": ("CPUArchitecture", UNKNOWN_CPU_ARCH),
        "cpu_info": ("CPUInfo", UNKNOWN_CPU_INFO),
        "os_name": ("OS", UNKNOWN_OS_NAME),
        "os_version": ("OSVersion", UNKNOWN_OS_VERSION),
    }

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        for field, (annotation, sentinel) in self.FIELDS.items():
            current = processed_crash.get(field)
            if current and current != sentinel:
                continue
            value = _annotation_str(raw_crash, annotation)
            if value is not None:
                processed_crash[field] = value


class OSPrettyVersionRule(Rule):
    """Compute ``os_pretty_version``, the single human-readable OS name people facet on.

    Windows versions come from a major.minor map (Windows 11 reports itself as 10.0 with a
    build >= 21996); macOS from the version number; Linux from the LSB description in the
    minidump or the ``LinuxLSBDescription`` annotation; Android appends the SDK level.
    Anything else is the OS name itself (None when os_name is not a string).
    """

    MAJOR_MINOR = re.compile(r"([0-9]+)\.([0-9]+)(?:\.([0-9]+))?")

    WINDOWS_VERSIONS = {
        (3, 5): "Windows NT",
        (4, 0): "Windows NT",
        (4, 1): "Windows 98",
        (4, 9): "Windows Me",
        (5, 0): "Windows 2000",
        (5, 1): "Windows XP",
        (5, 2): "Windows Server 2003",
        (6, 0): "Windows Vista",
        (6, 1): "Windows 7",
        (6, 2): "Windows 8",
        (6, 3): "Windows 8.1",
        (10, 0): "Windows 10",
    }
    WINDOWS_11_FIRST_BUILD = 21996

    def parse_version(self, os_version: Any) -> tuple[int, int, int | None] | None:
        """(major, minor, build or None) from the start of a version string, or None."""
        if not isinstance(os_version, str):
            return None
        match = self.MAJOR_MINOR.match(os_version)
        if match is None:
            return None
        build = match.group(3)
        return int(match.group(1)), int(match.group(2)), None if build is None else int(build)

    def windows(self, os_name: str, os_version: Any) -> str:
        version = self.parse_version(os_version)
        if version is None:
            return os_name
        major, minor, build = version
        if (major, minor) == (10, 0) and build is not None and build >= self.WINDOWS_11_FIRST_BUILD:
            return "Windows 11"
        return self.WINDOWS_VERSIONS.get((major, minor), "Windows Unknown")

    def macos(self, os_name: str, os_version: Any) -> str:
        version = self.parse_version(os_version)
        if version is None:
            return os_name
        major, minor, _ = version
        if major >= 11:
            return f"macOS {major}"
        if major == 10:
            return f"OS X {major}.{minor}"
        return "OS X Unknown"

    def linux(self, raw_crash: Mapping[str, Any], processed_crash: Mapping[str, Any]) -> str:
        description = dig(processed_crash, "json_dump.lsb_release.description", str, "").strip()
        return description or _annotation_str(raw_crash, "LinuxLSBDescription") or "Linux"

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        os_name = processed_crash.get("os_name")
        os_version = processed_crash.get("os_version")
        if not isinstance(os_name, str):
            pretty = None
        elif os_name.startswith("Windows"):
            pretty = self.windows(os_name, os_version)
        elif os_name == "Mac OS X":
            pretty = self.macos(os_name, os_version)
        elif os_name == "Linux":
            pretty = self.linux(raw_crash, processed_crash)
        elif os_name == "Android" and isinstance(os_version, str) and os_version:
            pretty = f"Android {os_version}"
        else:
            pretty = os_name
        processed_crash["os_pretty_version"] = pretty
