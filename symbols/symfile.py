"""In-memory model of a parsed Breakpad .sym file and the lookups the stackwalker needs.

The lookup rules (FUNC before PUBLIC, the PUBLIC cut-off at the previous FUNC, inline
chains, which STACK WIN/CFI entry applies) follow rust-minidump's breakpad-symbols
exactly, because symbolication results are compared byte for byte with it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

from symbols.rangemap import RangeMap

U64_MAX = (1 << 64) - 1
RESULT_CACHE_SIZE = 1 << 20
_MISSING = object()


class SourceLine(NamedTuple):
    address: int
    size: int
    file: int
    line: int


class Inlinee(NamedTuple):
    """One address range of an inlined call; field order is the sort order rust uses.

    Tuples (not dataclasses): big files have millions of these and tuples are cheap.
    """

    depth: int
    address: int
    size: int
    call_file: int
    call_line: int
    origin_id: int


@dataclass(eq=True)
class Function:
    address: int
    size: int
    parameter_size: int
    name: str
    lines: RangeMap[SourceLine] = field(default_factory=RangeMap)
    inlinees: list[Inlinee] = field(default_factory=list)
    _keys: list[tuple[int, int]] | None = field(default=None, compare=False, repr=False)

    def inlinee_at_depth(self, depth: int, address: int) -> Inlinee | None:
        """The inlinee covering `address` at `depth` (the greatest (depth, address) <= key)."""
        if not self.inlinees:
            return None
        if self._keys is None:
            self._keys = [(i.depth, i.address) for i in self.inlinees]
        i = bisect_right(self._keys, (depth, address)) - 1
        if i < 0:
            return None
        inlinee = self.inlinees[i]
        if inlinee.depth != depth:
            return None
        end = inlinee.address + inlinee.size
        if end > U64_MAX or address >= end:
            return None
        return inlinee


class PublicSymbol(NamedTuple):
    """Field order (address, name, parameter_size) is the sort order rust uses."""

    address: int
    name: str
    parameter_size: int


@dataclass(frozen=True)
class CfiRules:
    """The STACK CFI rules that apply at one address: the INIT rules plus earlier rows."""

    init_address: int
    size: int
    init_rules: str
    rows: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class StackWin:
    """A STACK WIN record; `kind` is 4 (FrameData, with program string) or 0 (FPO)."""

    kind: int
    address: int
    size: int
    prologue_size: int
    epilogue_size: int
    parameter_size: int
    saved_register_size: int
    local_size: int
    max_stack_size: int
    program_string: str | None
    allocates_base_pointer: bool


@dataclass(frozen=True)
class InlineFrame:
    function: str
    file: str | None
    line: int | None


@dataclass(frozen=True)
class SymbolResult:
    """What a lookup by module offset yields.

    `function_address` is module-relative; `inlines` is ordered deepest callee first (the
    order of rust-minidump's JSON `inlines`). PUBLIC hits have no file, line or inlines.
    `line_address` is where the source location's record starts (module-relative; the
    outermost inlinee's range when the address is inlined): the human report prints the
    frame's offset from it.
    """

    function: str
    function_address: int
    parameter_size: int
    file: str | None = None
    line: int | None = None
    inlines: tuple[InlineFrame, ...] = ()
    from_public: bool = False
    line_address: int | None = None


@dataclass
class SymbolFile:
    """Parsed symbols; also the lookup logic for the compact cache, which supplies lazy
    sequences and mappings (memory-mapped) in place of these lists and dicts."""

    files: Mapping[int, str] = field(default_factory=dict)
    inline_origins: Mapping[int, str] = field(default_factory=dict)
    publics: Sequence[PublicSymbol] = field(default_factory=list)
    functions: RangeMap[Function] = field(default_factory=RangeMap)
    cfi: RangeMap[tuple[int, int, str, tuple[tuple[int, str], ...]]] = field(
        default_factory=RangeMap
    )
    win_framedata: RangeMap[StackWin] = field(default_factory=RangeMap)
    win_fpo: RangeMap[StackWin] = field(default_factory=RangeMap)
    url: str | None = None
    public_addresses: Sequence[int] | None = None
    _results: dict[int, SymbolResult | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.public_addresses is None:
            self.public_addresses = [p.address for p in self.publics]

    # -- symbolication -------------------------------------------------------------------

    def find_nearest_public(self, address: int) -> PublicSymbol | None:
        """The PUBLIC with the greatest address <= `address` (the last of equal ones)."""
        i = bisect_right(self.public_addresses, address) - 1
        return self.publics[i] if i >= 0 else None

    def lookup(self, address: int) -> SymbolResult | None:
        """Symbolicate a module-relative address the way rust-minidump's fill_symbol does."""
        func = self.functions.get(address)
        if func is not None:
            return self._function_result(func, address)
        public = self.find_nearest_public(address)
        if public is None:
            return None
        starts = self.functions.starts
        i = bisect_left(starts, address)
        exact = i < len(starts) and starts[i] == address
        if not exact and i > 0 and public.address <= self.functions.values[i - 1].address:
            # A PUBLIC cannot extend past a FUNC that starts after it.
            return None
        return SymbolResult(public.name, public.address, public.parameter_size, from_public=True)

    def lookup_many(self, addresses: Iterable[int]) -> list[SymbolResult | None]:
        """Batch lookups through a bounded per-file result cache.

        Crash processing asks for the same hot addresses again and again (the same
        crashing functions across reports); cached answers cost one dict probe each.
        """
        addresses = list(addresses)
        results = list(map(self._results.get, addresses, repeat(_MISSING)))
        for i, result in enumerate(results):
            if result is _MISSING:
                if len(self._results) >= RESULT_CACHE_SIZE:
                    self._results.clear()
                result = results[i] = self._results[addresses[i]] = self.lookup(addresses[i])
        return results

    def _parameter_size(self, func: Function, address: int) -> int:
        win = self.win_framedata.get(address) or self.win_fpo.get(address)
        return win.parameter_size if win is not None else func.parameter_size

    def _function_result(self, func: Function, address: int) -> SymbolResult:
        file = line = line_address = None
        inlines: list[InlineFrame] = []
        outer = func.inlinee_at_depth(0, address)
        if outer is not None:
            file_id, line_no, start = outer.call_file, outer.call_line, outer.address
        else:
            record = func.lines.get(address)
            file_id, line_no, start = (
                (record.file, record.line, record.address) if record else (None, None, None)
            )
        if file_id is not None and file_id in self.files:
            file, line, line_address = self.files[file_id], line_no, start
        if outer is not None:
            origin = outer.origin_id
            depth = 1
            while (inlinee := func.inlinee_at_depth(depth, address)) is not None:
                name = self.inline_origins.get(origin)
                if name is not None:
                    inlines.append(
                        InlineFrame(name, self.files.get(inlinee.call_file), inlinee.call_line)
                    )
                origin = inlinee.origin_id
                depth += 1
            record = func.lines.get(address)
            name = self.inline_origins.get(origin)
            if name is not None:
                inner_file = self.files.get(record.file) if record else None
                inner_line = record.line if record and record.line != 0 else None
                inlines.append(InlineFrame(name, inner_file, inner_line))
        inlines.reverse()
        return SymbolResult(
            func.name,
            func.address,
            self._parameter_size(func, address),
            file,
            line,
            tuple(inlines),
            line_address=line_address,
        )

    # -- unwinding -------------------------------------------------------------------------

    def stack_win(self, address: int) -> StackWin | None:
        """The STACK WIN entry the unwinder tries first: FrameData, else FPO."""
        return self.win_framedata.get(address) or self.win_fpo.get(address)

    def cfi_rules(self, address: int) -> CfiRules | None:
        """The STACK CFI INIT block covering `address` with its rows at or before it."""
        entry = self.cfi.get(address)
        if entry is None:
            return None
        init_address, size, init_rules, rows = entry
        applicable = tuple(row for row in rows if row[0] <= address)
        return CfiRules(init_address, size, init_rules, applicable)
