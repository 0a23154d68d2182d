"""String encodings found in dumps, decoded the way rust-minidump accepts them."""

from __future__ import annotations

from stackwalk.minidump.errors import MinidumpError
from stackwalk.minidump.reader import Reader


def utf16_string(data: Reader, rva: int) -> str | None:
    """A MINIDUMP_STRING (u32 byte length + UTF-16), or None when unreadable or invalid.

    An odd length or an unpaired surrogate makes the string unreadable, as in rust.
    """
    try:
        size = data.u32(rva)
        if size % 2:
            return None
        raw = data.bytes(rva + 4, size)
    except MinidumpError:
        return None
    codec = "utf-16-le" if data.endian == "<" else "utf-16-be"
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        return None


def utf8_string(data: Reader, rva: int, terminated: bool = True) -> str | None:
    """Crashpad's MinidumpUTF8String: u32 length, UTF-8 bytes, then (usually) a NUL."""
    try:
        size = data.u32(rva)
        raw = data.bytes(rva + 4, size)
        if terminated and data.u8(rva + 4 + size) != 0:
            return None
    except MinidumpError:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def nul_terminated(raw: bytes) -> str:
    """Text up to the first NUL, invalid UTF-8 replaced (rust's from_utf8_lossy)."""
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def fixed_utf16(raw: bytes) -> str | None:
    """A fixed-size UTF-16LE field cut at the first NUL unit (None when invalid)."""
    units = [raw[i : i + 2] for i in range(0, len(raw) - 1, 2)]
    end = next((i for i, u in enumerate(units) if u == b"\0\0"), len(units))
    try:
        return b"".join(units[:end]).decode("utf-16-le")
    except UnicodeDecodeError:
        return None
