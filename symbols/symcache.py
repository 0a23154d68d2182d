"""Compact on-disk cache of a parsed .sym file, looked up without re-reading the text.

A release xul.sym is 500-600 MB of text; parsing it into Python objects would need
gigabytes. `convert` streams the text through the same parser once (symbols.cachewriter)
into a binary file (layout in symbols.cacheformat). `CachedSymbols` maps the file and
answers lookups with the very same code as the in-memory SymbolFile, reading and decoding
only the records it touches.

A function record holds its line map and inlinees already decoded, resolved and sorted, as
packed arrays: a cold lookup (a frame in a function no crash has touched yet, most frames of
a Firefox crash) then bisects those columns where they lie in the mapping instead of
decoding the function's text; converting does that decoding once per function instead.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from symbols.cacheformat import (
    CFI,
    FUNC,
    HEADER_SIZE,
    MAGIC,
    NO_PROGRAM,
    PUBLIC,
    SECTIONS,
    STR,
    WIN,
)
from symbols.errors import SymbolParseError
from symbols.rangemap import RangeMap
from symbols.symfile import (
    U64_MAX,
    Function,
    Inlinee,
    InlineFrame,
    PublicSymbol,
    SourceLine,
    StackWin,
    SymbolFile,
    SymbolResult,
)

try:  # the C SHA-256 without hashlib, which loads OpenSSL (most of a warm run's start-up)
    from _sha256 import sha256  # Python 3.11
except ImportError:  # pragma: no cover - other Pythons
    try:
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        from hashlib import sha256

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import BinaryIO

FUNC_MEMO_SIZE = 1 << 16  # decoded FUNC headers kept per open cache file
FUNC_SAMPLE = 16  # FUNC starts per entry of the in-memory sample a lookup bisects first


def convert(stream: BinaryIO, out: BinaryIO) -> None:
    """Parse a .sym stream into the compact format (raises SymbolParseError if corrupt)."""
    # the writer and the parser behind it (whose grammar compiles its regexes on import)
    # load only when a file is converted
    from symbols.cachewriter import write_cache

    write_cache(stream, out)


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


class _PackedLines(Sequence):
    """A function's SourceLine values over its packed columns, made on access."""

    __slots__ = ("n", "narrow", "starts")

    def __init__(self, starts: Sequence[int], narrow: Sequence[int], n: int) -> None:
        self.starts, self.narrow, self.n = starts, narrow, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += self.n
        narrow, n = self.narrow, self.n
        return SourceLine(self.starts[i], narrow[i], narrow[2 * n + i], narrow[n + i])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)


class _PackedInlinees(Sequence):
    """A function's sorted inlinees over packed columns, an Inlinee made on access."""

    __slots__ = ("addresses", "depths", "m", "n", "narrow", "wide")

    def __init__(self, wide: Sequence[int], narrow: Sequence[int], n: int, m: int) -> None:
        self.wide, self.narrow, self.n, self.m = wide, narrow, n, m
        self.addresses = wide[2 * n : 2 * n + m]
        self.depths = narrow[3 * n : 3 * n + m]

    def __len__(self) -> int:
        return self.m

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += self.m
        narrow, base, m = self.narrow, 3 * self.n + i, self.m
        return Inlinee(
            narrow[base],
            self.addresses[i],
            self.wide[2 * self.n + m + i],
            narrow[base + m],
            narrow[base + 2 * m],
            narrow[base + 3 * m],
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)


class _PackedFunction(Function):
    """A Function from the cache: its inlinees stay packed until a lookup needs one.

    ``inlinee_at_depth`` bisects the depth and address columns (sorted as Inlinee tuples
    are) instead of building a key per inlinee, with the same answer as Function's.
    """

    inlinees: _PackedInlinees

    def _set_inlinees(self, inlinees: _PackedInlinees) -> _PackedFunction:
        self.inlinees = inlinees
        return self

    def inlinee_at_depth(self, depth: int, address: int) -> Inlinee | None:
        depths, addresses = self.inlinees.depths, self.inlinees.addresses
        lo = bisect_left(depths, depth)
        hi = bisect_right(depths, depth, lo)
        i = bisect_right(addresses, address, lo, hi) - 1
        if i < lo:
            return None  # no inlinee at this depth starts at or before the address
        inlinee = self.inlinees[i]
        end = inlinee.address + inlinee.size
        if end > U64_MAX or address >= end:
            return None
        return inlinee


class _StringTable(Mapping):
    """FILE / INLINE_ORIGIN names by id; decoded once, so results share one str each."""

    def __init__(self, ids: Sequence[int], offsets: Sequence[int], mapped: mmap.mmap) -> None:
        self.ids, self.offsets, self.mapped = ids, offsets, mapped
        self.memo: dict[int, str] = {}
        self.count = len(ids)
        # dump_syms numbers FILEs and INLINE_ORIGINs 0..n-1: then an id is its own index
        # (ids are sorted and distinct, so first 0 and last n-1 means exactly that)
        self.dense = not ids or (ids[0] == 0 and ids[self.count - 1] == self.count - 1)

    def __getitem__(self, key: int) -> str:
        text = self.get(key)
        if text is None:
            raise KeyError(key)
        return text

    def get(self, key: int, default: str | None = None) -> str | None:  # type: ignore[override]
        """Mapping.get without its exception round trip (lookups ask for every name)."""
        text = self.memo.get(key)
        if text is None:
            if self.dense:
                if not 0 <= key < self.count:
                    return default
                i = key
            else:
                i = bisect_left(self.ids, key)
                if i == self.count or self.ids[i] != key:
                    return default
            offset = self.offsets[i]
            (length,) = STR.unpack_from(self.mapped, offset)
            start = offset + STR.size
            if start + length > len(self.mapped):
                raise ValueError("symbol cache file is truncated")
            text = self.memo[key] = str(self.mapped[start : start + length], "utf-8")
        return text

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


def _inlinee_index(wide, a: int, m: int, lo: int, hi: int, address: int) -> int:
    """_PackedFunction.inlinee_at_depth over a FUNC record's `m` inlinees, whose addresses
    are wide[a:] and sizes wide[a + m:] in the file's u64 view, given the indexes [lo, hi)
    of those at the depth asked: the inlinee's index, or -1."""
    i = bisect_right(wide, address, a + lo, a + hi) - 1 - a
    if i < lo:
        return -1
    end = wide[a + i] + wide[a + m + i]
    if end > U64_MAX or address >= end:
        return -1
    return i


class CachedSymbols(SymbolFile):
    """A cache file with SymbolFile's lookup methods, memory-mapped read-only.

    Nothing is read at open: the range arrays are views of the mapping and records are
    decoded from it when a lookup needs them. Every worker that opens the same file maps the
    same page-cache pages, so a converted xul is held once per machine, not once per worker:
    a worker's private memory is only what it decoded. The pages a worker has touched count
    in its RSS as file pages (``RssFile``), shared and reclaimable.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fp:
            try:
                self._map = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped
                raise ValueError("not a symbol cache file") from None
        if hasattr(mmap, "MADV_RANDOM"):  # lookups jump around: no read-ahead
            self._map.madvise(mmap.MADV_RANDOM)
        try:
            head = self._read(0, HEADER_SIZE) if len(self._map) >= HEADER_SIZE else b""
            if head[:8] != MAGIC:
                raise ValueError("not a symbol cache file")
            (url_offset,) = struct.unpack_from("<Q", head, 8)
            view = self._view = memoryview(self._map)
            arrays: dict[str, Sequence[int]] = {}
            for n, name in enumerate(SECTIONS):
                offset, count = struct.unpack_from("<QQ", head, 16 + 16 * n)
                if offset + 8 * count > len(self._map):
                    raise ValueError("symbol cache file is truncated")
                arrays[name] = view[offset : offset + 8 * count].cast("Q")
            # The whole file as u64 and u32 arrays: a FUNC record's columns are aligned
            # runs of these, which a lookup bisects in place (no view made per record).
            size = len(self._map)
            self._u64 = view[: size - size % 8].cast("Q")
            self._u32 = view[: size - size % 4].cast("I")
        except BaseException:
            self.close()
            raise

        def ranges(kind: str, decode) -> RangeMap:
            return RangeMap(
                arrays[f"{kind}_start"],
                arrays[f"{kind}_end"],
                _Records(arrays[f"{kind}_off"], decode),
            )

        super().__init__(
            files=_StringTable(arrays["file_id"], arrays["file_off"], self._map),
            inline_origins=_StringTable(arrays["origin_id"], arrays["origin_off"], self._map),
            publics=_Records(arrays["pub_off"], self._public),
            functions=ranges("func", self._function),
            cfi=ranges("cfi", self._cfi),
            win_framedata=ranges("win4", self._win),
            win_fpo=ranges("win0", self._win),
            url=self._str(url_offset) if url_offset else None,
            public_addresses=arrays["pub_addr"],
        )
        self._func_start, self._func_end = arrays["func_start"], arrays["func_end"]
        # Every FUNC_SAMPLE-th start, as a list: a lookup bisects it first (its items are
        # ints already) and then only FUNC_SAMPLE starts of the mapping, whose items are
        # made into ints one by one (about 2.5 MB per million functions).
        self._func_sample = self._func_start[::FUNC_SAMPLE].tolist()
        self._func_off = arrays["func_off"]
        self._func_records: dict[int, tuple] = {}
        self._has_win = bool(len(arrays["win4_start"]) or len(arrays["win0_start"]))

    # -- symbolication ---------------------------------------------------------------------

    def lookup(self, address: int) -> SymbolResult | None:
        """SymbolFile.lookup, with FUNC hits answered straight from the mapping.

        A cold lookup (an address not asked before) is what a crash with thousands of
        frames through a big module pays for: instead of decoding the FUNC record into a
        Function with its line map and inlinee sequence and then asking those, this reads
        the few columns entries the answer needs (bisecting the record's packed columns
        in place). The answer is the same as SymbolFile._function_result's.

        A record's columns, from its w and u, as runs of the file's u64 view
        (wide) and u32 view (narrow): line starts wide[w:], line ends wide[w + n:], inlinee
        addresses wide[a:] and sizes wide[a + m:] (a = w + 2n); line sizes narrow[u:], lines
        narrow[u + n:], files narrow[u + 2n:], inlinee depths narrow[d:], call files
        narrow[d + m:], call lines narrow[d + 2m:] and origins narrow[d + 3m:] (d = u + 3n).
        """
        sample = self._func_sample
        k = bisect_right(sample, address)  # starts[(k - 1) * FUNC_SAMPLE] <= address
        if k == 0:
            return super().lookup(address)  # before the first FUNC: PUBLIC symbols or nothing
        lo = (k - 1) * FUNC_SAMPLE
        starts = self._func_start
        i = bisect_right(starts, address, lo, lo + FUNC_SAMPLE if k < len(sample) else len(starts))
        i -= 1
        if self._func_end[i] < address:
            return super().lookup(address)  # PUBLIC symbols (or nothing)
        # FUNC record i as (name, address, parameter size, n, m, w, u): its u64 columns
        # start at wide[w], its u32 columns at narrow[u]. Decoded records stay in a bounded
        # memo: the frames of a crash keep returning to the same functions.
        record = self._func_records.get(i)
        if record is None:
            mapped = self._map
            offset = self._func_off[i]
            func_address, _, param, name_len, n, m = FUNC.unpack_from(mapped, offset)
            pos = offset + FUNC.size
            name = str(mapped[pos : pos + name_len], "utf-8")
            pos += name_len + (-name_len % 8)
            narrow_pos = pos + 8 * (2 * n + 2 * m)
            if narrow_pos + 4 * (3 * n + 4 * m) > len(mapped):
                raise ValueError("symbol cache file is truncated")
            if len(self._func_records) >= FUNC_MEMO_SIZE:
                self._func_records.clear()
            record = (name, func_address, param, n, m, pos >> 3, narrow_pos >> 2)
            self._func_records[i] = record
        name, func_address, param, n, m, w, u = record
        wide, narrow = self._u64, self._u32
        files = self.files
        file_names = files.memo
        file = line = line_address = None
        inlines: list[InlineFrame] = []
        # the line record covering the address: [wide[j], wide[j + n]] (inclusive); its
        # u32 columns are at narrow[jn + n] (line) and narrow[jn + 2n] (file)
        j = bisect_right(wide, address, w, w + n) - 1
        if j < w or wide[j + n] < address:
            j = -1
        jn = u + j - w
        a = w + 2 * n
        outer = -1
        if m:
            # inlinees sorted by (depth, address): those at a depth are the run [lo, hi) of
            # the depth column narrow[d:]; the next depth's run starts where this one ends
            d = u + 3 * n
            hi = bisect_right(narrow, 0, d, d + m) - d
            outer = _inlinee_index(wide, a, m, 0, hi, address)
        if outer >= 0:
            call_files = d + m
            file_id, line_no = narrow[call_files + outer], narrow[call_files + m + outer]
            start = wide[a + outer]
        elif j >= 0:
            file_id, line_no, start = narrow[jn + 2 * n], narrow[jn + n], wide[j]
        else:
            file_id = None
        if file_id is not None:
            file = file_names.get(file_id) or files.get(file_id)
            if file is not None:
                line, line_address = line_no, start
        if outer >= 0:
            origins = self.inline_origins
            call_lines, origin_ids = call_files + m, call_files + 2 * m
            origin = narrow[origin_ids + outer]
            depth = 1
            while True:
                lo, hi = hi, bisect_right(narrow, depth, d + hi, d + m) - d
                k = _inlinee_index(wide, a, m, lo, hi, address)
                if k < 0:
                    break
                inline_name = origins.get(origin)
                if inline_name is not None:
                    inlines.append(
                        InlineFrame(
                            inline_name, files.get(narrow[call_files + k]), narrow[call_lines + k]
                        )
                    )
                origin = narrow[origin_ids + k]
                depth += 1
            inline_name = origins.get(origin)
            if inline_name is not None:
                inner_file = files.get(narrow[jn + 2 * n]) if j >= 0 else None
                inner_line = narrow[jn + n] if j >= 0 and narrow[jn + n] != 0 else None
                inlines.append(InlineFrame(inline_name, inner_file, inner_line))
            inlines.reverse()
        win = self._has_win and (self.win_framedata.get(address) or self.win_fpo.get(address))
        return SymbolResult(
            name,
            func_address,
            win.parameter_size if win else param,
            file,
            line,
            tuple(inlines),
            False,
            line_address,
        )

    def close(self) -> None:
        """Unmap now if no range view is still in use (else when the last one goes)."""
        with contextlib.suppress(BufferError):
            self._map.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- record decoders -------------------------------------------------------------------

    def _read(self, offset: int, size: int) -> bytes:
        data = self._map[offset : offset + size]
        if len(data) != size:
            raise ValueError("symbol cache file is truncated")
        return data

    def _record(self, offset: int, head: struct.Struct, *lengths: int) -> tuple[tuple, bytes]:
        """A record's fixed header and the variable bytes after it (sum of `lengths`
        fields, given as indexes into the header)."""
        fields = head.unpack_from(self._read(offset, head.size))
        total = head.size + sum(fields[i] for i in lengths)
        return fields, self._read(offset + head.size, total - head.size)

    def _str(self, offset: int) -> str:
        (length,) = STR.unpack_from(self._map, offset)
        start = offset + STR.size
        if start + length > len(self._map):
            raise ValueError("symbol cache file is truncated")
        return str(self._map[start : start + length], "utf-8")

    def _public(self, offset: int) -> PublicSymbol:
        (address, param, _), name = self._record(offset, PUBLIC, 2)
        return PublicSymbol(address, name.decode("utf-8"), param)

    def _function(self, offset: int) -> Function:
        address, size, param, name_len, n, m = FUNC.unpack_from(self._map, offset)
        pos = offset + FUNC.size
        name = self._read(pos, name_len).decode("utf-8")
        pos += name_len + (-name_len % 8)
        end = pos + 8 * (2 * n + 2 * m) + 4 * (3 * n + 4 * m)
        if end > len(self._map):
            raise ValueError("symbol cache file is truncated")
        wide = self._view[pos : pos + 8 * (2 * n + 2 * m)].cast("Q")
        narrow = self._view[pos + 8 * (2 * n + 2 * m) : end].cast("I")
        starts = wide[:n]
        lines = RangeMap(starts, wide[n : 2 * n], _PackedLines(starts, narrow, n))
        return _PackedFunction(address, size, param, name, lines)._set_inlinees(
            _PackedInlinees(wide, narrow, n, m)
        )

    def _cfi(self, offset: int) -> tuple:
        from symbols.sinks import cfi_value  # its rows' grammar loads on first use anyway

        (address, size, init_len, _), data = self._record(offset, CFI, 2, 3)
        return cfi_value(address, size, data[:init_len].decode("utf-8"), [data[init_len:]])

    def _win(self, offset: int) -> StackWin:
        fields = WIN.unpack_from(self._read(offset, WIN.size))
        *numbers, kind, abp, n = fields
        program = None
        if n != NO_PROGRAM:
            program = self._read(offset + WIN.size, n).decode("utf-8")
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
        ident = f"{MAGIC!r}\0{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
        return sha256(ident.encode()).hexdigest()[:40]

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
        # tempfile (under symbols.atomic) and fcntl cost more to import than opening a
        # converted file: only a conversion pays for them
        import fcntl

        from symbols.atomic import publish, scratch_file

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
