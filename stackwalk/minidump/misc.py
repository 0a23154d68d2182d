"""Small fixed-layout streams: MiscInfo, BreakpadInfo and Breakpad's AssertionInfo."""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.minidump import format as fmt
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import fixed_utf16


class MiscInfo(Record):
    flags: int
    process_id: int | None
    process_create_time: int | None

    def __init__(self, flags: int, process_id: int | None, process_create_time: int | None) -> None:
        self.flags = flags
        self.process_id = process_id
        self.process_create_time = process_create_time

    _fields = ("flags", "process_id", "process_create_time")


def parse_misc_info(data: Reader, whole: Reader) -> MiscInfo:
    """Any MISC_INFO revision: all start with size, flags, pid and the process times."""
    _size, flags, pid, create_time = data.unpack("IIII6x", 0, "misc info")[:4]
    return MiscInfo(
        flags,
        pid if flags & fmt.MISC1_PROCESS_ID else None,
        create_time if flags & fmt.MISC1_PROCESS_TIMES else None,
    )


class BreakpadInfo(Record):
    dump_thread_id: int | None
    requesting_thread_id: int | None

    def __init__(self, dump_thread_id: int | None, requesting_thread_id: int | None) -> None:
        self.dump_thread_id = dump_thread_id
        self.requesting_thread_id = requesting_thread_id

    _fields = ("dump_thread_id", "requesting_thread_id")


def parse_breakpad_info(data: Reader, whole: Reader) -> BreakpadInfo:
    validity, dump_tid, requesting_tid = data.unpack("III", 0, "breakpad info")
    return BreakpadInfo(
        dump_tid if validity & fmt.BREAKPAD_DUMP_THREAD_VALID else None,
        requesting_tid if validity & fmt.BREAKPAD_REQUESTING_THREAD_VALID else None,
    )


class Assertion(Record):
    expression: str | None
    function: str | None
    file: str | None
    line: int
    kind: int

    def __init__(
        self, expression: str | None, function: str | None, file: str | None, line: int, kind: int
    ) -> None:
        self.expression = expression
        self.function = function
        self.file = file
        self.line = line
        self.kind = kind

    _fields = ("expression", "function", "file", "line", "kind")


def parse_assertion(data: Reader, whole: Reader) -> Assertion:
    raw = data.bytes(0, 776, "assertion info")
    line, kind = data.unpack("II", 768)
    return Assertion(
        fixed_utf16(raw[0:256]), fixed_utf16(raw[256:512]), fixed_utf16(raw[512:768]), line, kind
    )
