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

from symbols import grammar as g
from symbols.errors import SymbolParseError
from symbols.sinks import U32_MAX, MemorySink, RecordSink
from symbols.symfile import Function, PublicSymbol, StackWin, SymbolFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import BinaryIO

# Lines longer than this are skipped like rust-minidump's "panic recovery" does (its
# buffer limit is fuzzy, between 80 and 160 KiB; 100 KiB lines are still parsed).
MAX_LINE_LENGTH = 160 * 1024
CHUNK_SIZE = 8 << 20
BLOCK_RUN_BYTES = 64 << 10  # about the most text of whole blocks validated by one match


def _run_end(text: bytes, start: int, end_pattern: re.Pattern[bytes]) -> int:
    """Start of the first line at or after `start` (a line start) that ends a run."""
    if start == 0 and end_pattern.match(b"\n" + text[:32]) is not None:
        return 0
    found = end_pattern.search(text, max(start - 1, 0))
    return len(text) if found is None else found.start() + 1


def _has_overlong_line(run: bytes) -> bool:
    return len(run) > MAX_LINE_LENGTH and max(map(len, run.split(b"\n"))) >= MAX_LINE_LENGTH


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


class SymbolParser:
    """Line-at-a-time state machine; `feed` each line, then `finish`."""

    def __init__(self, sink: RecordSink) -> None:
        self.sink = sink
        self.line_number = 0
        # Open block: ("func", Function, subline texts) or ("cfi", address, size, rules, rows)
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

    def feed_text(self, text: bytes) -> None:
        """Feed complete lines (`text` ends with a newline); runs go in bulk.

        Runs of sublines, and runs of whole FUNC or STACK CFI INIT blocks (most of a big
        file), are validated by requiring every one of their lines to match a pattern;
        otherwise they are fed line by line, which reports the exact error.
        """
        i, n = 0, len(text)
        per_line_until = 0  # end of a run of whole blocks that failed bulk validation
        while i < n:
            block = self.block
            if block is not None:
                if block[0] == "func":
                    end, bulk = _run_end(text, i, g.BODY_END), self._body_run
                else:
                    end, bulk = _run_end(text, i, g.CFI_END), self._cfi_run
                if end > i:
                    run = text[i:end]
                    if not bulk(run):
                        for line in run.split(b"\n")[:-1]:
                            self._feed_checked(line + b"\n")
                    i = end
                    continue
            runs = None
            if i >= per_line_until:
                if text.startswith(b"FUNC", i):
                    runs = (b"\nFUNC", g.FUNC_BLOCKS_END, self._func_blocks)
                elif text.startswith(b"STACK CFI INIT", i):
                    runs = (b"\nSTACK CFI INIT", g.CFI_BLOCKS_END, self._cfi_blocks)
            if runs is not None:
                end = self._block_run(text, i, *runs)
                if end > 0:
                    i = end
                    continue
                per_line_until = -end
            j = text.find(b"\n", i) + 1
            self._feed_checked(text[i:j])
            i = j

    def _feed_checked(self, line: bytes) -> None:
        self.feed(None if len(line) > MAX_LINE_LENGTH else line)

    def _body_run(self, run: bytes) -> bool:
        """Append a run of line/INLINE records to the open FUNC; False to redo it per line."""
        if g.BODY_RUN.fullmatch(run) is None or _has_overlong_line(run):
            return False
        self.block[2].append(run)
        self.line_number += run.count(b"\n")
        return True

    def _block_run(self, text: bytes, start: int, head: bytes, end_pattern, take) -> int:
        """Take the run of whole blocks at `start` (a block's first line) in bulk.

        Returns the run's end, or minus its end when the run must be fed line by line
        (which reports the exact error). A run is cut before a block start after
        BLOCK_RUN_BYTES: re's matching state grows with the run's length.
        """
        cut = text.find(head, start + BLOCK_RUN_BYTES)
        limit = len(text) if cut < 0 else cut + 1
        found = end_pattern.search(text, start, limit)
        end = limit if found is None else found.start() + 1
        run = text[start:end]
        if _has_overlong_line(run):
            return -end
        try:
            run.decode("utf-8")
        except UnicodeDecodeError:
            return -end
        return end if take(run) else -end

    def _blocks(self, run: bytes, pattern: re.Pattern[bytes]) -> list[tuple[re.Match, bytes]]:
        """(first-line match, sublines) of each block of a validated run; closes the open one."""
        self._close_block()
        text = b"\n" + run
        heads = list(pattern.finditer(text))
        ends = [m.start() + 1 for m in heads[1:]]
        ends.append(len(text))
        self.line_number += run.count(b"\n")
        return [(m, text[m.end() + 1 : end]) for m, end in zip(heads, ends, strict=True)]

    def _func_blocks(self, run: bytes) -> bool:
        """FUNC blocks: all but the last go to the sink; the last stays open, as after
        its FUNC line (the next chunk may continue its sublines)."""
        if g.FUNC_BLOCKS.fullmatch(run) is None:
            return False
        for m, body in self._blocks(run, g.FUNC_HEAD):
            address, size, parameter_size, name = m.groups()
            func = Function(int(address, 16), int(size, 16), int(parameter_size, 16), name.decode())
            self._close_block()
            self.block = ("func", func, [body] if body else [])
        return True

    def _cfi_blocks(self, run: bytes) -> bool:
        """STACK CFI INIT blocks, as `_func_blocks` does FUNC blocks."""
        if g.CFI_BLOCKS.fullmatch(run) is None:
            return False
        for m, rows in self._blocks(run, g.CFI_HEAD):
            address, size, rules = m.groups()
            self._close_block()
            self.block = (
                "cfi",
                int(address, 16),
                int(size, 16),
                rules.decode(),
                [rows] if rows else [],
            )
        return True

    def _cfi_run(self, run: bytes) -> bool:
        """Append a run of STACK CFI rows to the open INIT block; False to redo it per line."""
        if g.CFI_RUN.fullmatch(run) is None or _has_overlong_line(run):
            return False
        try:
            run.decode("utf-8")
        except UnicodeDecodeError:
            return False
        self.block[4].append(run)
        self.line_number += run.count(b"\n")
        return True

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
                m = g.INLINE.match(line)
                if m is None:
                    raise SymbolParseError("malformed INLINE record", n)
                for value in m.groups()[:4]:
                    _dec(value, n)
                block[2].append(line)
                return True
            m = g.LINE.match(line)
            if m is None:
                self._close_block()
                return False
            _dec(m.group(3), n)
            _dec(m.group(4), n)
            block[2].append(line)
            return True
        m = g.CFI.match(line)
        if m is None:
            self._close_block()
            return False
        _text(m.group(2), "CFI rules", n)
        block[4].append(line)
        return True

    def _close_block(self) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        if block[0] == "func":
            self.sink.function(block[1], block[2])
        else:
            self.sink.cfi(block[1], block[2], block[3], block[4])

    # -- top level -------------------------------------------------------------------------

    def _feed_top_level(self, line: bytes) -> None:
        keyword = g.KEYWORD.match(line)
        if keyword is not None:
            getattr(self, g.HANDLERS[keyword.group(1)])(line)
        elif g.BLANK.match(line) is None:
            raise SymbolParseError("unrecognised or malformed line", self.line_number)

    def _strict(self, pattern: re.Pattern[bytes], line: bytes, what: str) -> re.Match[bytes]:
        m = pattern.match(line)
        if m is None:
            raise SymbolParseError(f"malformed {what} record", self.line_number)
        return m

    def _module(self, line: bytes) -> None:
        self._strict(g.MODULE, line, "MODULE")
        if self.line_number != 1:
            raise SymbolParseError("MODULE record after the start of the file", self.line_number)

    def _info_url(self, line: bytes) -> None:
        m = self._strict(g.INFO_URL, line, "INFO URL")
        self.sink.url(_text(m.group(1), "INFO URL", self.line_number))

    def _info(self, line: bytes) -> None:
        self._strict(g.INFO, line, "INFO")

    def _file(self, line: bytes) -> None:
        m = self._strict(g.FILE, line, "FILE")
        n = self.line_number
        self.sink.file(_dec(m.group(1), n), _text(m.group(2), "file name", n))

    def _origin(self, line: bytes) -> None:
        m = self._strict(g.ORIGIN, line, "INLINE_ORIGIN")
        n = self.line_number
        self.sink.origin(_dec(m.group(1), n), _text(m.group(2), "inline origin", n))

    def _public(self, line: bytes) -> None:
        m = self._strict(g.PUBLIC, line, "PUBLIC")
        name = _text(m.group(3), "PUBLIC name", self.line_number)
        self.sink.public(PublicSymbol(int(m.group(1), 16), name, int(m.group(2), 16)))

    def _func(self, line: bytes) -> None:
        m = self._strict(g.FUNC, line, "FUNC")
        name = _text(m.group(4), "FUNC name", self.line_number)
        func = Function(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), name)
        self.block = ("func", func, [])

    def _cfi_init(self, line: bytes) -> None:
        m = self._strict(g.CFI_INIT, line, "STACK CFI INIT")
        rules = _text(m.group(3), "CFI rules", self.line_number)
        self.block = ("cfi", int(m.group(1), 16), int(m.group(2), 16), rules, [])

    def _win(self, line: bytes) -> None:
        m = self._strict(g.WIN, line, "STACK WIN")
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


def feed_stream(stream: BinaryIO, sink: RecordSink, chunk_size: int = CHUNK_SIZE) -> int:
    """Parse `stream` into `sink` in large chunks; returns the number of lines read.

    Same acceptance rules as feeding `iter_lines` one by one (tests compare the two).
    """
    parser = SymbolParser(sink)
    pending = b""
    skipping = False  # inside an over-long line, discarding through its newline
    seen_any = False
    while chunk := stream.read(chunk_size):
        seen_any = True
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk, skipping = chunk[newline + 1 :], False
            parser.feed(None)
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            parser.feed_text(data[:cut])
        pending = data[cut:]
        if len(pending) > MAX_LINE_LENGTH:
            pending, skipping = b"", True
    if not seen_any:
        raise SymbolParseError("empty symbol file", 0)
    if pending:
        raise SymbolParseError(
            "unexpected end of file (last line has no newline)", parser.line_number + 1
        )
    parser.finish()
    return parser.line_number


def parse_bytes(data: bytes) -> SymbolFile:
    return parse_stream(io.BytesIO(data))


def parse_file(path: str) -> SymbolFile:
    with open(path, "rb") as f:
        return parse_stream(f)
