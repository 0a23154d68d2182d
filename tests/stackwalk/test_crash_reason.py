"""Crash reasons and addresses per OS, against the peer on synthetic dumps."""

from __future__ import annotations

import json

import pytest

from stackwalk.crash_reason import crash_address, crash_reason, windows_error
from stackwalk.process import walk_minidump
from stackwalk.testing import DumpBuilder, encode_context
from tests.stackwalk.compare import run_peer

AV = 0xC0000005

# (os, cpu, code, flags, params, exception address)
CASES = [
    ("windows", "x86", AV, 0, (0, 0x1234), 0x401000),
    ("windows", "x86", AV, 0, (1, 0x45), 0x401000),
    ("windows", "amd64", AV, 0, (8, 0x7FFE0000), 0x401000),
    ("windows", "amd64", AV, 0, (3, 0x10), 0x401000),
    ("windows", "amd64", AV, 0, (), 0x401000),
    ("windows", "amd64", 0xC0000006, 0, (1, 0x2000, 0xC000009C), 0),
    ("windows", "amd64", 0xC0000006, 0, (0, 0x2000, 0x12345678), 0),
    ("windows", "amd64", 0xC0000409, 0, (7,), 0),
    ("windows", "amd64", 0xC0000409, 0, (0x1FF,), 0),
    ("windows", "amd64", 0xC0000409, 0, (), 0),
    ("windows", "amd64", 0xE06D7363, 0, (), 0),
    ("windows", "amd64", 0xE0000008, 0, (), 0),
    ("windows", "amd64", 0x0517A7ED, 0, (), 0),
    ("windows", "amd64", 0xC000000D, 0, (), 0),
    ("windows", "amd64", 0x80000003, 0, (), 0),
    ("windows", "amd64", 0xC0000374, 0, (), 0),
    ("windows", "amd64", 87, 0, (), 0),
    ("windows", "amd64", 0x806D007E, 0, (), 0),
    ("windows", "amd64", 0xDEADBEEF, 0, (), 0),
    ("windows", "x86", AV, 0, (1, 0xFFFFFFFF80000000), 0xFFFFFFFF80001000),
    ("linux", "amd64", 11, 0, (), 0x45),
    ("linux", "amd64", 11, 1, (), 0x45),
    ("linux", "amd64", 11, 2, (), 0),
    ("linux", "amd64", 7, 0x80, (), 0),
    ("linux", "arm64", 6, 0xFFFFFFFA, (), 0),
    ("linux", "arm", 4, 99, (), 0),
    ("linux", "x86", 5, 6, (), 0),
    ("android", "arm64", 8, 1, (), 0),
    ("linux", "amd64", 31, 1, (), 0),
    ("linux", "amd64", 0xFFFFFFFF, 0, (), 0),
    ("linux", "amd64", 77, 3, (), 0),
    ("mac", "amd64", 1, 1, (), 0x10),
    ("mac", "amd64", 1, 13, (), 0),
    ("mac", "arm64", 1, 0x101, (), 0),
    ("mac", "arm64", 1, 0x105, (), 0),
    ("mac", "amd64", 2, 1, (), 0),
    ("mac", "arm64", 2, 1, (), 0),
    ("mac", "amd64", 3, 1, (), 0),
    ("mac", "arm64", 3, 1, (), 0),
    ("mac", "amd64", 5, 0x10002, (), 0),
    ("mac", "amd64", 5, 0xDEADC0DE, (), 0),
    ("mac", "arm64", 6, 1, (), 0),
    ("mac", "amd64", 6, 2, (), 0),
    ("mac", "amd64", 0x43507378, 0, (), 0),
    ("mac", "amd64", 10, 3, (), 0),
    ("mac", "amd64", 11, 1 << 29, (0, 0x400000000000000 | (60 << 7) | 5, 3), 0),
    ("mac", "amd64", 11, 3 << 29, (0, 0x400000000000000 | 500, 0), 0),
    ("mac", "amd64", 11, 2 << 29, (0, (5 << 58), 0), 0),
    ("mac", "amd64", 12, 1 << 29, (0, (1 << 32) | 77, 0), 0),
    ("mac", "amd64", 12, 2 << 29, (0, (2 << 32) | 9, 42), 0),
    ("mac", "amd64", 12, 3 << 29, (0, 12345, 7), 0),
    ("mac", "amd64", 12, 0, (0, 0, 0), 0),
    ("ios", "arm64", 12, 5 << 29, (0, 1 << 32, 4096), 0),
    ("mac", "arm64", 12, 6 << 29, (0, 0, 5), 0),
    ("mac", "arm64", 12, 6 << 29, (0, 1 << 32, 5), 0),
    ("mac", "arm64", 12, 7 << 29, (0, 0, 0), 0),
    ("mac", "arm64", 3, 6, (), 0),
    ("solaris", "amd64", 11, 0, (), 0x45),
]


def _dump(tmp_path, os_key, cpu, code, flags, params, address):
    b = DumpBuilder(cpu, os_key)
    ip = "eip" if cpu == "x86" else "rip" if cpu == "amd64" else "pc"
    b.add_thread(7, {ip: 0x1000})
    b.set_exception(7, code, flags=flags, params=params, address=address)
    path = tmp_path / f"{os_key}-{cpu}-{code:x}-{flags:x}.dmp"
    path.write_bytes(b.build())
    return path


def test_crash_reasons_and_addresses_agree_with_the_peer(peer_stackwalker, tmp_path):
    mismatches = []
    for case in CASES:
        path = _dump(tmp_path, *case)
        theirs = json.loads(run_peer(peer_stackwalker, path).stdout)["crash_info"]
        ours = walk_minidump(path)["crash_info"]
        for key in ("type", "address"):
            if ours[key] != theirs[key]:
                mismatches.append((case, key, ours[key], theirs[key]))
    assert mismatches == []


def test_last_error_values_agree_with_the_peer(peer_stackwalker, tmp_path):
    codes = [0, 5, 87, 0x103, 0x104, 1460, 9999, 0x80070005, 0x806D007E, 0xC0000005,
             0xC0000409, 0x40010005, 0x00010001, 0xDEADBEEF]  # fmt: skip
    b = DumpBuilder("x86", "windows")
    b.add_memory(0x50000, b"".join(c.to_bytes(4, "little") for c in codes))
    ctx = encode_context("x86", {"eip": 0x1000})
    shared = (len(ctx), b.blob(ctx))
    for i in range(len(codes)):
        b.add_thread(i + 1, context_at=shared, teb=0x50000 + 4 * i - 13 * 4)
    b.add_thread(99, context_at=shared, teb=0x90000)  # TEB not captured: null
    path = tmp_path / "teb.dmp"
    path.write_bytes(b.build())
    theirs = [
        t["last_error_value"]
        for t in json.loads(run_peer(peer_stackwalker, path).stdout)["threads"]
    ]
    ours = [t["last_error_value"] for t in walk_minidump(path)["threads"]]
    assert ours == theirs
    assert ours[-1] is None and ours[1] == "ERROR_ACCESS_DENIED"


def test_known_strings():
    assert crash_reason("windows", "x86", AV, 0, 2, (1, 0x45)) == "EXCEPTION_ACCESS_VIOLATION_WRITE"
    assert crash_reason("linux", "amd64", 11, 0, 0, ()) == "SIGSEGV"
    assert crash_reason("linux", "amd64", 11, 1, 0, ()) == "SIGSEGV / SEGV_MAPERR"
    assert crash_reason("mac", "amd64", 1, 1, 0, ()) == "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"
    assert crash_reason("unknown", "amd64", 1, 2, 0, ()) == "unknown 0x00000001 / 0x00000002"
    assert windows_error(0xC0000374) == "STATUS_HEAP_CORRUPTION"
    assert windows_error(0x12345678) == "unknown 0x12345678"
    assert crash_address("windows", 4, AV, 2, (1, 0x1_0000_0045), 0x401000) == 0x45
    assert crash_address("linux", 8, 11, 0, (), 0x45) == 0x45


@pytest.mark.parametrize("code", [0xC0000409])
def test_fast_fail_needs_a_parameter(code):
    assert crash_reason("windows", "amd64", code, 0, 0, ()) == "STATUS_STACK_BUFFER_OVERRUN"
    assert crash_reason("windows", "amd64", code, 0, 1, (2,)) == (
        "EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_STACK_COOKIE_CHECK_FAILURE"
    )
