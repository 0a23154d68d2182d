"""Dumps the builder synthesizes for each CPU and OS, against the peer field by field.

Frame 0 (the context frame) and every top-level field must agree; frames past the
context frame are the unwinders' business (tests/stackwalk/unwind).
"""

from __future__ import annotations

import struct

import pytest

from stackwalk.minidump import format as fmt
from stackwalk.process import walk_minidump
from stackwalk.testing import DumpBuilder
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
from tests.stackwalk.compare import peer_differences

IP = {"x86": "eip", "amd64": "rip", "arm": "pc", "arm64": "pc", "arm64_old": "pc"}
SP = {"x86": "esp", "amd64": "rsp", "arm": "sp", "arm64": "sp", "arm64_old": "sp"}
WIDE = {"amd64", "arm64", "arm64_old"}
CRASH = {  # os -> (code, flags, params)
    "windows": (0xC0000005, 0, (0, 0x10)),
    "linux": (11, 1, ()),
    "android": (7, 2, ()),
    "mac": (1, 1, ()),
    "ios": (1, 2, ()),
}
COMBOS = [
    ("x86", "windows"),
    ("x86", "linux"),
    ("amd64", "windows"),
    ("amd64", "linux"),
    ("amd64", "mac"),
    ("arm", "linux"),
    ("arm", "android"),
    ("arm", "ios"),
    ("arm64", "linux"),
    ("arm64", "android"),
    ("arm64", "mac"),
    ("arm64", "ios"),
    ("arm64", "windows"),
    ("arm64_old", "linux"),
]
GUID = bytes.fromhex("00112233445566778899aabbccddeeff")


def _cpu_data(cpu: str) -> bytes | None:
    if cpu == "arm":
        return struct.pack("<II", 0x410FC090, 0x1FFF) + bytes(16)
    return None


def _build(cpu: str, os_key: str, tmp_path):
    wide = cpu in WIDE
    base = 0x7F0000000000 if wide else 0x40000000
    b = DumpBuilder(
        cpu,
        os_key,
        cpu_data=_cpu_data(cpu),
        processor_level=7 if cpu == "arm" else 6,
        csd_version="Service Pack 1" if os_key == "windows" else "21G72",
    )
    names = {
        "windows": ("C:\\app\\app.exe", "C:\\Windows\\System32\\ntdll.dll"),
        "mac": ("/Applications/App.app/App", "/usr/lib/libSystem.B.dylib"),
        "ios": ("/var/App.app/App", "/usr/lib/libSystem.B.dylib"),
    }.get(os_key, ("/usr/bin/app", "/lib/libc.so.6"))
    if os_key in ("windows", "mac", "ios"):
        b.add_module(base, 0x10000, names[0], timestamp=0x5F5E100, pdb=(GUID, 2, "app.pdb"),
                     version=(1, 2, 3, 4))  # fmt: skip
        b.add_module(
            base + 0x100000, 0x20000, names[1], timestamp=0x12345, pdb=(GUID[::-1], 1, "lib.pdb")
        )
    else:
        b.add_module(base, 0x10000, names[0], build_id=bytes(range(20)), version=(1, 2, 3, 4))
        b.add_module(base + 0x100000, 0x20000, names[1], build_id=bytes(range(8)))
    b.add_unloaded_module(base + 0x80000, 0x4000, "gone.so" if os_key != "windows" else "gone.dll")
    stack_base = base + 0x400000
    regs = {IP[cpu]: base + 0x80100, SP[cpu]: stack_base + 0x10}
    if cpu in ("arm", "arm64", "arm64_old"):
        regs["lr"] = base + 0x1234
        regs["fp"] = stack_base + 0x40
    stack = b"".join(struct.pack("<Q" if wide else "<I", base + 0x1000 + i) for i in range(32))
    b.add_thread(0x100, regs, stack=(stack_base, stack), teb=stack_base + 0x1000)
    b.add_thread(0x101, {IP[cpu]: base + 0x100200, SP[cpu]: stack_base + 0x20})
    b.add_thread(0x102, {IP[cpu]: base + 0x500, SP[cpu]: stack_base})
    b.set_thread_names({0x100: "main", 0x101: "worker"})
    b.set_breakpad_info(dump_tid=0x102, requesting_tid=0x100)
    code, flags, params = CRASH[os_key]
    b.set_exception(0x100, code, flags=flags, params=params, address=0x10, regs=regs)
    b.set_misc_info(pid=4321, create_time=0x5F000000)
    path = tmp_path / f"{cpu}-{os_key}.dmp"
    path.write_bytes(b.build())
    return path


@pytest.mark.parametrize("cpu, os_key", COMBOS, ids=[f"{c}-{o}" for c, o in COMBOS])
def test_each_cpu_and_os(peer_stackwalker, tmp_path, cpu, os_key):
    path = _build(cpu, os_key, tmp_path)
    doc = walk_minidump(path)
    frame0 = doc["crashing_thread"]["frames"][0]
    assert frame0["module"] is None and frame0["unloaded_modules"][0]["offsets"]
    assert doc["threads"][2]["frames"] == []
    assert peer_differences(peer_stackwalker, path, doc) == []


def test_cfi_only_symbols_and_a_corrupt_symbol_file(peer_stackwalker, tmp_path):
    """A module whose .sym has only STACK CFI is loaded but names no function; a module
    whose .sym does not parse is loaded and corrupt; both as rust-minidump reports them."""
    b = DumpBuilder("amd64", "linux")
    b.add_module(0x400000, 0x10000, "/bin/app", build_id=GUID)
    b.add_module(0x500000, 0x10000, "/lib/bad.so", build_id=GUID[::-1])
    b.add_thread(1, {"rip": 0x400100, "rsp": 0x9000}, stack=(0x9000, bytes(64)))
    b.add_thread(2, {"rip": 0x500100, "rsp": 0xA000})
    b.set_exception(1, 11, address=0)
    path = tmp_path / "cfi.dmp"
    path.write_bytes(b.build())
    symbols = tmp_path / "symbols"
    app_id = "33221100554477668899AABBCCDDEEFF0"
    good = symbols / "app" / app_id / "app.sym"
    good.parent.mkdir(parents=True)
    good.write_text(
        f"MODULE Linux x86_64 {app_id} app\nSTACK CFI INIT 100 20 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    )
    bad_id = "CCDDEEFFAABB88997766554433221100" + "0"
    bad = symbols / "bad.so" / bad_id / "bad.so.sym"
    bad.parent.mkdir(parents=True)
    bad.write_text(f"MODULE Linux x86_64 {bad_id} bad.so\nthis is not a record\n")
    provider = SymbolProvider(SymbolSupplier(symbols_paths=[symbols]))
    doc = walk_minidump(path, provider)
    app, bad_mod = doc["modules"]
    assert (app["loaded_symbols"], app["corrupt_symbols"], app["missing_symbols"]) == (
        True,
        False,
        False,
    )
    assert (bad_mod["loaded_symbols"], bad_mod["corrupt_symbols"]) == (True, True)
    assert doc["threads"][0]["frames"][0]["missing_symbols"] is True
    assert peer_differences(peer_stackwalker, path, doc, str(symbols)) == []


def test_corrupt_streams_agree_with_the_peer(peer_stackwalker, tmp_path):
    """A module with an unreadable CodeView record empties the module list; a thread
    names stream with a bad entry loses only that name; a truncated exception is gone."""
    b = DumpBuilder("amd64", "linux")
    b.add_module(0x400000, 0x1000, "/bin/app", codeview=(0x100000, 0x40))
    b.add_thread(1, {"rip": 0x400100, "rsp": 0x9000})
    b.add_thread(2, {"rip": 0x400200, "rsp": 0xA000})
    good = b.blob(struct.pack("<I", 4) + "ok".encode("utf-16-le"))
    b.add_stream(fmt.THREAD_NAMES, struct.pack("<IIQIQ", 2, 1, 0xFFFFFF00, 2, good))
    b.add_stream(fmt.EXCEPTION, bytes(100))
    path = tmp_path / "corrupt.dmp"
    path.write_bytes(b.build())
    doc = walk_minidump(path)
    assert doc["modules"] == [] and doc["crash_info"]["type"] is None
    assert [t["thread_name"] for t in doc["threads"]] == [None, "ok"]
    assert peer_differences(peer_stackwalker, path, doc) == []
