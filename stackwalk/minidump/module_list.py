"""ModuleList and UnloadedModuleList, with CodeView records turned into module ids.

Ids are produced in the printed forms rust-minidump uses: the breakpad debug id
(GUID in upper-case hex + age in lower-case hex), and the code id (Windows
timestamp+size, macOS UUID, or ELF build id), lower-cased.
"""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.minidump import format as fmt
from stackwalk.minidump.errors import MinidumpError, StreamError
from stackwalk.minidump.lists import read_ex_list, read_list
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import nul_terminated, utf16_string

# MINIDUMP_MODULE (108 bytes): base, size, checksum, timestamp, name rva,
# VS_FIXEDFILEINFO (13 u32), CodeView location, misc location, 2 reserved u64.
_MODULE = "QIIII13IIIIIQQ"
_UNLOADED = "QIIII"
U64_MAX = (1 << 64) - 1


class CodeView(Record):
    """A module's CodeView record: kind is "pdb70", "pdb20", "elf" or "unknown"."""

    kind: str
    guid: tuple[int, int, int, bytes] | None = None
    age: int = 0
    signature: int = 0
    pdb_file: bytes = b""
    build_id: bytes = b""

    def __init__(
        self,
        kind: str,
        guid: tuple[int, int, int, bytes] | None = None,
        age: int = 0,
        signature: int = 0,
        pdb_file: bytes = b"",
        build_id: bytes = b"",
    ) -> None:
        self.kind = kind
        self.guid = guid
        self.age = age
        self.signature = signature
        self.pdb_file = pdb_file
        self.build_id = build_id

    _fields = ("kind", "guid", "age", "signature", "pdb_file", "build_id")


class DumpModule(Record):
    base: int
    size: int
    timestamp: int
    name: str
    version_info: tuple[int, ...]
    codeview: CodeView | None
    os_key: str

    def __init__(
        self,
        base: int,
        size: int,
        timestamp: int,
        name: str,
        version_info: tuple[int, ...],
        codeview: CodeView | None,
        os_key: str,
    ) -> None:
        self.base = base
        self.size = size
        self.timestamp = timestamp
        self.name = name
        self.version_info = version_info
        self.codeview = codeview
        self.os_key = os_key

    _fields = ("base", "size", "timestamp", "name", "version_info", "codeview", "os_key")

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def debug_file(self) -> str | None:
        cv = self.codeview
        if cv is None:
            return None
        if cv.kind in ("pdb70", "pdb20"):
            return nul_terminated(cv.pdb_file)
        if cv.kind == "elf":
            return self.name
        return None

    @property
    def debug_id(self) -> str | None:
        cv = self.codeview
        if cv is None:
            return None
        if cv.kind == "pdb70":
            if cv.guid is None or (not any(cv.guid[:3]) and not any(cv.guid[3])):
                return None
            return guid_hex(cv.guid) + format(cv.age, "x")
        if cv.kind == "pdb20":
            return f"{cv.signature:08X}{cv.age:x}"
        if cv.kind == "elf":
            if not any(cv.build_id):
                return None
            return guid_hex(cv.guid) + "0"
        return None

    @property
    def code_id(self) -> str | None:
        cv = self.codeview
        windows_id = f"{self.timestamp:08X}{self.size:x}".lower()
        if cv is None:
            return windows_id if self.os_key == "windows" else None
        if cv.kind == "pdb70" and self.os_key in ("mac", "ios"):
            return guid_hex(cv.guid).lower()
        if cv.kind in ("pdb70", "pdb20"):
            return windows_id
        if cv.kind == "elf":
            return cv.build_id.hex() if any(cv.build_id) else None
        return None

    @property
    def version(self) -> str | None:
        vi = self.version_info
        if vi[0] != fmt.VS_FFI_SIGNATURE or vi[1] != fmt.VS_FFI_STRUCVERSION:
            return None
        hi, lo, phi, plo = vi[2], vi[3], vi[4], vi[5]
        if self.os_key in ("mac", "ios", "windows"):
            return f"{hi >> 16}.{hi & 0xFFFF}.{lo >> 16}.{lo & 0xFFFF}"
        return f"{hi}.{lo}.{phi}.{plo}"


class UnloadedModule(Record):
    base: int
    size: int
    timestamp: int
    name: str

    def __init__(self, base: int, size: int, timestamp: int, name: str) -> None:
        self.base = base
        self.size = size
        self.timestamp = timestamp
        self.name = name

    _fields = ("base", "size", "timestamp", "name")

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def code_id(self) -> str:
        return f"{self.timestamp:08X}{self.size:x}".lower()


def guid_hex(guid: tuple[int, int, int, bytes]) -> str:
    d1, d2, d3, d4 = guid
    return f"{d1:08X}{d2:04X}{d3:04X}{d4.hex().upper()}"


def _read_guid(r: Reader, offset: int) -> tuple[int, int, int, bytes]:
    d1, d2, d3 = r.unpack("IHH", offset, "GUID")
    return d1, d2, d3, r.bytes(offset + 8, 8, "GUID")


def read_codeview(whole: Reader, size: int, rva: int) -> CodeView:
    """The CodeView record at (size, rva); raises when it cannot be read at all."""
    r = whole.sub(rva, size, "CodeView record")
    signature = r.u32(0)
    if signature == fmt.CV_PDB70:
        guid = _read_guid(r, 4)
        age = r.u32(20)
        return CodeView("pdb70", guid=guid, age=age, pdb_file=r.bytes(24, len(r) - 24))
    if signature == fmt.CV_PDB20:
        _offset, sig, age = r.unpack("III", 4, "PDB20 record")
        return CodeView("pdb20", signature=sig, age=age, pdb_file=r.bytes(16, len(r) - 16))
    if signature == fmt.CV_ELF:
        build_id = r.bytes(4, len(r) - 4)
        padded = Reader(build_id[:16].ljust(16, b"\0"), r.endian)
        return CodeView("elf", guid=_read_guid(padded, 0), build_id=build_id)
    return CodeView("unknown")


def parse_module_list(data: Reader, whole: Reader, os_key: str) -> list[DumpModule]:
    """Modules with a zero or overflowing size are skipped; an unreadable name or
    CodeView record makes the whole list unreadable, as in rust-minidump."""
    modules = []
    for entry in read_list(data, _MODULE):
        base, size, _checksum, timestamp, name_rva = entry[:5]
        version_info = entry[5:18]
        cv_size, cv_rva = entry[18], entry[19]
        if size == 0 or size > U64_MAX - base:
            continue
        name = utf16_string(whole, name_rva)
        if name is None:
            raise StreamError("a module name cannot be read")
        codeview = None
        if cv_size:
            try:
                codeview = read_codeview(whole, cv_size, cv_rva)
            except MinidumpError as e:
                raise StreamError(f"a module's CodeView record cannot be read ({e.reason})") from e
        modules.append(DumpModule(base, size, timestamp, name, version_info, codeview, os_key))
    return modules


def parse_unloaded_module_list(data: Reader, whole: Reader) -> list[UnloadedModule]:
    modules = []
    for base, size, _checksum, timestamp, name_rva in read_ex_list(data, _UNLOADED):
        if size == 0 or size > U64_MAX - base:
            raise StreamError("an unloaded module has a bad size")
        name = utf16_string(whole, name_rva)
        if name is None:
            raise StreamError("an unloaded module name cannot be read")
        modules.append(UnloadedModule(base, size, timestamp, name))
    return modules
