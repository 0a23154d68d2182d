"""Every stream the document reads, on synthetic dumps, against the peer."""

from __future__ import annotations

import struct

import pytest

from stackwalk.minidump import Minidump
from stackwalk.minidump import format as fmt
from stackwalk.process import walk_minidump
from stackwalk.testing import DumpBuilder, encode_context
from tests.stackwalk.compare import peer_differences

LIMITS = (
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 1048576              files     \n"
    "Max locked memory         65536                65536                bytes     \n"
)


def _write(tmp_path, builder, name="synthetic.dmp"):
    path = tmp_path / name
    path.write_bytes(builder.build())
    return path


def test_linux_streams(peer_stackwalker, tmp_path):
    b = DumpBuilder(
        "amd64", "linux", csd_version="Linux 5.10.0 #1 SMP x86_64", os_version=(0, 0, 0)
    )
    b.add_module(0x400000, 0x1000, "/bin/app", build_id=bytes(range(20)))
    b.add_module(0x600000, 0x1000, "/lib/zero.so", build_id=bytes(20))
    b.add_unloaded_module(0x500000, 0x2000, "/lib/gone.so", timestamp=0x1234)
    b.add_unloaded_module(0x500800, 0x200, "/lib/gone2.so")
    b.add_thread(1, {"rip": 0x500900, "rsp": 0x7000}, stack=(0x7000, bytes(64)))
    b.add_thread(2, {"rip": 0x400900, "rsp": 0x8000})
    b.set_thread_names({1: "main", 2: ""})
    b.set_handles([(4, "File", "/tmp/x"), (0x10, None, None)])
    b.add_text_stream(fmt.MOZ_LINUX_LIMITS, LIMITS)
    b.add_text_stream(
        fmt.LINUX_LSB_RELEASE,
        'ID="debian"\nVERSION_ID="11"\nPRETTY_NAME="Debian GNU/Linux 11"\nVERSION_CODENAME=x\n',
    )
    b.add_text_stream(fmt.LINUX_PROC_STATUS, "Name:\tapp\nPid:\t4242\n")
    b.add_text_stream(fmt.LINUX_CPU_INFO, "processor\t: 0\nmicrocode\t: 0xb4\n")
    b.add_text_stream(
        fmt.LINUX_MAPS,
        "00400000-00401000 r-xp 00000000 08:01 123 /bin/app\n"
        "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n",
    )
    b.add_text_stream(fmt.LINUX_ENVIRON, b"A=1\0B=2\0")
    b.add_text_stream(fmt.LINUX_CMD_LINE, b"/bin/app\0--flag\0")
    b.add_stream(fmt.LINUX_AUXV, struct.pack("<4Q", 6, 4096, 0, 0))
    b.add_text_stream(fmt.MOZ_SOFT_ERRORS, '{"a":[1,2.5,"x",{"b":null}]}')
    b.set_exception(1, 11, flags=1, address=0x45)
    path = _write(tmp_path, b)
    doc = walk_minidump(path)
    assert doc["threads"][0]["frames"][0]["unloaded_modules"] == [
        {"module": "/lib/gone.so", "offsets": ["0x0000000000000900"]},
        {"module": "/lib/gone2.so", "offsets": ["0x0000000000000100"]},
    ]
    assert doc["pid"] == 4242 and doc["linux_memory_map_count"] == 2
    assert doc["system_info"]["cpu_microcode_version"] == "0xb4"
    dump = Minidump.open(path)
    assert dump.stream(fmt.LINUX_ENVIRON) == ["A=1", "B=2"]
    assert dump.stream(fmt.LINUX_AUXV) == [(6, 4096), (0, 0)]
    assert peer_differences(peer_stackwalker, path, doc) == []


def test_macos_streams(peer_stackwalker, tmp_path):
    b = DumpBuilder("arm64", "mac", csd_version="21A559", os_version=(12, 0, 1))
    b.add_module(
        0x100000000,
        0x4000,
        "/Applications/App",
        pdb=(bytes(range(16)), 0, "App"),
        version=(0, 1, 2, 3),
    )
    b.add_thread(0x103, {"pc": 0x100000100, "sp": 0x16F000000, "lr": 0x100000200})
    b.set_thread_names({0x103: "main"})
    b.set_mac_boot_args("-v debug=0x144")
    b.set_mac_crash_info(
        [
            {"thread": 0x1234, "abort_cause": 5, "module_path": "/x", "message": "boom"},
            {"backtrace": "bt", "message2": "two"},
        ]
    )
    b.set_misc_info(pid=77, create_time=0x60000000)
    b.set_breakpad_info(requesting_tid=0x103)
    path = _write(tmp_path, b)
    doc = walk_minidump(path)
    assert doc["crash_info"]["type"] is None and doc["crash_info"]["crashing_thread"] == 0
    assert doc["crashing_thread"]["frames"][0]["registers"]["pc"] == "0x0000000100000100"
    assert doc["mac_boot_args"] == "-v debug=0x144"
    assert doc["mac_crash_info"]["num_records"] == 2
    assert peer_differences(peer_stackwalker, path, doc) == []


@pytest.mark.parametrize("version", [1, 4])
def test_older_mac_crash_info_records(peer_stackwalker, tmp_path, version):
    b = DumpBuilder("amd64", "mac")
    b.add_thread(1, {"rip": 0x1000})
    b.set_mac_crash_info([{"thread": 9, "dialog_mode": 2, "message": "old"}], version=version)
    path = _write(tmp_path, b)
    assert peer_differences(peer_stackwalker, path, walk_minidump(path)) == []


def test_windows_threads_memory64_and_memory_info(peer_stackwalker, tmp_path):
    b = DumpBuilder("amd64", "windows", csd_version="  ")
    b.add_module(0x140000000, 0x10000, "C:\\app\\app.exe", timestamp=0x5F000000)
    b.add_thread(10, {"rip": 0x140001000, "rsp": 0x10000}, teb=0x7000)
    b.add_thread(11, {"rip": 0x140002000, "rsp": 0x20000}, teb=0x9000)
    b.add_thread(12, {"rip": 0x140003000, "rsp": 0x30000})
    # Memory64List: descriptors without RVAs, data laid end to end.
    teb = bytearray(0x100)
    struct.pack_into("<I", teb, 13 * 8, 0xC0000005)
    data = bytes(teb) + bytes(0x80)
    rva = b.blob(data)
    b.add_stream(fmt.MEMORY_64_LIST, struct.pack("<QQQQQQ", 2, rva, 0x7000, 0x100, 0x20000, 0x80))
    entries = [(0x140000000, 0x140000000, 0x20, 0x10000, 0x1000, 0x20, 0x1000000)]
    body = b"".join(
        struct.pack("<QQIIQIIII", *e[:3], 0, e[3], e[4], e[5], e[6], 0) for e in entries
    )
    b.add_stream(fmt.MEMORY_INFO_LIST, struct.pack("<IIQ", 16, 48, len(entries)) + body)
    b.set_breakpad_info(dump_tid=12, requesting_tid=11)
    b.set_exception(
        11, 0xC0000005, params=(0, 0x140000008), regs={"rip": 0x140002222, "rsp": 0x20000}
    )
    b.set_misc_info(pid=1234)
    path = _write(tmp_path, b)
    doc = walk_minidump(path)
    assert [t["last_error_value"] for t in doc["threads"]] == [
        "STATUS_ACCESS_VIOLATION",
        None,
        None,
    ]
    assert doc["crash_info"]["crash_inconsistencies"] == ["access_violation_when_access_allowed"]
    assert doc["threads"][2]["frames"] == []  # the dump-writing thread is skipped
    assert doc["crashing_thread"]["frames"][0]["offset"] == "0x0000000140002222"
    assert peer_differences(peer_stackwalker, path, doc) == []


def test_x86_without_exception_context_uses_the_thread_context(peer_stackwalker, tmp_path):
    b = DumpBuilder("x86", "windows")
    b.add_module(0x400000, 0x1000, "c:\\a.exe")
    b.add_thread(1, {"eip": 0x400010, "esp": 0x1000, "ebp": 0x1010})
    b.set_exception(1, 0x80000003)
    path = _write(tmp_path, b)
    doc = walk_minidump(path)
    assert doc["crashing_thread"]["frames"][0]["offset"] == "0x00400010"
    assert doc["modules"][0]["code_id"] == "000000001000"
    assert peer_differences(peer_stackwalker, path, doc) == []


def test_context_with_the_wrong_cpu_gives_no_frames(peer_stackwalker, tmp_path):
    b = DumpBuilder("amd64", "linux")
    b.add_thread(1, context=encode_context("x86", {"eip": 0x1000}))
    b.add_thread(2, context=encode_context("amd64", {"rip": 0x1000}, flags=0x00110000))
    b.add_thread(3, context=encode_context("amd64", {"rip": 0x2000})[:100])
    path = _write(tmp_path, b)
    doc = walk_minidump(path)
    assert [t["frame_count"] for t in doc["threads"]] == [0, 0, 0]
    assert "crashing_thread" not in doc
    assert peer_differences(peer_stackwalker, path, doc) == []


def test_duplicate_stream_later_wins_and_unknown_platform(peer_stackwalker, tmp_path):
    b = DumpBuilder("arm", "linux")
    b.add_thread(1, {"pc": 0x8000, "sp": 0x9000, "lr": 0x8100})
    b.set_misc_info(pid=1)
    b.set_misc_info(pid=2)
    path = _write(tmp_path, b)
    assert walk_minidump(path)["pid"] == 2
    assert peer_differences(peer_stackwalker, path, walk_minidump(path)) == []
    unknown = DumpBuilder("ppc", "plan9")
    unknown.add_thread(1, context=bytes(100))
    path = _write(tmp_path, unknown, "unknown.dmp")
    doc = walk_minidump(path)
    assert doc["system_info"]["os"] == "0x0x00ffff"
    assert peer_differences(peer_stackwalker, path, doc) == []


@pytest.mark.parametrize(
    "cpu, os_key, address, regs, params",
    [
        # one flip lands in a mapping, two registers point near it, one holds poison
        (
            "amd64",
            "linux",
            0x7F0000000010 ^ (1 << 40),
            {"rax": 0x7F0000000100, "rbx": 0x7F0000000800, "rcx": 0xE5E5E5E5E5E5E5E5},
            (),
        ),
        # a low address one bit away from null
        ("amd64", "linux", 0x1000, {"rip": 0x1000}, ()),
        # a Windows write violation needs a writable target, an exec one an executable one
        ("amd64", "windows", 0x7F0000000010 ^ (1 << 40), {"rip": 0x1000}, (1,)),
        ("amd64", "windows", 0x7F0000000010 ^ (1 << 40), {"rip": 0x1000}, (8,)),
        # no flips are looked for on arm64 (nor on 32-bit CPUs)
        ("arm64", "windows", 0x7F0000000010 ^ (1 << 40), {"pc": 0x1000}, (1,)),
    ],
)
def test_possible_bit_flips(peer_stackwalker, tmp_path, cpu, os_key, address, regs, params):
    b = DumpBuilder(cpu, os_key)
    b.add_thread(1, regs)
    if os_key == "linux":
        b.add_text_stream(
            fmt.LINUX_MAPS,
            "7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n"
            "7f0000002000-7f0000003000 ---p 00000000 00:00 0\n",
        )
        b.set_exception(1, 11, flags=1, address=address, regs=regs)
    else:
        entries = [(0x7F0000000000, 0x1000, 0x04), (0x7F0000002000, 0x1000, 0x01)]
        body = b"".join(
            struct.pack("<QQIIQIIII", base, base, prot, 0, size, 0x1000, prot, 0x20000, 0)
            for base, size, prot in entries
        )
        b.add_stream(fmt.MEMORY_INFO_LIST, struct.pack("<IIQ", 16, 48, len(entries)) + body)
        b.set_exception(1, 0xC0000005, params=(*params, address), regs=regs)
    path = _write(tmp_path, b)
    doc = walk_minidump(path)
    assert peer_differences(peer_stackwalker, path, doc) == []
