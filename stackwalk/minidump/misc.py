"""Small fixed-layout streams: MiscInfo, BreakpadInfo and Breakpad's AssertionInfo."""

from __future__ import annotations

from dataclasses import dataclass

from stackwalk.minidump import format as fmt
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import fixed_utf16


@dataclass
class MiscInfo:
    flags: int
    process_id: int | None
    process_create_time: int | None


def parse_misc_info(data: Reader, whole: Reader) -> MiscInfo:
    """Any MISC_INFO revision: all start with size, flags, pid and the process times."""
    _size, flags, pid, create_time = data.unpack("IIII6x", 0, "misc info")[:4]
    return MiscInfo(
        flags,
        pid if flags & fmt.MISC1_PROCESS_ID else None,
        create_time if flags & fmt.MISC1_PROCESS_TIMES else None,
    )


@dataclass
class BreakpadInfo:
    dump_thread_id: int | None
    requesting_thread_id: int | None


def parse_breakpad_info(data: Reader, whole: Reader) -> BreakpadInfo:
    validity, dump_tid, requesting_tid = data.unpack("III", 0, "breakpad info")
    return BreakpadInfo(
        dump_tid if validity & fmt.BREAKPAD_DUMP_THREAD_VALID else None,
        requesting_tid if validity & fmt.BREAKPAD_REQUESTING_THREAD_VALID else None,
    )


@dataclass
class Assertion:
    expression: str | None
    function: str | None
    file: str | None
    line: int
    kind: int


def parse_assertion(data: Reader, whole: Reader) -> Assertion:
    raw = data.bytes(0, 776, "assertion info")
    line, kind = data.unpack("II", 768)
    return Assertion(
        fixed_utf16(raw[0:256]), fixed_utf16(raw[256:512]), fixed_utf16(raw[512:768]), line, kind
    )
