"""HandleDataStream: the process's open handles (Windows handles, Linux descriptors)."""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.minidump.errors import StreamError
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import utf16_string

_DESCRIPTOR = "QIIIIII"  # 32 bytes
_DESCRIPTOR_2 = "QIIIIIIII"  # 40 bytes


class Handle(Record):
    handle: int
    type_name: str | None
    object_name: str | None

    def __init__(self, handle: int, type_name: str | None, object_name: str | None) -> None:
        self.handle = handle
        self.type_name = type_name
        self.object_name = object_name

    _fields = ("handle", "type_name", "object_name")


def parse_handle_data(data: Reader, whole: Reader) -> list[Handle]:
    header_size, entry_size, count = data.unpack("III", 0, "handle data header")
    if entry_size not in (32, 40):
        raise StreamError(f"unknown handle descriptor size {entry_size}")
    if len(data) < header_size + count * entry_size:
        raise StreamError(f"{count} handle descriptors do not fit the stream")
    entry_fmt = _DESCRIPTOR if entry_size == 32 else _DESCRIPTOR_2
    handles = []
    for fields in data.unpack_array(entry_fmt, header_size, count, "handle descriptors"):
        handle, type_rva, name_rva = fields[:3]
        handles.append(
            Handle(
                handle,
                utf16_string(whole, type_rva) if type_rva else None,
                utf16_string(whole, name_rva) if name_rva else None,
            )
        )
    return handles
