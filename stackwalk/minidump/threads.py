"""ThreadList and ThreadNames."""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.memory import MemoryRegion
from stackwalk.minidump.lists import read_list
from stackwalk.minidump.memory_lists import read_region
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import utf16_string

# MINIDUMP_THREAD: id, suspend count, priority class, priority, TEB,
# stack descriptor (start, size, rva), context location (size, rva).
_THREAD = "IIIIQQIIII"


class DumpThread(Record):
    thread_id: int
    teb: int
    stack_start: int
    stack: MemoryRegion | None  # None: fall back to the memory list at stack_start
    context: memoryview | None  # raw context bytes, parsed once the CPU is known

    def __init__(
        self,
        thread_id: int,
        teb: int,
        stack_start: int,
        stack: MemoryRegion | None,
        context: memoryview | None,
    ) -> None:
        self.thread_id = thread_id
        self.teb = teb
        self.stack_start = stack_start
        self.stack = stack
        self.context = context

    _fields = ("thread_id", "teb", "stack_start", "stack", "context")


def parse_thread_list(data: Reader, whole: Reader) -> list[DumpThread]:
    threads = []
    for tid, _suspend, _pclass, _prio, teb, start, size, rva, ctx_size, ctx_rva in read_list(
        data, _THREAD
    ):
        context = None
        if ctx_rva + ctx_size <= len(whole):
            context = whole.view(ctx_rva, ctx_size)
        threads.append(DumpThread(tid, teb, start, read_region(whole, start, size, rva), context))
    return threads


def parse_thread_names(data: Reader, whole: Reader) -> dict[int, str]:
    """Unreadable names are dropped one by one, not the whole stream."""
    names = {}
    for tid, rva in read_list(data, "IQ"):
        name = utf16_string(whole, rva) if rva < len(whole) else None
        if name is not None:
            names[tid] = name
    return names
