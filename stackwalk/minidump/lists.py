"""The two list layouts streams use, with rust-minidump's size rules.

Counts come from the dump, so they are checked against the stream's size before
anything is allocated: a corrupt count costs an error, never memory.
"""

from __future__ import annotations

import struct

from stackwalk.minidump.errors import StreamError
from stackwalk.minidump.reader import Reader


def read_list(data: Reader, entry_fmt: str) -> list[tuple]:
    """`u32 count` then `count` entries; exactly 4 bytes of padding may follow the count."""
    count = data.u32(0)
    entry_size = struct.calcsize("<" + entry_fmt)
    needed = 4 + count * entry_size
    if len(data) < needed:
        raise StreamError(f"list of {count} entries needs {needed} bytes, stream has {len(data)}")
    slack = len(data) - needed
    if slack not in (0, 4):
        raise StreamError(f"list of {count} entries has {slack} unexpected trailing bytes")
    return data.unpack_array(entry_fmt, 4 + slack, count, "list entries")


def read_ex_list(data: Reader, entry_fmt: str) -> list[tuple]:
    """Newer lists: header size, entry size and count (u32 each) before the entries."""
    header_size, entry_size, count = data.unpack("III", 0)
    if entry_size != struct.calcsize("<" + entry_fmt):
        raise StreamError(f"unexpected list entry size {entry_size}")
    if header_size < 12:
        raise StreamError(f"list header size {header_size} is too small")
    needed = header_size + count * entry_size
    if len(data) < needed:
        raise StreamError(f"list of {count} entries needs {needed} bytes, stream has {len(data)}")
    return data.unpack_array(entry_fmt, header_size, count, "list entries")
