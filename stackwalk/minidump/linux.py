"""Linux text streams (/proc and /etc files copied into the dump) and the auxv vector."""

from __future__ import annotations

import re

from crashproc.records import FrozenRecord, Record
from stackwalk.minidump.errors import StreamError
from stackwalk.minidump.reader import Reader


def _clean(text: bytes) -> bytes:
    text = text.strip(b" \t\n\r\x0b\x0c")
    if len(text) >= 2 and text.startswith(b'"') and text.endswith(b'"'):
        return text[1:-1]
    return text


def key_values(data: bytes, separator: bytes) -> list[tuple[bytes, bytes]]:
    """`key<sep>value` lines, trimmed and unquoted; lines without the separator skipped."""
    pairs = []
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        key, sep, value = line.partition(separator)
        if sep:
            pairs.append((_clean(key), _clean(value)))
    return pairs


def lossy(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class LsbRelease(Record):
    id: str = ""
    release: str = ""
    codename: str = ""
    description: str = ""

    def __init__(
        self, id: str = "", release: str = "", codename: str = "", description: str = ""
    ) -> None:
        self.id = id
        self.release = release
        self.codename = codename
        self.description = description

    _fields = ("id", "release", "codename", "description")


_LSB_KEYS = {
    b"DISTRIB_ID": "id",
    b"ID": "id",
    b"DISTRIB_RELEASE": "release",
    b"VERSION_ID": "release",
    b"DISTRIB_CODENAME": "codename",
    b"VERSION_CODENAME": "codename",
    b"DISTRIB_DESCRIPTION": "description",
    b"PRETTY_NAME": "description",
}


def parse_lsb_release(data: Reader, whole: Reader) -> LsbRelease:
    lsb = LsbRelease()
    for key, value in key_values(data.bytes(0, len(data)), b"="):
        name = _LSB_KEYS.get(key)
        if name:
            setattr(lsb, name, lossy(value))
    return lsb


def parse_key_value_stream(data: Reader, whole: Reader) -> list[tuple[bytes, bytes]]:
    """/proc/cpuinfo and /proc/self/status: `key: value` lines."""
    return key_values(data.bytes(0, len(data)), b":")


def microcode_version(cpuinfo: list[tuple[bytes, bytes]]) -> int | None:
    """The first `microcode` entry of /proc/cpuinfo as a number, if it is 0x-prefixed hex."""
    for key, value in cpuinfo:
        if key == b"microcode":
            return parse_hex_version(value)
    return None


def parse_hex_version(value: bytes | str) -> int | None:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not value.startswith("0x") or not re.fullmatch(r"[0-9a-fA-F]{1,16}", value[2:]):
        return None
    return int(value[2:], 16)


def proc_status_pid(status: list[tuple[bytes, bytes]]) -> int:
    """The `Pid:` of /proc/self/status (0 when it does not parse as a u32)."""
    for key, value in status:
        if key == b"Pid":
            return (
                int(value) if re.fullmatch(rb"\+?[0-9]{1,10}", value) and int(value) < 2**32 else 0
            )
    return 0


def parse_nul_list(data: Reader, whole: Reader) -> list[str]:
    """LinuxCmdLine / LinuxEnviron: NUL-separated strings."""
    raw = data.bytes(0, len(data))
    return [lossy(part) for part in raw.split(b"\0") if part]


def parse_auxv(data: Reader, whole: Reader, pointer_width: int) -> list[tuple[int, int]]:
    """(type, value) pairs of pointer width."""
    pair = 2 * pointer_width
    if len(data) % pair:
        raise StreamError(f"auxv size {len(data)} is not a multiple of {pair}")
    code = "Q" if pointer_width == 8 else "I"
    return [tuple(p) for p in data.unpack_array(code * 2, 0, len(data) // pair, "auxv")]


# /proc/self/maps: "start-end perms offset dev inode pathname", single spaces between the
# fields and at least one after the inode (the pathname may be empty or space-padded).
_HEX64 = r"\+?0*([0-9a-fA-F]{1,16})"
_HEX32 = r"\+?0*([0-9a-fA-F]{1,8})"
_MAPS_LINE = re.compile(
    rf"{_HEX64}-{_HEX64} ([^ ]+) {_HEX64} {_HEX32}:{_HEX32} \+?([0-9]{{1,20}}) (.*)",
    re.DOTALL,
)


class LinuxMapping(FrozenRecord):
    start: int
    end: int  # exclusive, as the file prints it
    perms: str
    path: str

    def __init__(self, start: int, end: int, perms: str, path: str) -> None:
        self.start = start
        self.end = end
        self.perms = perms
        self.path = path

    _fields = ("start", "end", "perms", "path")

    @property
    def readable(self) -> bool:
        return "r" in self.perms

    @property
    def writable(self) -> bool:
        return "w" in self.perms

    @property
    def executable(self) -> bool:
        return "x" in self.perms


def parse_linux_maps(data: Reader, whole: Reader) -> list[LinuxMapping]:
    """Every line must parse (an empty line too is an error), as procfs reads it."""
    try:
        text = data.bytes(0, len(data)).decode("utf-8")
    except UnicodeDecodeError as e:
        raise StreamError("LinuxMaps is not UTF-8") from e
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    mappings = []
    for line in lines:
        m = _MAPS_LINE.fullmatch(line.removesuffix("\r"))
        if m is None or int(m[7]) >= 1 << 64:  # numbers as Rust's from_str_radix takes them
            raise StreamError("a LinuxMaps line does not parse")
        mappings.append(LinuxMapping(int(m[1], 16), int(m[2], 16), m[3], m[8].strip()))
    return mappings
