"""Consumers of parsed records.

The parser hands each accepted record to a sink: NullSink validates only (constant
memory), MemorySink builds a SymbolFile for files up to tens of MB, and
symbols.cachewriter.CacheSink streams records into the compact on-disk cache. Line
records arrive as columns (addresses, sizes, lines, files) so big files never create
one Python object per line record.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import add, le

from symbols.rangemap import RangeMap
from symbols.symfile import (
    U64_MAX,
    Function,
    PublicSymbol,
    SourceLine,
    StackWin,
    SymbolFile,
)

U32_MAX = 0xFFFFFFFF


def range_end(address: int, size: int) -> int | None:
    """Inclusive end of a FUNC/CFI/WIN range, None when empty or overflowing (dropped)."""
    if size == 0 or address + size > U64_MAX:
        return None
    return address + size - 1


TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Protocol

    from symbols.grammar import LineColumns
else:
    Protocol = object  # a structural type for type checkers only


class RecordSink(Protocol):
    def file(self, file_id: int, name: str) -> None: ...
    def origin(self, origin_id: int, name: str) -> None: ...
    def public(self, public: PublicSymbol) -> None: ...
    def function(self, func: Function, body: list[bytes]) -> None: ...
    def cfi(self, address: int, size: int, rules: str, rows: list[bytes]) -> None: ...
    def win(self, info: StackWin) -> None: ...
    def url(self, url: str) -> None: ...


class NullSink:
    """Accepts every record and keeps nothing: validation only, in constant memory.

    FUNC and STACK CFI sublines arrive as validated text (`body`, `rows`); sinks decode
    them with `complete_function` / `cfi_value` when (and if) they need the numbers.
    """

    def file(self, file_id: int, name: str) -> None:
        pass

    def origin(self, origin_id: int, name: str) -> None:
        pass

    def public(self, public: PublicSymbol) -> None:
        pass

    def function(self, func: Function, body: list[bytes]) -> None:
        pass

    def cfi(self, address: int, size: int, rules: str, rows: list[bytes]) -> None:
        pass

    def win(self, info: StackWin) -> None:
        pass

    def url(self, url: str) -> None:
        pass


def truncate_previous_win(last: StackWin, info: StackWin) -> StackWin | None:
    """rust's STACK WIN repair, given the previous entry of the same kind.

    Returns the (possibly truncated) previous entry to keep, or None when `info` must be
    dropped instead (it overlaps the previous one without starting after it).
    """
    end, last_end = range_end(info.address, info.size), range_end(last.address, last.size)
    if last.address <= end and info.address <= last_end:
        if info.address > last.address:
            size = (info.address - last.address) & U32_MAX
            return StackWin(**{**last.__dict__, "size": size})
        if (last.address, last_end) != (info.address, end):
            return None
    return last


class LineValues(Sequence):
    """SourceLine objects made on access (a lookup touches one or two of them)."""

    __slots__ = ("cols",)

    def __init__(self, cols: LineColumns) -> None:
        self.cols = cols

    def __len__(self) -> int:
        return len(self.cols.addresses)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        c = self.cols
        return SourceLine(c.addresses[i], c.sizes[i], c.files[i], c.lines[i])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)


def line_ranges(cols: LineColumns) -> RangeMap[SourceLine]:
    """A FUNC's line records as a range map (zero-size and overflowing records dropped).

    Line records are nearly always sorted and disjoint; that case is recognised with
    C-level iteration and needs no sorting or per-record objects.
    """
    starts, sizes = cols.addresses, cols.sizes
    stops = list(map(add, starts, sizes))
    if stops and 0 not in sizes and stops[-1] - 1 <= U64_MAX and all(map(le, stops, starts[1:])):
        return RangeMap(starts, [stop - 1 for stop in stops], LineValues(cols))
    return RangeMap.build(
        (a, a + s - 1, SourceLine(a, s, f, ln))
        for a, s, ln, f in zip(starts, sizes, cols.lines, cols.files, strict=True)
        if s > 0 and a + s - 1 <= U64_MAX
    )


def complete_function(func: Function, body: list[bytes]) -> Function:
    """Fill a FUNC's line map and sorted inlinees from its subline text."""
    # the grammar compiles its regexes on import: only parsing pays for them
    from symbols.grammar import decode_body

    cols, inlinees = decode_body(body)
    func.lines = line_ranges(cols)
    func.inlinees = sorted(inlinees)
    return func


def cfi_value(address: int, size: int, rules: str, rows: list[bytes]) -> tuple:
    """The value stored per STACK CFI INIT block: rows sorted by (address, rules)."""
    from symbols.cfirows import decode_rows  # not at the top: only CFI lookups need it

    return (address, size, rules, tuple(sorted(decode_rows(rows))))


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

    def function(self, func: Function, body: list[bytes]) -> None:
        end = range_end(func.address, func.size)
        if end is not None:
            complete_function(func, body)
            self.functions.append((func.address, end, func))

    def cfi(self, address: int, size: int, rules: str, rows: list[bytes]) -> None:
        end = range_end(address, size)
        if end is not None:
            self.cfi_entries.append((address, end, cfi_value(address, size, rules, rows)))

    def win(self, info: StackWin) -> None:
        end = range_end(info.address, info.size)
        if end is None:
            return
        entries = self.win_entries[info.kind]
        if entries:
            kept = truncate_previous_win(entries[-1][2], info)
            if kept is None:
                return
            entries[-1] = (kept.address, range_end(kept.address, kept.size), kept)
        entries.append((info.address, end, info))

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
