"""Converting a .sym file into the compact cache format (symbols.cacheformat).

A release xul.sym is 500-600 MB of text; parsing it into Python objects would need
gigabytes. `write_cache` streams the text through the same parser once (which validates
every line as rust-minidump would) and writes a binary file: variable-size records
(functions, publics, CFI blocks, STACK WIN entries, strings) followed by sorted fixed-width
arrays of range starts/ends/record offsets, which symbols.symcache reads. Only a conversion
loads this module (and the parser).
"""

from __future__ import annotations

import struct
from array import array

from symbols.cacheformat import (
    CFI,
    HEADER_SIZE,
    MAGIC,
    NO_PROGRAM,
    PUBLIC,
    SECTIONS,
    STR,
    WIN,
)
from symbols.funcrecords import IntMemos, function_records
from symbols.rangemap import resolve_overlaps
from symbols.sinks import NullSink, range_end, truncate_previous_win
from symbols.symfile import Function, PublicSymbol, StackWin

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import BinaryIO


# Subline text buffered before a batch of FUNC records is encoded: big enough that the
# per-batch work is negligible, small enough that the decoded columns stay a few MB.
BATCH_BYTES = 1 << 20


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


class CacheSink(NullSink):
    """Streams records into `out` and keeps only fixed-width arrays in memory."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        out.write(b"\0" * HEADER_SIZE)
        self.pos = HEADER_SIZE
        self.files: dict[int, str] = {}
        self.origins: dict[int, str] = {}
        self.publics: list[tuple[int, str, int]] = []
        self.url_text: str | None = None
        # Per range kind: starts, ends, value hashes (for rust's equal-value merge), offsets.
        self.ranges = {
            kind: (array("Q"), array("Q"), array("q"), array("Q"))
            for kind in ("func", "cfi", "win4", "win0")
        }
        self.pending_win: dict[int, StackWin | None] = {4: None, 0: None}
        # FUNC records are encoded in batches (symbols.funcrecords); bodies wait here.
        self.batch: list[Function] = []
        self.batch_bodies: list[list[bytes]] = []
        self.batch_bytes = 0
        self.memos = IntMemos()

    def _write(self, data: bytes) -> int:
        offset = self.pos
        self.out.write(data)
        self.out.write(_pad(len(data)))
        self.pos += len(data) + (-len(data) % 8)
        return offset

    def _add_range(self, kind: str, start: int, end: int, record: bytes) -> None:
        if self.batch and kind != "func":
            self._flush_functions()
        starts, ends, hashes, offsets = self.ranges[kind]
        starts.append(start)
        ends.append(end)
        hashes.append(hash(record))  # equal records = equal values (64-bit SipHash)
        offsets.append(self._write(record))

    # -- records ---------------------------------------------------------------------------

    def file(self, file_id: int, name: str) -> None:
        self.files[file_id] = name

    def origin(self, origin_id: int, name: str) -> None:
        self.origins[origin_id] = name

    def public(self, public: PublicSymbol) -> None:
        self.publics.append((public.address, public.name, public.parameter_size))

    def url(self, url: str) -> None:
        self.url_text = url

    def function(self, func: Function, body: list[bytes]) -> None:
        if range_end(func.address, func.size) is None:
            return
        self.batch.append(func)
        self.batch_bodies.append(body)
        self.batch_bytes += sum(map(len, body))
        if self.batch_bytes >= BATCH_BYTES:
            self._flush_functions()

    def _flush_functions(self) -> None:
        """Write the buffered FUNC records (before any other record, to keep file order)."""
        if not self.batch:
            return
        records = function_records(self.batch, self.batch_bodies, self.memos)
        # what _add_range does per record, with one write for the whole batch
        starts, ends, hashes, offsets = self.ranges["func"]
        pos, parts = self.pos, []
        for func, record in zip(self.batch, records, strict=True):
            starts.append(func.address)
            ends.append(func.address + func.size - 1)  # not empty, no overflow (function())
            hashes.append(hash(record))
            offsets.append(pos)
            pad = _pad(len(record))
            parts += (record, pad)
            pos += len(record) + len(pad)
        self.out.write(b"".join(parts))
        self.pos = pos
        self.batch, self.batch_bodies, self.batch_bytes = [], [], 0

    def cfi(self, address: int, size: int, rules: str, rows: list[bytes]) -> None:
        end = range_end(address, size)
        if end is None:
            return
        init = rules.encode()
        text = b"".join(rows)
        self._add_range(
            "cfi", address, end, CFI.pack(address, size, len(init), len(text)) + init + text
        )

    def win(self, info: StackWin) -> None:
        if range_end(info.address, info.size) is None:
            return
        last = self.pending_win[info.kind]
        if last is not None:
            kept = truncate_previous_win(last, info)
            if kept is None:
                return
            self._write_win(kept)
        self.pending_win[info.kind] = info

    def _write_win(self, info: StackWin) -> None:
        program = info.program_string.encode() if info.program_string is not None else b""
        record = (
            WIN.pack(
                info.address,
                info.size,
                info.prologue_size,
                info.epilogue_size,
                info.parameter_size,
                info.saved_register_size,
                info.local_size,
                info.max_stack_size,
                info.kind,
                info.allocates_base_pointer,
                len(program) if info.program_string is not None else NO_PROGRAM,
            )
            + program
        )
        self._add_range(f"win{info.kind}", info.address, range_end(info.address, info.size), record)

    # -- finishing -------------------------------------------------------------------------

    def _strings(self, table: dict[int, str]) -> tuple[array, array]:
        ids = array("Q", sorted(table))
        offsets = array("Q", (self._write(STR.pack(len(b := table[i].encode())) + b) for i in ids))
        return ids, offsets

    def finish(self) -> None:
        self._flush_functions()
        for last in self.pending_win.values():
            if last is not None:
                self._write_win(last)
        sections: dict[str, array] = {}
        for kind, (starts, ends, hashes, offsets) in self.ranges.items():
            kept, kept_ends = resolve_overlaps(starts, ends, hashes)
            sections[f"{kind}_start"] = array("Q", (starts[i] for i in kept))
            sections[f"{kind}_end"] = array("Q", kept_ends)
            sections[f"{kind}_off"] = array("Q", (offsets[i] for i in kept))
            del starts[:], ends[:], hashes[:], offsets[:]
        self.publics.sort()
        sections["pub_addr"] = array("Q", (p[0] for p in self.publics))
        sections["pub_off"] = array(
            "Q",
            (
                self._write(PUBLIC.pack(a, param, len(b := name.encode())) + b)
                for a, name, param in self.publics
            ),
        )
        sections["file_id"], sections["file_off"] = self._strings(self.files)
        sections["origin_id"], sections["origin_off"] = self._strings(self.origins)
        url_offset = 0
        if self.url_text is not None:
            url_offset = self._write(STR.pack(len(b := self.url_text.encode())) + b)
        header = [MAGIC, struct.pack("<Q", url_offset)]
        for name in SECTIONS:
            header.append(
                struct.pack("<QQ", self._write(sections[name].tobytes()), len(sections[name]))
            )
        self.out.seek(0)
        self.out.write(b"".join(header))


def write_cache(stream: BinaryIO, out: BinaryIO) -> None:
    """Parse a .sym stream into the compact format (raises SymbolParseError if corrupt)."""
    # the grammar compiles its regexes on import: only parsing pays for them
    from symbols.parser import feed_stream

    sink = CacheSink(out)
    feed_stream(stream, sink)
    sink.finish()
