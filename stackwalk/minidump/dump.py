"""The Minidump: header, stream directory, and each stream parsed on first use.

A stream that cannot be parsed is treated as absent (as rust-minidump does), and the
reason is kept in `stream_errors` so the caller can report it; only a bad header or
directory makes the whole file unreadable.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackwalk.minidump import format as fmt
from stackwalk.minidump.crashpad import parse_crashpad_info
from stackwalk.minidump.errors import BadHeader, MinidumpError, StreamError
from stackwalk.minidump.exception import parse_exception
from stackwalk.minidump.handles import parse_handle_data
from stackwalk.minidump.linux import (
    parse_auxv,
    parse_key_value_stream,
    parse_linux_maps,
    parse_lsb_release,
    parse_nul_list,
)
from stackwalk.minidump.memory_lists import (
    parse_memory64_list,
    parse_memory_info_list,
    parse_memory_list,
)
from stackwalk.minidump.misc import parse_assertion, parse_breakpad_info, parse_misc_info
from stackwalk.minidump.module_list import parse_module_list, parse_unloaded_module_list
from stackwalk.minidump.mozilla import (
    parse_linux_limits,
    parse_mac_boot_args,
    parse_mac_crash_info,
    parse_soft_errors,
)
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.system_info import SystemInfo, parse_system_info
from stackwalk.minidump.threads import parse_thread_list, parse_thread_names

Parser = Callable[[Reader, Reader], Any]

_PARSERS: dict[int, Parser] = {
    fmt.THREAD_LIST: parse_thread_list,
    fmt.THREAD_NAMES: parse_thread_names,
    fmt.MEMORY_LIST: parse_memory_list,
    fmt.MEMORY_64_LIST: parse_memory64_list,
    fmt.MEMORY_INFO_LIST: parse_memory_info_list,
    fmt.EXCEPTION: parse_exception,
    fmt.SYSTEM_INFO: parse_system_info,
    fmt.UNLOADED_MODULE_LIST: parse_unloaded_module_list,
    fmt.HANDLE_DATA: parse_handle_data,
    fmt.MISC_INFO: parse_misc_info,
    fmt.BREAKPAD_INFO: parse_breakpad_info,
    fmt.ASSERTION_INFO: parse_assertion,
    fmt.CRASHPAD_INFO: parse_crashpad_info,
    fmt.LINUX_CPU_INFO: parse_key_value_stream,
    fmt.LINUX_PROC_STATUS: parse_key_value_stream,
    fmt.LINUX_LSB_RELEASE: parse_lsb_release,
    fmt.LINUX_MAPS: parse_linux_maps,
    fmt.LINUX_CMD_LINE: parse_nul_list,
    fmt.LINUX_ENVIRON: parse_nul_list,
    fmt.MOZ_MACOS_CRASH_INFO: parse_mac_crash_info,
    fmt.MOZ_MACOS_BOOTARGS: parse_mac_boot_args,
    fmt.MOZ_LINUX_LIMITS: parse_linux_limits,
    fmt.MOZ_SOFT_ERRORS: parse_soft_errors,
}


class Minidump:
    """A readable minidump. Open with `Minidump.open(path)` or `Minidump(data)`."""

    def __init__(self, data: bytes | bytearray | memoryview | mmap.mmap) -> None:
        self._data = data
        whole = Reader(memoryview(data))
        if len(whole) < fmt.HEADER_SIZE:
            raise BadHeader("the file is too small to be a minidump")
        signature = whole.u32(0)
        if signature != fmt.SIGNATURE:
            if int.from_bytes(signature.to_bytes(4, "little"), "big") != fmt.SIGNATURE:
                raise BadHeader("the file is not a minidump (no MDMP signature)")
            whole = Reader(memoryview(data), ">")
        self.whole = whole
        self.endian = whole.endian
        (_sig, version, count, directory_rva, _checksum, self.time_date_stamp, self.flags) = (
            whole.unpack("IIIIIIQ", 0)
        )
        if version & 0xFFFF != fmt.VERSION:
            raise BadHeader(f"unsupported minidump version {version & 0xFFFF:#x}")
        if directory_rva + count * fmt.DIRECTORY_ENTRY_SIZE > len(whole):
            raise BadHeader(f"the stream directory ({count} entries) runs past the end of the file")
        # A repeated stream type: the later entry wins.
        self.directory: dict[int, tuple[int, int]] = {
            kind: (size, rva)
            for kind, size, rva in whole.unpack_array("III", directory_rva, count, "directory")
        }
        self.stream_errors: dict[str, str] = {}
        self._cache: dict[int, Any] = {}
        self.system_info: SystemInfo | None = self.stream(fmt.SYSTEM_INFO)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Minidump:
        """Memory-map the file (so big full dumps cost address space, not memory)."""
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    raise BadHeader("the file is empty")
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise MinidumpError(f"cannot read {Path(path).name}: {e.strerror or e}") from e
        return cls(data)

    def has_stream(self, kind: int) -> bool:
        return kind in self.directory

    def raw_stream(self, kind: int) -> Reader | None:
        """The stream's bytes; None when absent, StreamError when it points outside the file."""
        location = self.directory.get(kind)
        if location is None:
            return None
        size, rva = location
        if rva + size > len(self.whole):
            raise StreamError("the stream lies outside the file")
        return self.whole.sub(rva, size)

    def stream(self, kind: int) -> Any:
        """The parsed stream, or None when absent or corrupt (the reason is recorded)."""
        if kind in self._cache:
            return self._cache[kind]
        value = None
        try:
            data = self.raw_stream(kind)
            if data is not None:
                value = self._parse(kind, data)
        except MinidumpError as e:
            self.stream_errors[fmt.stream_name(kind)] = e.reason
            value = None
        self._cache[kind] = value
        return value

    def _parse(self, kind: int, data: Reader) -> Any:
        if kind == fmt.MODULE_LIST:
            os_key = self.system_info.os_key if self.system_info else "unknown"
            return parse_module_list(data, self.whole, os_key)
        if kind == fmt.LINUX_AUXV:
            width = (self.system_info.pointer_width if self.system_info else None) or 8
            return parse_auxv(data, self.whole, width)
        parser = _PARSERS.get(kind)
        if parser is None:
            return data.bytes(0, len(data))
        return parser(data, self.whole)

    def memory_regions(self) -> list:
        """Captured memory: the Memory64List when it reads, else the MemoryList."""
        regions = self.stream(fmt.MEMORY_64_LIST)
        if regions is None:
            regions = self.stream(fmt.MEMORY_LIST)
        return regions or []
