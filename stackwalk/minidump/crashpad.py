"""Crashpad's CrashpadInfo stream: report/client ids and annotations."""

from __future__ import annotations

import uuid

from crashproc.records import Record
from stackwalk.minidump.errors import StreamError
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import utf8_string

ANNOTATION_INVALID = 0
ANNOTATION_STRING = 1
ANNOTATION_USER_DEFINED = 0x8000


class ModuleCrashpadInfo(Record):
    module_index: int
    list_annotations: list[str]
    simple_annotations: dict[str, str]
    # name -> string value, or None for invalid/user-defined/unsupported annotations
    annotation_objects: dict[str, str | None]

    def __init__(
        self,
        module_index: int,
        list_annotations: list[str] | None = None,
        simple_annotations: dict[str, str] | None = None,
        annotation_objects: dict[str, str | None] | None = None,
    ) -> None:
        self.module_index = module_index
        self.list_annotations = list() if list_annotations is None else list_annotations
        self.simple_annotations = dict() if simple_annotations is None else simple_annotations
        self.annotation_objects = dict() if annotation_objects is None else annotation_objects

    _fields = ("module_index", "list_annotations", "simple_annotations", "annotation_objects")


class CrashpadInfo(Record):
    version: int
    report_id: str
    client_id: str
    simple_annotations: dict[str, str]
    module_list: list[ModuleCrashpadInfo]

    def __init__(
        self,
        version: int,
        report_id: str,
        client_id: str,
        simple_annotations: dict[str, str],
        module_list: list[ModuleCrashpadInfo],
    ) -> None:
        self.version = version
        self.report_id = report_id
        self.client_id = client_id
        self.simple_annotations = simple_annotations
        self.module_list = module_list

    _fields = ("version", "report_id", "client_id", "simple_annotations", "module_list")


def _location(whole: Reader, size: int, rva: int) -> Reader:
    if rva + size > len(whole):
        raise StreamError("a Crashpad annotation list is outside the dump")
    return whole.sub(rva, size)


def _string(whole: Reader, rva: int, terminated: bool = True) -> str:
    text = utf8_string(whole, rva, terminated)
    if text is None:
        raise StreamError("a Crashpad annotation string cannot be read")
    return text


def _check_count(whole: Reader, count: int, entry_size: int) -> None:
    # rust-minidump bounds list counts by the whole dump's size before allocating.
    if count * entry_size > len(whole):
        raise StreamError(f"Crashpad list count {count} is larger than the dump")


def _string_list(whole: Reader, size: int, rva: int) -> list[str]:
    data = _location(whole, size, rva)
    if not len(data):
        return []
    count = data.u32(0)
    _check_count(whole, count, 4)
    return [_string(whole, data.u32(4 + 4 * i)) for i in range(count)]


def _dictionary(whole: Reader, size: int, rva: int) -> dict[str, str]:
    data = _location(whole, size, rva)
    if not len(data):
        return {}
    count = data.u32(0)
    _check_count(whole, count, 8)
    out = {}
    for i in range(count):
        key_rva, value_rva = data.unpack("II", 4 + 8 * i)
        out[_string(whole, key_rva)] = _string(whole, value_rva)
    return dict(sorted(out.items()))


def _annotation_objects(whole: Reader, size: int, rva: int) -> dict[str, str | None]:
    data = _location(whole, size, rva)
    if not len(data):
        return {}
    count = data.u32(0)
    _check_count(whole, count, 12)
    out: dict[str, str | None] = {}
    for i in range(count):
        name_rva, kind, _reserved, value_rva = data.unpack("IHHI", 4 + 12 * i)
        name = _string(whole, name_rva)
        out[name] = (
            _string(whole, value_rva, terminated=False) if kind == ANNOTATION_STRING else None
        )
    return dict(sorted(out.items()))


def _guid_text(raw: bytes, endian: str) -> str:
    value = uuid.UUID(bytes_le=raw) if endian == "<" else uuid.UUID(bytes=raw)
    return str(value).upper()


def parse_crashpad_info(data: Reader, whole: Reader) -> CrashpadInfo:
    fields = data.unpack("I16s16sIIII", 0, "Crashpad info")
    version, report, client, ann_size, ann_rva, mods_size, mods_rva = fields
    if version == 0:
        raise StreamError("Crashpad info version 0 is invalid")
    modules = []
    links = _location(whole, mods_size, mods_rva)
    if len(links):
        count = links.u32(0)
        _check_count(whole, count, 12)
        for i in range(count):
            index, _loc_size, loc_rva = links.unpack("III", 4 + 12 * i)
            # rust-minidump reads the module info at the RVA whatever the size says
            info = whole.tail(loc_rva)
            _version, *locs = info.unpack("I6I", 0, "Crashpad module info")
            modules.append(
                ModuleCrashpadInfo(
                    index,
                    _string_list(whole, locs[0], locs[1]),
                    _dictionary(whole, locs[2], locs[3]),
                    _annotation_objects(whole, locs[4], locs[5]),
                )
            )
    return CrashpadInfo(
        version,
        _guid_text(report, data.endian),
        _guid_text(client, data.endian),
        _dictionary(whole, ann_size, ann_rva),
        modules,
    )
