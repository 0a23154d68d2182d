"""Compact on-disk cache of a parsed .sym file, looked up without re-reading the text.

A release xul.sym is 500-600 MB of text; parsing it into Python objects would need
gigabytes. `convert` streams the text through the same parser once (which validates
every line as rust-minidump would) and writes a binary file: variable-size records
(functions with their validated subline text, publics, CFI blocks, STACK WIN entries,
strings) followed by sorted fixed-width arrays of range starts/ends/record offsets. `CachedSymbols` opens the file and answers lookups with the
very same code as the in-memory SymbolFile, reading and decoding only the records it
touches.

Layout (little-endian): 8-byte magic, u64 URL string offset (0 = none), then for each
name in SECTIONS a (u64 offset, u64 count) pair; every section is an array of u64.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import struct
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from symbols.atomic import publish, scratch_file
from symbols.errors import SymbolParseError
from symbols.parser import feed_stream
from symbols.rangemap import RangeMap, resolve_overlaps
from symbols.sinks import NullSink, cfi_value, complete_function, range_end, truncate_previous_win
from symbols.symfile import (
    Function,
    PublicSymbol,
    StackWin,
    SymbolFile,
)

MAGIC = b"CPSYMC\x00\x01"
SECTIONS = (
    "func_start",
    "func_end",
    "func_off",
    "pub_addr",
    "pub_off",
    "cfi_start",
    "cfi_end",
    "cfi_off",
    "win4_start",
    "win4_end",
    "win4_off",
    "win0_start",
    "win0_end",
    "win0_off",
    "file_id",
    "file_off",
    "origin_id",
    "origin_off",
)
HEADER_SIZE = 8 + 8 + 16 * len(SECTIONS)
# FUNC and STACK CFI sublines are stored as their validated text and decoded on lookup:
# converting tens of millions of numbers in Python would dominate conversion time.
_FUNC = struct.Struct("<QQIIQ")  # address, size, parameter_size, name_len, body_len
_PUBLIC = struct.Struct("<QII")  # address, parameter_size, name_len
_CFI = struct.Struct("<QIIQ")  # address, size, init_len, rows_len
_WIN = struct.Struct("<QIIIIIIIBBI")  # address, size, 6 sizes, kind, abp, program_len (or ~0)
_STR = struct.Struct("<I")
NO_PROGRAM = 0xFFFFFFFF


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

    def _write(self, data: bytes) -> int:
        offset = self.pos
        self.out.write(data)
        self.out.write(_pad(len(data)))
        self.pos += len(data) + (-len(data) % 8)
        return offset

    def _add_range(self, kind: str, start: int, end: int, record: bytes) -> None:
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
        end = range_end(func.address, func.size)
        if end is None:
            return
        name = func.name.encode()
        text = b"".join(body)
        record = (
            _FUNC.pack(func.address, func.size, func.parameter_size, len(name), len(text))
            + name
            + text
        )
        self._add_range("func", func.address, end, record)

    def cfi(self, address: int, size: int, rules: str, rows: list[bytes]) -> None:
        end = range_end(address, size)
        if end is None:
            return
        init = rules.encode()
        text = b"".join(rows)
        self._add_range(
            "cfi", address, end, _CFI.pack(address, size, len(init), len(text)) + init + text
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
            _WIN.pack(
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
        offsets = array("Q", (self._write(_STR.pack(len(b := table[i].encode())) + b) for i in ids))
        return ids, offsets

    def finish(self) -> None:
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
                self._write(_PUBLIC.pack(a, param, len(b := name.encode())) + b)
                for a, name, param in self.publics
            ),
        )
        sections["file_id"], sections["file_off"] = self._strings(self.files)
        sections["origin_id"], sections["origin_off"] = self._strings(self.origins)
        url_offset = 0
        if self.url_text is not None:
            url_offset = self._write(_STR.pack(len(b := self.url_text.encode())) + b)
        header = [MAGIC, struct.pack("<Q", url_offset)]
        for name in SECTIONS:
            header.append(
                struct.pack("<QQ", self._write(sections[name].tobytes()), len(sections[name]))
            )
        self.out.seek(0)
        self.out.write(b"".join(header))


def convert(stream: BinaryIO, out: BinaryIO) -> None:
    """Parse a .sym stream into the compact format (raises SymbolParseError if corrupt)."""
    sink = CacheSink(out)
    feed_stream(stream, sink)
    sink.finish()


# -- reading -------------------------------------------------------------------------------


class _Records(Sequence):
    """A lazily decoded sequence of records, with a small LRU of decoded values."""

    def __init__(self, offsets: Sequence[int], decode, capacity: int = 4096) -> None:
        self.offsets, self.decode, self.capacity = offsets, decode, capacity
        self.memo: OrderedDict[int, object] = OrderedDict()

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        value = self.memo.get(i)
        if value is None:
            value = self.decode(self.offsets[i])
            self.memo[i] = value
            if len(self.memo) > self.capacity:
                self.memo.popitem(last=False)
        else:
            self.memo.move_to_end(i)
        return value


class _StringTable(Mapping):
    """FILE / INLINE_ORIGIN names by id; decoded once, so results share one str each."""

    def __init__(self, ids: Sequence[int], offsets: Sequence[int], read_str) -> None:
        self.ids, self.offsets, self.read_str = ids, offsets, read_str
        self.memo: dict[int, str] = {}

    def __getitem__(self, key: int) -> str:
        text = self.memo.get(key)
        if text is None:
            i = bisect_left(self.ids, key)
            if i == len(self.ids) or self.ids[i] != key:
                raise KeyError(key)
            text = self.memo[key] = self.read_str(self.offsets[i])
        return text

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


class CachedSymbols(SymbolFile):
    """A cache file with SymbolFile's lookup methods.

    The small fixed-width arrays (a few MB even for xul) are read into memory; records are
    read with pread when a lookup needs them. Reading instead of mapping keeps the
    process's resident memory to what it decoded: random lookups over a mapped 600 MB
    file would make most of it resident.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        try:
            head = os.pread(self._fd, HEADER_SIZE, 0)
            if head[:8] != MAGIC or len(head) != HEADER_SIZE:
                raise ValueError("not a symbol cache file")
            (url_offset,) = struct.unpack_from("<Q", head, 8)
            arrays: dict[str, array] = {}
            for n, name in enumerate(SECTIONS):
                offset, count = struct.unpack_from("<QQ", head, 16 + 16 * n)
                arrays[name] = array("Q", self._read(offset, 8 * count))
        except BaseException:
            os.close(self._fd)
            raise

        def ranges(kind: str, decode) -> RangeMap:
            return RangeMap(
                arrays[f"{kind}_start"],
                arrays[f"{kind}_end"],
                _Records(arrays[f"{kind}_off"], decode),
            )

        super().__init__(
            files=_StringTable(arrays["file_id"], arrays["file_off"], self._str),
            inline_origins=_StringTable(arrays["origin_id"], arrays["origin_off"], self._str),
            publics=_Records(arrays["pub_off"], self._public),
            functions=ranges("func", self._function),
            cfi=ranges("cfi", self._cfi),
            win_framedata=ranges("win4", self._win),
            win_fpo=ranges("win0", self._win),
            url=self._str(url_offset) if url_offset else None,
            public_addresses=arrays["pub_addr"],
        )

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- record decoders -------------------------------------------------------------------

    def _read(self, offset: int, size: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        if len(data) != size:
            raise ValueError("symbol cache file is truncated")
        return data

    def _record(self, offset: int, head: struct.Struct, *lengths: int) -> tuple[tuple, bytes]:
        """A record's fixed header and the variable bytes after it (sum of `lengths`
        fields, given as indexes into the header)."""
        window = os.pread(self._fd, 4096, offset)
        fields = head.unpack_from(window)
        total = head.size + sum(fields[i] for i in lengths)
        if len(window) < total:
            window = self._read(offset, total)
        return fields, window[head.size : total]

    def _str(self, offset: int) -> str:
        _, data = self._record(offset, _STR, 0)
        return data.decode("utf-8")

    def _public(self, offset: int) -> PublicSymbol:
        (address, param, _), name = self._record(offset, _PUBLIC, 2)
        return PublicSymbol(address, name.decode("utf-8"), param)

    def _function(self, offset: int) -> Function:
        (address, size, param, name_len, _), data = self._record(offset, _FUNC, 3, 4)
        func = Function(address, size, param, data[:name_len].decode("utf-8"))
        return complete_function(func, [data[name_len:]])

    def _cfi(self, offset: int) -> tuple:
        (address, size, init_len, _), data = self._record(offset, _CFI, 2, 3)
        return cfi_value(address, size, data[:init_len].decode("utf-8"), [data[init_len:]])

    def _win(self, offset: int) -> StackWin:
        window = os.pread(self._fd, 4096, offset)
        fields = _WIN.unpack_from(window)
        *numbers, kind, abp, n = fields
        program = None
        if n != NO_PROGRAM:
            if len(window) < _WIN.size + n:
                window = self._read(offset, _WIN.size + n)
            program = window[_WIN.size : _WIN.size + n].decode("utf-8")
        address, size, prologue, epilogue, param, saved, local, max_stack = numbers
        return StackWin(
            kind,
            address,
            size,
            prologue,
            epilogue,
            param,
            saved,
            local,
            max_stack,
            program,
            bool(abp),
        )


# -- the cache directory ---------------------------------------------------------------------


class SymbolCache:
    """A size-bounded directory of converted files, shared by processes.

    Entries are keyed by the source file's real path, size and modification time, so a
    replaced .sym gets a new entry. Conversion happens once under an exclusive lock (other
    processes wait and then reuse the result); files appear atomically; the least
    recently used entries are evicted when the directory grows past `max_bytes`. A file
    rust-minidump would reject is remembered as corrupt so it is not re-parsed each time.
    """

    def __init__(
        self,
        root: Path,
        max_bytes: int = 4 << 30,
        on_open: Callable[[bool], None] | None = None,
    ) -> None:
        """`on_open(hit)` is told whether each open found the converted file already there."""
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.scratch = self.root / ".tmp"
        self.on_open = on_open

    def _key(self, source: Path) -> str:
        stat = source.stat()
        ident = f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
        return hashlib.sha256(ident.encode()).hexdigest()[:40]

    def open(self, source: Path) -> CachedSymbols:
        """The cached form of `source`, converting it first if needed.

        Raises SymbolParseError (also for a remembered corrupt file) and OSError.
        """
        key = self._key(Path(source))
        entry = self.root / key[:2] / (key + ".cpsym")
        corrupt = entry.with_suffix(".corrupt")
        hit = entry.exists() or corrupt.exists()
        if self.on_open is not None:
            self.on_open(hit)
        if not hit:
            self._convert_locked(Path(source), key, entry, corrupt)
        if corrupt.exists():
            reason = corrupt.read_text(errors="replace").split("\t")
            raise SymbolParseError(reason[0], int(reason[1]) if len(reason) > 1 else 0)
        os.utime(entry)  # recency for LRU eviction
        return CachedSymbols(entry)

    def _convert_locked(self, source: Path, key: str, entry: Path, corrupt: Path) -> None:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / key, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if entry.exists() or corrupt.exists():
                    return  # another process converted it while we waited
                with scratch_file(self.scratch) as tmp:
                    try:
                        with open(source, "rb") as src, open(tmp, "wb") as out:
                            convert(src, out)
                    except SymbolParseError as e:
                        tmp.write_text(f"{e.reason}\t{e.line_number}")
                        publish(tmp, corrupt)
                        return
                    publish(tmp, entry)
                self.evict(keep=entry)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
                (locks / key).unlink(missing_ok=True)

    def evict(self, keep: Path | None = None) -> int:
        """Delete least recently used entries until the cache fits; returns bytes freed."""
        entries = []
        for path in self.root.glob("??/*"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                entries.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        freed = 0
        for _, size, path in sorted(entries):
            if total - freed <= self.max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()  # processes that have it mapped keep their view
                freed += size
        return freed
