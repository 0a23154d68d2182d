"""Mozilla's streams: macOS __crash_info records, macOS boot args, Linux limits, soft errors."""

from __future__ import annotations

from crashproc.records import FrozenRecord, Record
from stackwalk.minidump.errors import StreamError
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import utf16_string

MAC_CRASH_INFOS_MAX = 20
_STRINGS_V4 = ("module_path", "message", "signature_string", "backtrace", "message2")


class MacCrashRecord(Record):
    version: int
    thread: int = 0
    dialog_mode: int = 0
    abort_cause: int = 0
    module_path: str = ""
    message: str = ""
    signature_string: str = ""
    backtrace: str = ""
    message2: str = ""

    def __init__(
        self,
        version: int,
        thread: int = 0,
        dialog_mode: int = 0,
        abort_cause: int = 0,
        module_path: str = "",
        message: str = "",
        signature_string: str = "",
        backtrace: str = "",
        message2: str = "",
    ) -> None:
        self.version = version
        self.thread = thread
        self.dialog_mode = dialog_mode
        self.abort_cause = abort_cause
        self.module_path = module_path
        self.message = message
        self.signature_string = signature_string
        self.backtrace = backtrace
        self.message2 = message2

    _fields = (
        "version",
        "thread",
        "dialog_mode",
        "abort_cause",
        "module_path",
        "message",
        "signature_string",
        "backtrace",
        "message2",
    )


def _cstring(record: Reader, offset: int) -> tuple[str, int]:
    raw = record.cstring(offset)
    if offset + len(raw) >= len(record):
        raise StreamError("a macOS crash info string is not terminated")
    try:
        return raw.decode("utf-8"), offset + len(raw) + 1
    except UnicodeDecodeError as e:
        raise StreamError("a macOS crash info string is not UTF-8") from e


def parse_mac_crash_info(data: Reader, whole: Reader) -> list[MacCrashRecord]:
    """Records share one strings offset, so they must all have the same version."""
    _stream_type, count, strings_offset = data.unpack("III", 0, "macOS crash info")
    locations = data.unpack_array("II", 12, MAC_CRASH_INFOS_MAX, "macOS crash info records")
    records = []
    version = None
    for size, rva in locations[: min(count, MAC_CRASH_INFOS_MAX)]:
        record = whole.sub(rva, size, "macOS crash info record")
        _type, this_version = record.unpack("QQ", 0)
        if version is not None and this_version != version:
            raise StreamError("macOS crash info records have different versions")
        version = this_version
        if this_version >= 5:
            fixed = record.unpack("QQQQQ", 0)
            out = MacCrashRecord(this_version, fixed[2], fixed[3], fixed[4])
            fixed_size = 40
        elif this_version >= 4:
            fixed = record.unpack("QQQQ", 0)
            out = MacCrashRecord(this_version, fixed[2], fixed[3])
            fixed_size = 32
        else:
            out, fixed_size = MacCrashRecord(this_version), 16
        if fixed_size > strings_offset:
            raise StreamError("macOS crash info record_start_size is too small")
        if this_version >= 4:
            offset = strings_offset
            for name in _STRINGS_V4:
                text, offset = _cstring(record, offset)
                setattr(out, name, text)
        records.append(out)
    return records


def parse_mac_boot_args(data: Reader, whole: Reader) -> str | None:
    """The boot-args string (None when its MINIDUMP_STRING is unreadable)."""
    _stream_type, rva = data.unpack("IQ", 0, "macOS boot args")
    return utf16_string(whole, rva) if rva < len(whole) else None


class Limit(FrozenRecord):
    name: str
    soft: int | str
    hard: int | str
    unit: str

    def __init__(self, name: str, soft: int | str, hard: int | str, unit: str) -> None:
        self.name = name
        self.soft = soft
        self.hard = hard
        self.unit = unit

    _fields = ("name", "soft", "hard", "unit")


def _limit_value(text: str) -> int | str:
    if text == "unlimited":
        return "unlimited"
    return int(text) if text.isdigit() and int(text) < 2**64 else "err"


def parse_linux_limits(data: Reader, whole: Reader) -> list[Limit]:
    """/proc/self/limits: a header line, then fixed columns name(26) soft(21) hard(21) units."""
    try:
        text = data.bytes(0, len(data)).decode("utf-8")
    except UnicodeDecodeError as e:
        raise StreamError("the limits stream is not UTF-8") from e
    limits = []
    for line in text.split("\n")[1:]:
        if not line.strip():
            continue
        name, soft, hard, unit = (
            line[:26].strip(),
            line[26:47].strip(),
            line[47:68].strip(),
            line[68:].strip(),
        )
        limits.append(Limit(name, _limit_value(soft), _limit_value(hard), unit))
    return limits


def parse_soft_errors(data: Reader, whole: Reader) -> object:
    """The stream's text is JSON, passed through as it is."""
    import json  # only a dump with this stream pays for importing json

    try:
        return json.loads(data.bytes(0, len(data)).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise StreamError("the soft errors stream is not JSON") from e
