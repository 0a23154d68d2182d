"""Streaming parser for Breakpad .sym files with rust-minidump's acceptance rules.

Which files are rejected matters as much as what is extracted: a file rust-minidump
refuses is reported as `corrupt_symbols` and its module loses symbols and CFI, so the
rules below (one bad top-level line rejects the file, a blank line closes a FUNC block,
no trailing newline is an error, over-long lines are skipped) were checked against
minidump-stackwalk 0.25 itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import BinaryIO, Protocol

from symbols.errors import SymbolParseError
from symbols.rangemap import RangeMap
from symbols.symfile import (
    U64_MAX,
    Function,
    Inlinee,
    PublicSymbol,
    SourceLine,
    StackWin,
    SymbolFile,
)

# Lines longer than this are skipped like rust-minidump's "panic recovery" does (its
# buffer limit is fuzzy, between 80 and 160 KiB; 100 KiB lines are still parsed).
MAX_LINE_LENGTH = 160 * 1024
U32_MAX = 0xFFFFFFFF

_S = rb"[ \t]+"
_H64 = rb"([0-9a-fA-F]{1,16}+)"
_H32 = rb"([0-9a-fA-F]{1,8}+)"
_D = rb"([0-9]{1,10}+)"
_REST = rb"([^\r\n]*+)"
_EOL = rb"\r*\n\Z"

_MODULE = re.compile(
    rb"MODULE"
    + _S
    + rb"([^ ]*+)"
    + _S
    + rb"([^ ]*+)"
    + _S
    + rb"([0-9a-fA-F]++)"
    + _S
    + _REST
    + _EOL
)
_INFO_URL = re.compile(rb"INFO URL" + _S + _REST + _EOL)
_INFO = re.compile(rb"INFO" + _S + _REST + _EOL)
_FILE = re.compile(rb"FILE" + _S + _D + _S + _REST + _EOL)
_ORIGIN = re.compile(rb"INLINE_ORIGIN" + _S + _D + _S + _REST + _EOL)
_PUBLIC = re.compile(
    rb"PUBLIC" + _S + rb"(?:m" + _S + rb")?" + _H64 + _S + _H32 + _S + _REST + _EOL
)
_FUNC = re.compile(
    rb"FUNC" + _S + rb"(?:m" + _S + rb")?" + _H64 + _S + _H32 + _S + _H32 + _S + _REST + _EOL
)
_WIN = re.compile(
    rb"STACK WIN"
    + _S
    + rb"([0-9a-fA-F])"
    + _S
    + _H64
    + _S
    + (_H32 + _S) * 7
    + rb"([0-9])"
    + _S
    + _REST
    + _EOL
)
_CFI_INIT = re.compile(rb"STACK CFI INIT" + _S + _H64 + _S + _H32 + _S + _REST + _EOL)
_CFI = re.compile(rb"STACK CFI" + _S + _H64 + _S + _REST + _EOL)
_LINE = re.compile(_H64 + _S + _H32 + _S + _D + _S + _D + _EOL)
_INLINE = re.compile(
    rb"INLINE"
    + _S
    + (_D + _S) * 4
    + rb"((?:[0-9a-fA-F]{1,16}+"
    + _S
    + rb"[0-9a-fA-F]{1,8}+)(?:"
    + _S
    + rb"[0-9a-fA-F]{1,16}+"
    + _S
    + rb"[0-9a-fA-F]{1,8}+)*+)"
    + _EOL
)
_BLANK = re.compile(rb"\r*\n\Z")
# (prefix, separator-required regex); a prefix followed by a space or tab commits to the
# record type (nom's `cut`), anything else falls through to the next record type.
_TOP_LEVEL = (
    (b"INFO URL", "info_url"),
    (b"INFO", "info"),
    (b"FILE", "file"),
    (b"INLINE_ORIGIN", "origin"),
    (b"PUBLIC", "public"),
    (b"FUNC", "func"),
    (b"STACK WIN", "win"),
    (b"STACK CFI INIT", "cfi_init"),
    (b"MODULE", "module"),
)


def _text(raw: bytes, reason: str, line_number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SymbolParseError(f"{reason} is not valid UTF-8", line_number) from None


def _dec(raw: bytes, line_number: int) -> int:
    value = int(raw)
    if value > U32_MAX:
        raise SymbolParseError("decimal field does not fit in 32 bits", line_number)
    return value


def range_end(address: int, size: int) -> int | None:
    """Inclusive end of a FUNC/CFI/WIN range, None when empty or overflowing (dropped)."""
    if size == 0 or address + size > U64_MAX:
        return None
    return address + size - 1


def iter_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Yield complete lines (with their `\\n`); None for a line skipped as over-long.

    Raises SymbolParseError for an empty stream or a last line without a newline.
    """
    seen_any = False
    while True:
        line = stream.readline(MAX_LINE_LENGTH + 1)
        if not line:
            if not seen_any:
                raise SymbolParseError("empty symbol file", 0)
            return
        seen_any = True
        if line.endswith(b"\n"):
            yield line
            continue
        if len(line) <= MAX_LINE_LENGTH:
            raise SymbolParseError("unexpected end of file (last line has no newline)", 0)
        # Over-long line: discard through the next newline (or the end of the file).
        while line and not line.endswith(b"\n"):
            line = stream.readline(MAX_LINE_LENGTH + 1)
        yield None


class RecordSink(Protocol):
    """Receives the records of a file as the parser accepts them.

    Building an in-memory SymbolFile, writing a compact on-disk cache and only
    validating a file (check, store add) all share the one parser through this.
    """

    def file(self, file_id: int, name: str) -> None: ...
    def origin(self, origin_id: int, name: str) -> None: ...
    def public(self, public: PublicSymbol) -> None: ...
    def function(
        self, func: Function, lines: list[SourceLine], inlinees: list[Inlinee]
    ) -> None: ...
    def cfi(self, address: int, size: int, rules: str, rows: list[tuple[int, str]]) -> None: ...
    def win(self, info: StackWin) -> None: ...
    def url(self, url: str) -> None: ...


class NullSink:
    """Accepts every record and keeps nothing: validation only, in constant memory."""

    def file(self, file_id: int, name: str) -> None:
        pass

    def origin(self, origin_id: int, name: str) -> None:
        pass

    def public(self, public: PublicSymbol) -> None:
        pass

    def function(self, func: Function, lines: list[SourceLine], inlinees: list[Inlinee]) -> None:
        pass

    def cfi(self, address: int, size: int, rules: str, rows: list[tuple[int, str]]) -> None:
        pass

    def win(self, info: StackWin) -> None:
        pass

    def url(self, url: str) -> None:
        pass


def insert_win(entries: list[tuple[int, int, StackWin]], info: StackWin) -> None:
    """rust's STACK WIN repair: a later entry starting inside the previous truncates it."""
    end = range_end(info.address, info.size)
    if end is None:
        return
    if entries:
        last_start, last_end, last = entries[-1]
        if last_start <= end and info.address <= last_end:
            if info.address > last.address:
                size = (info.address - last.address) & U32_MAX
                last = StackWin(**{**last.__dict__, "size": size})
                entries[-1] = (last.address, range_end(last.address, size), last)
            elif (last_start, last_end) != (info.address, end):
                return
    entries.append((info.address, end, info))


def line_ranges(lines: list[SourceLine]) -> RangeMap[SourceLine]:
    """A FUNC's line records as a range map (zero-size and overflowing records dropped)."""
    return RangeMap.build(
        (ln.address, ln.address + ln.size - 1, ln)
        for ln in lines
        if ln.size > 0 and ln.address + ln.size - 1 <= U64_MAX
    )


class MemorySink(NullSink):
    """Builds a SymbolFile in memory (fine for files up to some tens of MB)."""

    def __init__(self) -> None:
        self.files: dict[int, str] = {}
        self.inline_origins: dict[int, str] = {}
        self.publics: list[PublicSymbol] = []
        self.functions: list[tuple[int, int, Function]] = []
        self.cfi_entries: list[tuple[int, int, tuple]] = []
        self.win_entries: dict[int, list[tuple[int, int, StackWin]]] = {4: [], 0: []}
        self.source_url: str | None = None

    def file(self, file_id: int, name: str) -> None:
        self.files[file_id] = name

    def origin(self, origin_id: int, name: str) -> None:
        self.inline_origins[origin_id] = name

    def public(self, public: PublicSymbol) -> None:
        self.publics.append(public)

    def function(self, func: Function, lines: list[SourceLine], inlinees: list[Inlinee]) -> None:
        end = range_end(func.address, func.size)
        if end is not None:
            func.lines = line_ranges(lines)
            func.inlinees = sorted(inlinees)
            self.functions.append((func.address, end, func))

    def cfi(self, address: int, size: int, rules: str, rows: list[tuple[int, str]]) -> None:
        end = range_end(address, size)
        if end is not None:
            self.cfi_entries.append((address, end, (address, size, rules, tuple(sorted(rows)))))

    def win(self, info: StackWin) -> None:
        insert_win(self.win_entries[info.kind], info)

    def url(self, url: str) -> None:
        self.source_url = url

    def finish(self) -> SymbolFile:
        self.publics.sort()
        return SymbolFile(
            files=self.files,
            inline_origins=self.inline_origins,
            publics=self.publics,
            functions=RangeMap.build(self.functions),
            cfi=RangeMap.build(self.cfi_entries),
            win_framedata=RangeMap.build(self.win_entries[4]),
            win_fpo=RangeMap.build(self.win_entries[0]),
            url=self.source_url,
        )


class SymbolParser:
    """Line-at-a-time state machine; `feed` each line, then `finish`."""

    def __init__(self, sink: RecordSink) -> None:
        self.sink = sink
        self.line_number = 0
        # Open block: ("func", Function, lines, inlinees) or ("cfi", address, size, rules, rows)
        self.block: tuple | None = None

    # -- driving ---------------------------------------------------------------------------

    def feed(self, line: bytes | None) -> None:
        self.line_number += 1
        if line is None:  # skipped over-long line; does not close an open block
            return
        if self.block is not None and self._feed_subline(line):
            return
        self._feed_top_level(line)

    def finish(self) -> None:
        self._close_block()

    # -- blocks ----------------------------------------------------------------------------

    def _feed_subline(self, line: bytes) -> bool:
        """Try `line` as part of the open block; False closes the block."""
        block = self.block
        n = self.line_number
        if block[0] == "func":
            if line.startswith(b"INLINE_ORIGIN "):
                self._origin(line)
                return True
            if line.startswith(b"INLINE "):
                m = _INLINE.match(line)
                if m is None:
                    raise SymbolParseError("malformed INLINE record", n)
                depth, call_line, call_file, origin = (_dec(m.group(i), n) for i in range(1, 5))
                pairs = m.group(5).split()
                for k in range(0, len(pairs), 2):
                    block[3].append(
                        Inlinee(
                            depth,
                            int(pairs[k], 16),
                            int(pairs[k + 1], 16),
                            call_file,
                            call_line,
                            origin,
                        )
                    )
                return True
            m = _LINE.match(line)
            if m is None:
                self._close_block()
                return False
            address, size = int(m.group(1), 16), int(m.group(2), 16)
            block[2].append(SourceLine(address, size, _dec(m.group(4), n), _dec(m.group(3), n)))
            return True
        m = _CFI.match(line)
        if m is None:
            self._close_block()
            return False
        block[4].append((int(m.group(1), 16), _text(m.group(2), "CFI rules", n)))
        return True

    def _close_block(self) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        if block[0] == "func":
            self.sink.function(block[1], block[2], block[3])
        else:
            self.sink.cfi(block[1], block[2], block[3], block[4])

    # -- top level -------------------------------------------------------------------------

    def _feed_top_level(self, line: bytes) -> None:
        n = self.line_number
        for prefix, kind in _TOP_LEVEL:
            if line.startswith(prefix) and line[len(prefix) : len(prefix) + 1] in (b" ", b"\t"):
                getattr(self, "_" + kind)(line)
                return
        if _BLANK.match(line) is None:
            raise SymbolParseError("unrecognised or malformed line", n)

    def _strict(self, pattern: re.Pattern[bytes], line: bytes, what: str) -> re.Match[bytes]:
        m = pattern.match(line)
        if m is None:
            raise SymbolParseError(f"malformed {what} record", self.line_number)
        return m

    def _module(self, line: bytes) -> None:
        self._strict(_MODULE, line, "MODULE")
        if self.line_number != 1:
            raise SymbolParseError("MODULE record after the start of the file", self.line_number)

    def _info_url(self, line: bytes) -> None:
        m = self._strict(_INFO_URL, line, "INFO URL")
        self.sink.url(_text(m.group(1), "INFO URL", self.line_number))

    def _info(self, line: bytes) -> None:
        self._strict(_INFO, line, "INFO")

    def _file(self, line: bytes) -> None:
        m = self._strict(_FILE, line, "FILE")
        n = self.line_number
        self.sink.file(_dec(m.group(1), n), _text(m.group(2), "file name", n))

    def _origin(self, line: bytes) -> None:
        m = self._strict(_ORIGIN, line, "INLINE_ORIGIN")
        n = self.line_number
        self.sink.origin(_dec(m.group(1), n), _text(m.group(2), "inline origin", n))

    def _public(self, line: bytes) -> None:
        m = self._strict(_PUBLIC, line, "PUBLIC")
        name = _text(m.group(3), "PUBLIC name", self.line_number)
        self.sink.public(PublicSymbol(int(m.group(1), 16), name, int(m.group(2), 16)))

    def _func(self, line: bytes) -> None:
        m = self._strict(_FUNC, line, "FUNC")
        name = _text(m.group(4), "FUNC name", self.line_number)
        func = Function(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), name)
        self.block = ("func", func, [], [])

    def _cfi_init(self, line: bytes) -> None:
        m = self._strict(_CFI_INIT, line, "STACK CFI INIT")
        rules = _text(m.group(3), "CFI rules", self.line_number)
        self.block = ("cfi", int(m.group(1), 16), int(m.group(2), 16), rules, [])

    def _win(self, line: bytes) -> None:
        m = self._strict(_WIN, line, "STACK WIN")
        rest = _text(m.group(11), "STACK WIN program", self.line_number)
        kind = m.group(1)
        has_program = m.group(10) == b"1"
        # A type/has_program mismatch is a corrupt entry rust discards (not a file error).
        if (kind == b"4") != has_program or kind not in (b"4", b"0"):
            return
        nums = [int(m.group(i), 16) for i in range(2, 10)]
        info = StackWin(
            int(kind),
            *nums,
            program_string=rest if has_program else None,
            allocates_base_pointer=(not has_program and rest == "1"),
        )
        self.sink.win(info)


def parse_stream(stream: BinaryIO) -> SymbolFile:
    """Parse a whole .sym stream; raises SymbolParseError where rust-minidump would fail."""
    sink = MemorySink()
    feed_stream(stream, sink)
    return sink.finish()


def feed_stream(stream: BinaryIO, sink: RecordSink) -> int:
    """Parse `stream` into `sink`; returns the number of lines read."""
    parser = SymbolParser(sink)
    for line in iter_lines(stream):
        parser.feed(line)
    parser.finish()
    return parser.line_number


def parse_bytes(data: bytes) -> SymbolFile:
    return parse_stream(io.BytesIO(data))


def parse_file(path: str) -> SymbolFile:
    with open(path, "rb") as f:
        return parse_stream(f)
