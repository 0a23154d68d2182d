"""The Minidump: header, stream directory, and each stream parsed on first use.

A stream that cannot be parsed is treated as absent (as rust-minidump does), and the
reason is kept in `stream_errors` so the caller can report it; only a bad header or
directory makes the whole file unreadable.
"""

from __future__ import annotations

import mmap
import os
from importlib import import_module
from pathlib import Path

from stackwalk.minidump import format as fmt
from stackwalk.minidump.errors import BadHeader, MinidumpError, StreamError
from stackwalk.minidump.reader import Reader

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Any

    from stackwalk.minidump.system_info import SystemInfo

# Stream type -> (module, function) of its parser, imported the first time a dump has
# that stream: a one-dump process (the `stackwalk` command) pays only for the streams
# its dump holds.
_PARSERS: dict[int, tuple[str, str]] = {
    fmt.THREAD_LIST: ("threads", "parse_thread_list"),
    fmt.THREAD_NAMES: ("threads", "parse_thread_names"),
    fmt.MEMORY_LIST: ("memory_lists", "parse_memory_list"),
    fmt.MEMORY_64_LIST: ("memory_lists", "parse_memory64_list"),
    fmt.MEMORY_INFO_LIST: ("memory_lists", "parse_memory_info_list"),
    fmt.EXCEPTION: ("exception", "parse_exception"),
    fmt.SYSTEM_INFO: ("system_info", "parse_system_info"),
    fmt.UNLOADED_MODULE_LIST: ("module_list", "parse_unloaded_module_list"),
    fmt.HANDLE_DATA: ("handles", "parse_handle_data"),
    fmt.MISC_INFO: ("misc", "parse_misc_info"),
    fmt.BREAKPAD_INFO: ("misc", "parse_breakpad_info"),
    fmt.ASSERTION_INFO: ("misc", "parse_assertion"),
    fmt.CRASHPAD_INFO: ("crashpad", "parse_crashpad_info"),
    fmt.LINUX_CPU_INFO: ("linux", "parse_key_value_stream"),
    fmt.LINUX_PROC_STATUS: ("linux", "parse_key_value_stream"),
    fmt.LINUX_LSB_RELEASE: ("linux", "parse_lsb_release"),
    fmt.LINUX_MAPS: ("linux", "parse_linux_maps"),
    fmt.LINUX_CMD_LINE: ("linux", "parse_nul_list"),
    fmt.LINUX_ENVIRON: ("linux", "parse_nul_list"),
    fmt.MOZ_MACOS_CRASH_INFO: ("mozilla", "parse_mac_crash_info"),
    fmt.MOZ_MACOS_BOOTARGS: ("mozilla", "parse_mac_boot_args"),
    fmt.MOZ_LINUX_LIMITS: ("mozilla", "parse_linux_limits"),
    fmt.MOZ_SOFT_ERRORS: ("mozilla", "parse_soft_errors"),
}


def _parser(module: str, function: str):
    return getattr(import_module(f"stackwalk.minidump.{module}"), function)


class Minidump:
    """A readable minidump. Open with `Minidump.open(path)` or `Minidump(data)`."""

    def __init__(self, data: bytes | bytearray | memoryview | mmap.mmap) -> None:
        self._data = data
        whole = Reader(memoryview(data))
        if len(whole) < fmt.HEADER_SIZE:
            raise BadHeader("the file is too small to be a minidump", "MissingHeader")
        signature = whole.u32(0)
        if signature != fmt.SIGNATURE:
            if int.from_bytes(signature.to_bytes(4, "little"), "big") != fmt.SIGNATURE:
                raise BadHeader("the file is not a minidump (no MDMP signature)", "HeaderMismatch")
            whole = Reader(memoryview(data), ">")
        self.whole = whole
        self.endian = whole.endian
        (_sig, version, count, directory_rva, _checksum, self.time_date_stamp, self.flags) = (
            whole.unpack("IIIIIIQ", 0)
        )
        if version & 0xFFFF != fmt.VERSION:
            raise BadHeader(
                f"unsupported minidump version {version & 0xFFFF:#x}", "VersionMismatch"
            )
        if directory_rva + count * fmt.DIRECTORY_ENTRY_SIZE > len(whole):
            raise BadHeader(
                f"the stream directory ({count} entries) runs past the end of the file",
                "MissingDirectory",
            )
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
                    raise BadHeader("the file is empty", "MissingHeader")
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            code = "FileNotFound" if isinstance(e, FileNotFoundError) else "IoError"
            raise MinidumpError(f"cannot read {Path(path).name}: {e.strerror or e}", code) from e
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
            return _parser("module_list", "parse_module_list")(data, self.whole, os_key)
        if kind == fmt.LINUX_AUXV:
            width = (self.system_info.pointer_width if self.system_info else None) or 8
            return _parser("linux", "parse_auxv")(data, self.whole, width)
        where = _PARSERS.get(kind)
        if where is None:
            return data.bytes(0, len(data))
        return _parser(*where)(data, self.whole)

    def memory_regions(self) -> list:
        """Captured memory: the Memory64List when it reads, else the MemoryList."""
        regions = self.stream(fmt.MEMORY_64_LIST)
        if regions is None:
            regions = self.stream(fmt.MEMORY_LIST)
        return regions or []
