"""The Exception stream: which thread crashed, how, and its context at the fault."""

from __future__ import annotations

from dataclasses import dataclass

from stackwalk.minidump.reader import Reader

# thread id, alignment, code, flags, nested record, address, parameter count,
# alignment, 15 parameters, context location (size, rva): 168 bytes.
_EXCEPTION = "IIIIQQII15QII"


@dataclass
class DumpException:
    thread_id: int
    code: int
    flags: int
    address: int
    number_parameters: int
    information: tuple[int, ...]
    context: memoryview | None


def parse_exception(data: Reader, whole: Reader) -> DumpException:
    fields = data.unpack(_EXCEPTION, 0, "exception stream")
    tid, _a, code, flags, _nested, address, nparams, _b = fields[:8]
    info = fields[8:23]
    ctx_size, ctx_rva = fields[23], fields[24]
    context = whole.view(ctx_rva, ctx_size) if ctx_rva + ctx_size <= len(whole) else None
    return DumpException(tid, code, flags, address, nparams, tuple(info), context)
