"""Facts rust-minidump's own tests state about the dumps in tests/data, read with our reader."""

from __future__ import annotations

import pytest

from stackwalk.minidump import BadHeader, Minidump
from stackwalk.minidump import format as fmt
from stackwalk.minidump.context import read_context


@pytest.fixture
def test_dmp(testdata_dir):
    return Minidump.open(testdata_dir / "test.dmp")


def test_modules(test_dmp):
    modules = test_dmp.stream(fmt.MODULE_LIST)
    assert len(modules) == 13
    first = modules[0]
    assert (first.name, first.base, first.size) == ("c:\\test_app.exe", 0x400000, 0x2D000)
    assert first.code_id == "45d35f6c2d000"
    assert first.debug_file == "c:\\test_app.pdb"
    assert first.debug_id == "5A9832E5287241C1838ED98914E9B7FF1"
    assert first.version is None
    last = modules[12]
    assert (last.name, last.base, last.size) == (
        "C:\\WINDOWS\\system32\\psapi.dll",
        0x76BF0000,
        0xB000,
    )
    assert last.version == "5.1.2600.2180"


def test_system_misc_breakpad_exception(test_dmp):
    info = test_dmp.system_info
    assert info.cpu_info == "GenuineIntel family 6 model 13 stepping 8"
    assert info.csd_version == "Service Pack 2"
    assert info.os_version() == "5.1.2600 Service Pack 2"
    misc = test_dmp.stream(fmt.MISC_INFO)
    assert (misc.process_id, misc.process_create_time) == (3932, 0x45D35F73)
    breakpad = test_dmp.stream(fmt.BREAKPAD_INFO)
    assert (breakpad.dump_thread_id, breakpad.requesting_thread_id) == (0x11C0, 0xBF4)
    exc = test_dmp.stream(fmt.EXCEPTION)
    assert (exc.code, exc.thread_id) == (0xC0000005, 0xBF4)
    ctx = read_context(exc.context, info.processor_architecture, test_dmp.endian)
    assert (ctx.registers["eip"], ctx.registers["esp"]) == (0x40429E, 0x12FE84)
    thread0 = test_dmp.stream(fmt.THREAD_LIST)[0]
    ctx0 = read_context(thread0.context, info.processor_architecture, test_dmp.endian)
    assert (ctx0.registers["eip"], ctx0.registers["esp"]) == (0x7C90EB94, 0x12F320)


def test_linux_os_version_from_uname(testdata_dir):
    info = Minidump.open(testdata_dir / "linux-mini.dmp").system_info
    assert info.os_parts() == ("4.9.60-linuxkit-aufs", "#1 SMP Mon Nov 6 16:00:12 UTC 2017")


def test_elf_and_mac_ids(testdata_dir):
    linux = Minidump.open(testdata_dir / "linux-mini.dmp").stream(fmt.MODULE_LIST)[0]
    assert linux.code_id == "f1c3bcc0279865fe3058404b2831d9e64135386c"
    assert linux.debug_id == "C0BCC3F19827FE653058404B2831D9E60"
    assert linux.debug_file == linux.name
    mac = Minidump.open(testdata_dir / "pipeline-inlines-macos-segv.dmp").stream(fmt.MODULE_LIST)[0]
    assert mac.code_id == "509c0610949836f7b70bd88bcf03e540"
    assert mac.debug_id == "509C0610949836F7B70BD88BCF03E5400"


def test_crashpad_info(testdata_dir):
    info = Minidump.open(testdata_dir / "simple-crashpad.dmp").stream(fmt.CRASHPAD_INFO)
    assert info.report_id == "42F9DE72-518A-43DD-97D7-8DDC328D3662"
    assert info.client_id == "6FD2B3B9-9833-4B2F-BBF7-0BCF501BAD7E"
    assert info.simple_annotations == {"hello": "world"}
    assert info.module_list[0].module_index == 16
    assert info.module_list[0].list_annotations == ["abort() called"]


def test_assertion_stream(testdata_dir):
    assertion = Minidump.open(testdata_dir / "invalid-parameter.dmp").stream(fmt.ASSERTION_INFO)
    assert assertion.expression == "format != nullptr"
    assert assertion.function == "common_vfprintf"
    assert assertion.file == "minkernel\\crts\\ucrt\\src\\appcrt\\stdio\\output.cpp"
    assert assertion.line == 32


def test_invalid_range_linux_maps_is_an_error_not_a_crash(testdata_dir):
    dump = Minidump.open(testdata_dir / "invalid-range.dmp")
    assert dump.stream(fmt.LINUX_MAPS) is None
    assert "LinuxMaps" in dump.stream_errors


def test_invalid_record_count_mac_crash_info(testdata_dir):
    dump = Minidump.open(testdata_dir / "invalid-record-count.dmp")
    assert dump.stream(fmt.MOZ_MACOS_CRASH_INFO) is None
    assert "MozMacosCrashInfo" in dump.stream_errors


def test_bad_headers():
    with pytest.raises(BadHeader, match="too small"):
        Minidump(b"MDMP")
    with pytest.raises(BadHeader, match="not a minidump"):
        Minidump(b"x" * 64)
    bad_version = bytearray(32)
    bad_version[0:8] = b"MDMP\x00\x00\x00\x00"
    with pytest.raises(BadHeader, match="version"):
        Minidump(bytes(bad_version))
