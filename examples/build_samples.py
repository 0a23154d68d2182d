"""Build the sample crashes in examples/crashes/ from the rust-minidump test dumps.

Why a script: the raw crashes carry values that must agree with each other and with the
dump files (sha256 checksums in the collector metadata, crash ids whose date suffix matches
``submitted_timestamp``, ``CrashTime``/``StartupTime``/``InstallTime`` epochs that add up,
``TelemetryEnvironment`` as a JSON *string*, a gzipped memory report whose pid matches the
dump). Writing them by hand invites mistakes; generating them keeps them consistent and lets
anyone change a sample and rebuild it. The output is deterministic (fixed ids and dates,
gzip mtime 0), so rebuilding yields the committed files byte for byte.

It writes ``raw_crash.json`` and the dump files of every sample. The precomputed
stackwalker outputs (``<dump>.json``) come from ``regenerate.sh``, which must run after this.

usage: python examples/build_samples.py   (from the repository root or anywhere)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
CRASHES = HERE / "crashes"
# The rust-minidump test dumps: tests/data is their one home in the repository.
TESTDATA = HERE.parent / "tests" / "data"
LICENSE = "LICENSE-rust-minidump"

FIREFOX_ID = "{ec8030f7-c20a-464f-9b0e-13a3a9e97384}"
DEFAULT_THEME = "{972ce4c6-7e08-4474-a285-3208198ce6fd}"

# Obviously fake values for the protected annotations: the point is to see that they never
# leak into public output, so they must be recognisable.
PRIVATE_URL = "https://example.com/private?token=sample-secret"
PRIVATE_EMAIL = "jane@example.com"
PRIVATE_COMMENT = "I was writing to jane@example.com when it crashed (sample comment)"


@dataclass
class Sample:
    """One crash directory: its annotations, its dumps and the collector's view of it."""

    name: str
    submitted: datetime
    annotations: dict[str, str | None]
    # uuid without its last 7 characters (throttle digit + yymmdd are appended from
    # `submitted`); None leaves `uuid` out so the processor has to assign one.
    uuid_prefix: str | None
    user_agent: str
    # dump name -> source file in TESTDATA, or the dump's bytes.
    dumps: dict[str, str | bytes] = field(default_factory=dict)
    payload: str = "multipart"
    collector_notes: list[str] = field(default_factory=list)


def crash_id(prefix: str, submitted: datetime) -> str:
    """Socorro crash id: the uuid's last 7 chars are the throttle digit 0 and yymmdd."""
    assert len(prefix) == 29, prefix
    return f"{prefix}0{submitted:%y%m%d}"


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def times(
    submitted: datetime,
    *,
    crash_before: timedelta,
    uptime: timedelta,
    installed_before: timedelta,
    last_crash: timedelta | None,
) -> dict[str, str]:
    """The client's clock annotations, derived so that uptime and install age come out as given.

    The client crashes shortly before the collector accepts the report (`crash_before`).
    """
    crashed = submitted - crash_before
    values = {
        "CrashTime": str(epoch(crashed)),
        "StartupTime": str(epoch(crashed - uptime)),
        "InstallTime": str(epoch(crashed - installed_before)),
        "UptimeTS": f"{uptime.total_seconds() + 0.482913:.6f}",
    }
    if last_crash is not None:
        values["SecondsSinceLastCrash"] = str(int(last_crash.total_seconds()))
    return values


def telemetry_environment(
    *,
    version: str,
    build_id: str,
    channel: str,
    arch: str,
    os_name: str,
    os_version: str,
    memory_mb: int,
    cpu: dict[str, object],
    addons: dict[str, str],
    distribution_id: str | None = None,
    gfx_adapter: dict[str, object] | None = None,
) -> str:
    """A trimmed Firefox Telemetry environment, serialised the way the client sends it."""
    env = {
        "build": {
            "applicationId": FIREFOX_ID,
            "applicationName": "Firefox",
            "architecture": arch,
            "buildId": build_id,
            "version": version,
            "vendor": "Mozilla",
            "displayVersion": version,
            "platformVersion": version,
            "xpcomAbi": f"{arch}-msvc" if os_name == "Windows_NT" else f"{arch}-gcc3",
            "updaterAvailable": True,
        },
        "partner": {
            "distributionId": distribution_id,
            "distributionVersion": None,
            "partnerId": None,
            "distributor": None,
            "distributorChannel": None,
            "partnerNames": [],
        },
        "system": {
            "memoryMB": memory_mb,
            "isWow64": False,
            "cpu": cpu,
            "os": {"name": os_name, "version": os_version, "locale": "en-US"},
            "gfx": {"D2DEnabled": None, "DWriteEnabled": None, "adapters": [gfx_adapter or {}]},
        },
        "settings": {
            "blocklistEnabled": True,
            "e10sEnabled": True,
            "e10sMultiProcesses": 8,
            "fissionEnabled": True,
            "telemetryEnabled": channel in ("nightly", "beta"),
            "locale": "en-US",
            "isDefaultBrowser": False,
            "defaultSearchEngine": "google-b-d",
            "update": {"channel": channel, "enabled": True, "autoDownload": True},
            "userPrefs": {"browser.startup.page": 3},
        },
        "profile": {"creationDate": 19845, "firstUseDate": 19845, "resetDate": 20100},
        "addons": {
            "activeAddons": {
                addon_id: {
                    "name": addon_id.split("@")[0],
                    "version": addon_version,
                    "scope": 1,
                    "type": "extension",
                    "isSystem": addon_id.endswith("@mozilla.org"),
                    "isWebExtension": True,
                }
                for addon_id, addon_version in addons.items()
            },
            "theme": {"id": DEFAULT_THEME, "version": "1.3"},
        },
        "experiments": {},
    }
    return json.dumps(env, separators=(",", ":"))


def addons_annotation(addons: dict[str, str]) -> str:
    """The `Add-ons` annotation: comma-separated, URL-quoted `id:version` pairs."""
    quoted = {addon_id.replace("@", "%40"): v for addon_id, v in addons.items()}
    return ",".join(f"{addon_id}:{v}" for addon_id, v in quoted.items())


def firefox(
    *,
    version: str,
    build_id: str,
    channel: str,
    process_type: str,
    addons: dict[str, str],
    telemetry: str,
    submitted_from: str,
) -> dict[str, str | None]:
    """Annotations every desktop Firefox crash report carries, whatever the OS."""
    return {
        "ProductName": "Firefox",
        "ProductID": FIREFOX_ID,
        "Vendor": "Mozilla",
        "Version": version,
        "BuildID": build_id,
        "ReleaseChannel": channel,
        "ProcessType": process_type,
        "Add-ons": addons_annotation(addons | {DEFAULT_THEME: "1.3"}),
        "EMCheckCompatibility": "true",
        "TelemetryEnvironment": telemetry,
        "SubmittedFrom": submitted_from,
        "Throttleable": "1",
        "useragent_locale": "en-US",
        "DOMIPCEnabled": "1",
        "DOMFissionEnabled": "1",
        "SafeMode": "0",
        "StartupCrash": "0",
        "URL": PRIVATE_URL,
        "Email": PRIVATE_EMAIL,
        "Comments": PRIVATE_COMMENT,
    }


ADDONS = {
    "formautofill@mozilla.org": "1.0.1",
    "pictureinpicture@mozilla.org": "1.0.0",
    "uBlock0@raymondhill.net": "1.62.0",
}

# test.dmp / test-no-debug-id.dmp: Windows XP SP2, one Intel Pentium M (family 6 model 13
# stepping 8), pid 3932. The annotations describe the same machine.
WINDOWS_XP_CPU = {
    "count": 1,
    "cores": 1,
    "vendor": "GenuineIntel",
    "family": 6,
    "model": 13,
    "stepping": 8,
    "l2cacheKB": 2048,
    "speedMHz": 1729,
    "extensions": ["hasMMX", "hasSSE", "hasSSE2"],
}
WINDOWS_GFX = {
    "vendorID": "0x8086",
    "deviceID": "0x2592",
    "subsysID": "00000000",
    "driverVersion": "6.14.10.4396",
    "GPUActive": True,
}
# Windows module signers, as the client reports them (the stackwalker turns them into
# `cert_subject` through --evil-json).
WINDOWS_SIGNATURES = json.dumps(
    {
        "Mozilla Corporation": ["test_app.exe"],
        "Microsoft Windows": [
            "ntdll.dll",
            "kernel32.dll",
            "ole32.dll",
            "advapi32.dll",
            "rpcrt4.dll",
            "gdi32.dll",
            "user32.dll",
            "msvcrt.dll",
            "imm32.dll",
            "dbghelp.dll",
            "version.dll",
            "psapi.dll",
        ],
    }
)


def windows_firefox(
    *, version: str, build_id: str, channel: str, submitted: datetime
) -> dict[str, str | None]:
    """A Windows Firefox parent-process crash on the test.dmp machine (XP SP2, x86)."""
    telemetry = telemetry_environment(
        version=version,
        build_id=build_id,
        channel=channel,
        arch="x86",
        os_name="Windows_NT",
        os_version="5.1",
        memory_mb=1023,
        cpu=WINDOWS_XP_CPU,
        addons=ADDONS,
        gfx_adapter=WINDOWS_GFX,
    )
    return (
        firefox(
            version=version,
            build_id=build_id,
            channel=channel,
            process_type="main",
            addons=ADDONS,
            telemetry=telemetry,
            submitted_from="AboutCrashes",
        )
        | times(
            submitted,
            crash_before=timedelta(minutes=3, seconds=12),
            uptime=timedelta(hours=2, minutes=41, seconds=5),
            installed_before=timedelta(days=61, hours=4),
            last_crash=timedelta(days=9, hours=2, minutes=7),
        )
        | {
            "AdapterVendorID": "0x8086",
            "AdapterDeviceID": "0x2592",
            "AdapterSubsysID": "00000000",
            "AdapterDriverVersion": "6.14.10.4396",
            "CPUMicrocodeVersion": "0x17",
            "ModuleSignatureInfo": WINDOWS_SIGNATURES,
            "Notes": "FP(D00-L1000-W00000100-T000) DWrite? D2D? D3D11? ",
            "TotalPhysicalMemory": "1073205248",
            "AvailablePhysicalMemory": "394129408",
            "TotalVirtualMemory": "2147352576",
            "AvailableVirtualMemory": "1536045056",
            "TotalPageFile": "2578063360",
            "AvailablePageFile": "1642299392",
            "SystemMemoryUsePercentage": "63",
            "Winsock_LSP": "MSAFD Tcpip [TCP/IP] : 2 : 1 :  \n MSAFD Tcpip [UDP/IP] : 2 : 2 : ",
            "HasDeviceTouchScreen": "0",
        }
    )


WINDOWS_UA = "Mozilla/5.0 (Windows NT 5.1; rv:{major}.0) Gecko/20100101 Firefox/{major}.0"


def windows_x86_test_app() -> Sample:
    submitted = datetime(2026, 11, 2, 14, 23, 11, 482915, tzinfo=UTC)
    return Sample(
        name="windows-x86-test-app",
        submitted=submitted,
        uuid_prefix="8fe71062-f1a4-49df-ae03-d6e0e",
        user_agent=WINDOWS_UA.format(major=157),
        dumps={"upload_file_minidump": "test.dmp"},
        annotations=windows_firefox(
            version="157.0", build_id="20261026142318", channel="release", submitted=submitted
        ),
    )


def no_debug_id() -> Sample:
    submitted = datetime(2026, 11, 3, 9, 5, 47, 118204, tzinfo=UTC)
    return Sample(
        name="no-debug-id",
        submitted=submitted,
        uuid_prefix="ca99fb6c-e2b8-4a05-b813-3553f",
        user_agent=WINDOWS_UA.format(major=153),
        dumps={"upload_file_minidump": "test-no-debug-id.dmp"},
        # ESR reports their Version without the "esr" suffix; the processor appends it.
        annotations=windows_firefox(
            version="153.4.0", build_id="20261019170744", channel="esr", submitted=submitted
        ),
    )


def oom_with_memory_report() -> Sample:
    submitted = datetime(2026, 11, 8, 21, 40, 2, 907311, tzinfo=UTC)
    annotations = windows_firefox(
        version="157.0", build_id="20261026142318", channel="release", submitted=submitted
    ) | {
        # A 32-bit process that ran out of address space: 1 MiB could not be allocated.
        "OOMAllocationSize": "1048576",
        "AvailableVirtualMemory": "31457280",
        "AvailablePhysicalMemory": "52428800",
        "AvailablePageFile": "104857600",
        "SystemMemoryUsePercentage": "95",
    }
    return Sample(
        name="oom-with-memory-report",
        submitted=submitted,
        uuid_prefix="668657aa-b44c-4e37-827b-ee823",
        user_agent=WINDOWS_UA.format(major=157),
        dumps={"upload_file_minidump": "test.dmp", "memory_report": memory_report(3932)},
        annotations=annotations,
    )


def memory_report(pid: int) -> bytes:
    """A small gzipped Firefox memory report (about:memory format) for the crashing pid.

    It covers every measure Socorro extracts (resident, vsize, heap-allocated, ghost-windows,
    explicit/* heap and non-heap, images, heap-overhead, detached windows, js-main-runtime)
    and includes a content process whose reports must not be counted.
    """
    main = f"Main Process (pid {pid})"
    content = "Web Content (pid 4120)"
    # (process, path, kind, units, amount, description); kind 0 nonheap, 1 heap, 2 other;
    # units 0 bytes, 1 count, 3 percentage.
    rows = [
        (main, "resident", 2, 0, 851_443_712, "Memory mapped by the process that is present in physical memory (RSS)."),
        (main, "resident-unique", 2, 0, 796_917_760, "Memory mapped by the process that is present in physical memory and not shared with any other processes (USS)."),
        (main, "private", 2, 0, 1_947_320_320, "Memory that cannot be shared with other processes."),
        (main, "vsize", 2, 0, 2_111_832_064, "Memory mapped by the process, including code and data segments, the heap, thread stacks and shared memory."),
        (main, "vsize-max-contiguous", 2, 0, 917_504, "Size of the maximum contiguous block of available virtual memory."),
        (main, "heap-allocated", 2, 0, 1_204_871_168, "The same as 'heap-committed/allocated'."),
        (main, "system-heap-allocated", 2, 0, 18_350_080, "Memory used by the system allocator that is currently allocated to the application."),
        (main, "gfx-textures", 2, 0, 67_108_864, "Memory used for storing GL textures."),
        (main, "ghost-windows", 2, 1, 3, "The number of ghost windows present."),
        (main, "host-object-urls", 2, 1, 12, "The number of host objects stored for access via URLs."),
        (main, "explicit/heap-overhead/bin-unused", 0, 0, 41_943_040, "Unused bytes due to fragmentation in the bins used for 'small' allocations."),
        (main, "explicit/heap-overhead/bookkeeping", 0, 0, 9_437_184, "Committed bytes which the heap allocator uses for internal data structures."),
        (main, "explicit/heap-overhead/page-cache", 0, 0, 4_194_304, "Memory which has been freed but which the heap allocator keeps around."),
        (main, "explicit/images/content/raster/used/image(1920x1080, https://example.com/private/photo.jpg)/source", 1, 0, 8_294_400, "Raster image source data and vector image documents."),
        (main, "explicit/images/chrome/vector/used/image(16x16, chrome://browser/skin/reload.svg)/source", 1, 0, 9_216, "Raster image source data and vector image documents."),
        (main, "explicit/window-objects/top(none)/detached/window(about:blank)/dom/element-nodes", 1, 0, 2_097_152, "Memory used by the element nodes in a window's DOM."),
        (main, "explicit/window-objects/top(https://example.com/, id=6)/active/window(https://example.com/private)/js-realm(https://example.com/private)/classes/Object/objects/gc-heap", 0, 0, 104_857_600, "Objects, including fixed slots."),
        (main, "explicit/js-non-window/runtime/atoms-table", 1, 0, 1_048_576, "The atoms table."),
        (main, "explicit/dom/media/decoded-video", 1, 0, 734_003_200, "Memory used by decoded video frames."),
        (main, "explicit/network/memory-cache", 1, 0, 52_428_800, "Memory used by the network memory cache."),
        (main, "js-main-runtime/realms/classes/objects/gc-heap", 0, 0, 98_566_144, "Objects, including fixed slots."),
        (main, "js-main-runtime/gc-heap/unused-arenas", 0, 0, 6_291_456, "Empty GC arenas."),
        (content, "resident", 2, 0, 412_876_800, "Memory mapped by the process that is present in physical memory (RSS)."),
        (content, "heap-allocated", 2, 0, 201_326_592, "The same as 'heap-committed/allocated'."),
        (content, "explicit/images/content/raster/used/image(640x480, https://example.com/a.png)/source", 1, 0, 1_228_800, "Raster image source data and vector image documents."),
    ]  # fmt: skip
    report = {
        "version": 1,
        "hasMozMallocUsableSize": True,
        "reports": [
            {
                "process": process,
                "path": path,
                "kind": kind,
                "units": units,
                "amount": amount,
                "description": description,
            }
            for process, path, kind, units, amount, description in rows
        ],
    }
    return gzip.compress(json.dumps(report, indent=1).encode(), mtime=0)


def linux_amd64() -> Sample:
    """linux-mini.dmp: Ubuntu 16.04, amd64, 4 CPUs (family 6 model 70), a content process."""
    submitted = datetime(2026, 10, 27, 18, 2, 55, 640017, tzinfo=UTC)
    version, build_id = "157.0", "20261026142318"
    addons = ADDONS | {"langpack-de@firefox.mozilla.org": "157.0.20261026.142318"}
    telemetry = telemetry_environment(
        version=version,
        build_id=build_id,
        channel="release",
        arch="x86-64",
        os_name="Linux",
        os_version="4.9.60-linuxkit-aufs",
        memory_mb=7963,
        cpu={
            "count": 4,
            "cores": 4,
            "vendor": "GenuineIntel",
            "family": 6,
            "model": 70,
            "stepping": 1,
        },
        addons=addons,
        distribution_id="canonical",
    )
    annotations = (
        firefox(
            version=version,
            build_id=build_id,
            channel="release",
            process_type="content",
            addons=addons,
            telemetry=telemetry,
            submitted_from="Infobar",
        )
        | times(
            submitted,
            crash_before=timedelta(seconds=41),
            uptime=timedelta(minutes=17, seconds=30),
            installed_before=timedelta(days=203),
            last_crash=None,
        )
        | {
            "RemoteType": "webIsolated=https://example.com",
            "DistributionID": "canonical",
            "LinuxUnderMemoryPressure": "false",
            "AdapterVendorID": "0x1002",
            "AdapterDeviceID": "0x67df",
            "AdapterDriverVendor": "mesa/radeonsi",
            "AdapterDriverVersion": "24.2.8.0",
            "TotalPhysicalMemory": "8349937664",
            "AvailablePhysicalMemory": "2181677056",
            "AvailableVirtualMemory": "4929495040",
            "TotalPageFile": "10497413120",
            "AvailablePageFile": "6011219968",
            "ContentSandboxLevel": "4",
            "ContentSandboxEnabled": "1",
            "ContentSandboxCapable": "1",
            "ContentSandboxCapabilities": "119",
        }
    )
    return Sample(
        name="linux-amd64",
        submitted=submitted,
        uuid_prefix="e4291ac6-51c7-479f-905a-b2e12",
        user_agent="Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:157.0) Gecko/20100101 Firefox/157.0",
        dumps={"upload_file_minidump": "linux-mini.dmp"},
        annotations=annotations,
    )


def macos_inlines() -> Sample:
    """pipeline-inlines-macos-segv.dmp: macOS 11.6.7, 8 CPUs, a Nightly GPU-process crash."""
    submitted = datetime(2026, 11, 5, 7, 48, 30, 215500, tzinfo=UTC)
    version, build_id = "159.0a1", "20261104213012"
    telemetry = telemetry_environment(
        version=version,
        build_id=build_id,
        channel="nightly",
        arch="x86-64",
        os_name="Darwin",
        os_version="20.6.0",
        memory_mb=16384,
        cpu={
            "count": 8,
            "cores": 4,
            "vendor": "GenuineIntel",
            "family": 6,
            "model": 70,
            "stepping": 1,
        },
        addons=ADDONS,
    )
    annotations = (
        firefox(
            version=version,
            build_id=build_id,
            channel="nightly",
            process_type="gpu",
            addons=ADDONS,
            telemetry=telemetry,
            submitted_from="Auto",
        )
        | times(
            submitted,
            crash_before=timedelta(seconds=8),
            uptime=timedelta(days=1, hours=3, minutes=12),
            installed_before=timedelta(days=400),
            last_crash=timedelta(hours=20, minutes=31, seconds=4),
        )
        | {
            "Throttleable": "0",
            "AdapterVendorID": "0x8086",
            "AdapterDeviceID": "0x0d26",
            "TotalPhysicalMemory": "17179869184",
            "AvailablePhysicalMemory": "322961408",
            "AvailableSwapMemory": "1073741824",
            "PurgeablePhysicalMemory": "104857600",
            "MacMemoryPressure": "Normal",
            "MacMemoryPressureSysctl": "1",
            "MacAvailableMemorySysctl": "71",
            "GraphicsCriticalError": "|[G0][GFX1-]: Failed to create a DrawTarget (t=97012.3) ",
        }
    )
    return Sample(
        name="macos-inlines",
        submitted=submitted,
        uuid_prefix="2e7a5a67-992a-4720-a358-270dc",
        user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:159.0) Gecko/20100101 Firefox/159.0",
        dumps={"upload_file_minidump": "pipeline-inlines-macos-segv.dmp"},
        annotations=annotations,
    )


def crashpad_macos() -> Sample:
    """simple-crashpad.dmp: a non-Gecko product reporting through Crashpad's uploader.

    Crashpad sends the dump as `upload_file_minidump`, the simple annotations it found in the
    dump (`hello=world` here) as form fields, and the client id as `guid`; the product
    supplies its own ProductName/Version. No Firefox-only annotations.
    """
    submitted = datetime(2026, 9, 14, 11, 17, 3, 4121, tzinfo=UTC)
    crashed = submitted - timedelta(minutes=1, seconds=15)
    return Sample(
        name="crashpad-macos",
        submitted=submitted,
        uuid_prefix="8a5c3896-d18d-4c68-bb0e-8f515",
        user_agent="Crashpad/0.8.0",
        dumps={"upload_file_minidump": "simple-crashpad.dmp"},
        annotations={
            "ProductName": "MozillaVPN",
            "Version": "2.34.0",
            "BuildID": "20260902101500",
            "ReleaseChannel": "release",
            "Vendor": "Mozilla",
            "CrashTime": str(epoch(crashed)),
            "StartupTime": str(epoch(crashed - timedelta(hours=5))),
            "hello": "world",
            "guid": "6fd2b3b9-9833-4b2f-bbf7-0bcf501bad7e",
        },
    )


def malformed_annotations() -> Sample:
    """linux-mini.dmp with annotation values that every conversion has to survive.

    Each bad value targets one rule: integer/float/boolean conversion, JSON parsing, the
    NUL stripper, the None remover, the crash-report-keys filter, unknown annotations and
    an over-range SecondsSinceLastCrash.
    """
    submitted = datetime(2026, 11, 10, 3, 14, 15, 926535, tzinfo=UTC)
    good = linux_amd64().annotations
    bad: dict[str, str | None] = {
        "StartupTime": "yesterday",
        "InstallTime": "17o0000000",
        "CrashTime": "2026-11-10T03:14:00Z",
        "SecondsSinceLastCrash": "99999999999999999999",
        "UptimeTS": "a while",
        "TelemetryEnvironment": '{"build": {"applicationName": "Firefox", "version": "157.0",',
        "Vendor": "Mozilla\x00Corporation",
        "StartupCrash": "perhaps",
        "SafeMode": "2",
        "Accessibility": "On",
        "AvailablePhysicalMemory": "lots",
        "TotalPhysicalMemory": "8.3e9",
        "ContentSandboxLevel": "",
        "Add-ons": "broken%40example.com,,uBlock0%40raymondhill.net:1.62.0:extra",
        "bad key!": "value of a key with invalid characters",
        "FrobnicatorLevel": "11",
        "Winsock_LSP": None,
    }
    return Sample(
        name="malformed-annotations",
        submitted=submitted,
        uuid_prefix="597646a7-a1fc-4fb4-b7c7-061fc",
        user_agent="Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:157.0) Gecko/20100101 Firefox/157.0",
        dumps={"upload_file_minidump": "linux-mini.dmp"},
        annotations=good | bad,
    )


def no_minidump() -> Sample:
    """A report with annotations only (like a crash ping): the OS and CPU come from annotations.

    It has no `uuid` on purpose: the processor must assign one.
    """
    submitted = datetime(2026, 11, 12, 16, 55, 9, 331870, tzinfo=UTC)
    version, build_id = "157.0.1", "20261110093517"
    addons = ADDONS
    telemetry = telemetry_environment(
        version=version,
        build_id=build_id,
        channel="release",
        arch="x86-64",
        os_name="Windows_NT",
        os_version="10.0",
        memory_mb=32682,
        cpu={
            "count": 16,
            "cores": 8,
            "vendor": "AuthenticAMD",
            "family": 25,
            "model": 33,
            "stepping": 2,
        },
        addons=addons,
    )
    annotations = (
        firefox(
            version=version,
            build_id=build_id,
            channel="release",
            process_type="utility",
            addons=addons,
            telemetry=telemetry,
            submitted_from="Auto",
        )
        | times(
            submitted,
            crash_before=timedelta(seconds=2),
            uptime=timedelta(hours=6, minutes=2),
            installed_before=timedelta(days=12),
            last_crash=timedelta(days=3),
        )
        | {
            "OS": "Windows NT",
            "OSVersion": "10.0.26100",
            "CPUArchitecture": "amd64",
            "CPUInfo": "AuthenticAMD family 25 model 33 stepping 2",
            "MozCrashReason": "MOZ_RELEASE_ASSERT(mDecoder) (audio decoder went away)",
            "UtilityActorsName": "audioDecoder_WMF, mfMediaEngineCDM",
            "UtilityProcessSandboxingKind": "3",
            "DumperError": "Failed to write the minidump: access denied",
            "TotalPhysicalMemory": "34269892608",
            "AvailablePhysicalMemory": "17179869184",
        }
    )
    return Sample(
        name="no-minidump",
        submitted=submitted,
        uuid_prefix=None,
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:157.0) Gecko/20100101 Firefox/157.0",
        payload="json",
        annotations=annotations,
    )


SAMPLES = (
    windows_x86_test_app,
    linux_amd64,
    macos_inlines,
    crashpad_macos,
    no_debug_id,
    malformed_annotations,
    no_minidump,
    oom_with_memory_report,
)


def write_sample(sample: Sample) -> Path:
    """Write one crash directory: the dump files, then raw_crash.json with their checksums."""
    crash_dir = CRASHES / sample.name
    crash_dir.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for dump_name, source in sample.dumps.items():
        target = crash_dir / dump_name
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(TESTDATA / source, target)
        checksums[dump_name] = hashlib.sha256(target.read_bytes()).hexdigest()

    raw_crash: dict[str, object] = dict(sample.annotations)
    raw_crash["metadata"] = {
        "collector_notes": sample.collector_notes,
        "dump_checksums": checksums,
        "payload": sample.payload,
        "payload_compressed": "0",
        "throttle_rule": "accept_everything",
        "user_agent": sample.user_agent,
    }
    raw_crash["submitted_timestamp"] = sample.submitted.isoformat()
    if sample.uuid_prefix is not None:
        raw_crash["uuid"] = crash_id(sample.uuid_prefix, sample.submitted)
    raw_crash["version"] = 2
    path = crash_dir / "raw_crash.json"
    path.write_text(json.dumps(raw_crash, indent=2) + "\n")
    return path


def main() -> None:
    """Rebuild every sample and the license file next to them."""
    CRASHES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TESTDATA / LICENSE, CRASHES / LICENSE)
    for make in SAMPLES:
        print(write_sample(make()).relative_to(HERE))


if __name__ == "__main__":
    main()
