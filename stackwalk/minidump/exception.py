"""The Exception stream: which thread crashed, how, and its context at the fault."""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.minidump.reader import Reader

# thread id, alignment, code, flags, nested record, address, parameter count,
# alignment, 15 parameters, context location (size, rva): 168 bytes.
_EXCEPTION = "IIIIQQII15QII"


class DumpException(Record):
    thread_id: int
    code: int
    flags: int
    address: int
    number_parameters: int
    information: tuple[int, ...]
    context: memoryview | None

    def __init__(
        self,
        thread_id: int,
        code: int,
        flags: int,
        address: int,
        number_parameters: int,
        information: tuple[int, ...],
        context: memoryview | None,
    ) -> None:
        self.thread_id = thread_id
        self.code = code
        self.flags = flags
        self.address = address
        self.number_parameters = number_parameters
        self.information = information
        self.context = context

    _fields = (
        "thread_id",
        "code",
        "flags",
        "address",
        "number_parameters",
        "information",
        "context",
    )


def parse_exception(data: Reader, whole: Reader) -> DumpException:
    fields = data.unpack(_EXCEPTION, 0, "exception stream")
    tid, _a, code, flags, _nested, address, nparams, _b = fields[:8]
    info = fields[8:23]
    ctx_size, ctx_rva = fields[23], fields[24]
    context = whole.view(ctx_rva, ctx_size) if ctx_rva + ctx_size <= len(whole) else None
    return DumpException(tid, code, flags, address, nparams, tuple(info), context)
