"""In-memory model of a parsed Breakpad .sym file and the lookups the stackwalker needs.

The lookup rules (FUNC before PUBLIC, the PUBLIC cut-off at the previous FUNC, inline
chains, which STACK WIN/CFI entry applies) follow rust-minidump's breakpad-symbols
exactly, because symbolication results are compared byte for byte with it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat

from crashproc.records import FrozenRecord, Record, TupleRecord
from symbols.rangemap import RangeMap

U64_MAX = (1 << 64) - 1
RESULT_CACHE_SIZE = 1 << 20
_MISSING = object()


class SourceLine(TupleRecord):
    __slots__ = ()
    _fields = ("address", "size", "file", "line")

    def __new__(cls, address: int, size: int, file: int, line: int) -> SourceLine:
        return tuple.__new__(cls, (address, size, file, line))


class Inlinee(TupleRecord):
    """One address range of an inlined call; field order is the sort order rust uses.

    Tuples (not dataclasses): big files have millions of these and tuples are cheap.
    """

    __slots__ = ()
    _fields = ("depth", "address", "size", "call_file", "call_line", "origin_id")

    def __new__(
        cls, depth: int, address: int, size: int, call_file: int, call_line: int, origin_id: int
    ) -> Inlinee:
        return tuple.__new__(cls, (depth, address, size, call_file, call_line, origin_id))


class Function(Record):
    address: int
    size: int
    parameter_size: int
    name: str
    lines: RangeMap[SourceLine]
    inlinees: list[Inlinee]
    _keys: list[tuple[int, int]] | None

    def __init__(
        self,
        address: int,
        size: int,
        parameter_size: int,
        name: str,
        lines: RangeMap[SourceLine] | None = None,
        inlinees: list[Inlinee] | None = None,
        _keys: list[tuple[int, int]] | None = None,
    ) -> None:
        self.address = address
        self.size = size
        self.parameter_size = parameter_size
        self.name = name
        self.lines = RangeMap() if lines is None else lines
        self.inlinees = list() if inlinees is None else inlinees
        self._keys = _keys

    _fields = ("address", "size", "parameter_size", "name", "lines", "inlinees")

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


class PublicSymbol(TupleRecord):
    """Field order (address, name, parameter_size) is the sort order rust uses."""

    __slots__ = ()
    _fields = ("address", "name", "parameter_size")

    def __new__(cls, address: int, name: str, parameter_size: int) -> PublicSymbol:
        return tuple.__new__(cls, (address, name, parameter_size))


class CfiRules(FrozenRecord):
    """The STACK CFI rules that apply at one address: the INIT rules plus earlier rows."""

    init_address: int
    size: int
    init_rules: str
    rows: tuple[tuple[int, str], ...]

    def __init__(
        self, init_address: int, size: int, init_rules: str, rows: tuple[tuple[int, str], ...]
    ) -> None:
        self.init_address = init_address
        self.size = size
        self.init_rules = init_rules
        self.rows = rows

    _fields = ("init_address", "size", "init_rules", "rows")


class StackWin(FrozenRecord):
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

    def __init__(
        self,
        kind: int,
        address: int,
        size: int,
        prologue_size: int,
        epilogue_size: int,
        parameter_size: int,
        saved_register_size: int,
        local_size: int,
        max_stack_size: int,
        program_string: str | None,
        allocates_base_pointer: bool,
    ) -> None:
        self.kind = kind
        self.address = address
        self.size = size
        self.prologue_size = prologue_size
        self.epilogue_size = epilogue_size
        self.parameter_size = parameter_size
        self.saved_register_size = saved_register_size
        self.local_size = local_size
        self.max_stack_size = max_stack_size
        self.program_string = program_string
        self.allocates_base_pointer = allocates_base_pointer

    _fields = (
        "kind",
        "address",
        "size",
        "prologue_size",
        "epilogue_size",
        "parameter_size",
        "saved_register_size",
        "local_size",
        "max_stack_size",
        "program_string",
        "allocates_base_pointer",
    )

    def _replace(self, **changes):
        """A copy with `changes`."""
        values = {
            "kind": self.kind,
            "address": self.address,
            "size": self.size,
            "prologue_size": self.prologue_size,
            "epilogue_size": self.epilogue_size,
            "parameter_size": self.parameter_size,
            "saved_register_size": self.saved_register_size,
            "local_size": self.local_size,
            "max_stack_size": self.max_stack_size,
            "program_string": self.program_string,
            "allocates_base_pointer": self.allocates_base_pointer,
        }
        return type(self)(**{**values, **changes})


class InlineFrame(FrozenRecord):
    __slots__ = ("file", "function", "line")  # one per inlined frame of every lookup
    function: str
    file: str | None
    line: int | None

    def __init__(self, function: str, file: str | None, line: int | None) -> None:
        self.function = function
        self.file = file
        self.line = line

    _fields = ("function", "file", "line")


class SymbolResult(FrozenRecord):
    """What a lookup by module offset yields.

    `function_address` is module-relative; `inlines` is ordered deepest callee first (the
    order of rust-minidump's JSON `inlines`). PUBLIC hits have no file, line or inlines.
    `line_address` is where the source location's record starts (module-relative; the
    outermost inlinee's range when the address is inlined): the human report prints the
    frame's offset from it.

    Slotted (no instance dict): a crash's lookups make thousands, and a dict apiece was a
    tenth of a cold lookup's cost between allocating it and the garbage collector's visits.
    """

    __slots__ = (
        "file",
        "from_public",
        "function",
        "function_address",
        "inlines",
        "line",
        "line_address",
        "parameter_size",
    )
    function: str
    function_address: int
    parameter_size: int
    file: str | None
    line: int | None
    inlines: tuple[InlineFrame, ...]
    from_public: bool
    line_address: int | None

    def __init__(
        self,
        function: str,
        function_address: int,
        parameter_size: int,
        file: str | None = None,
        line: int | None = None,
        inlines: tuple[InlineFrame, ...] = (),
        from_public: bool = False,
        line_address: int | None = None,
    ) -> None:
        self.function = function
        self.function_address = function_address
        self.parameter_size = parameter_size
        self.file = file
        self.line = line
        self.inlines = inlines
        self.from_public = from_public
        self.line_address = line_address

    _fields = (
        "function",
        "function_address",
        "parameter_size",
        "file",
        "line",
        "inlines",
        "from_public",
        "line_address",
    )


class SymbolFile(Record):
    """Parsed symbols; also the lookup logic for the compact cache, which supplies lazy
    sequences and mappings (memory-mapped) in place of these lists and dicts."""

    files: Mapping[int, str]
    inline_origins: Mapping[int, str]
    publics: Sequence[PublicSymbol]
    functions: RangeMap[Function]
    cfi: RangeMap[tuple[int, int, str, tuple[tuple[int, str], ...]]]
    win_framedata: RangeMap[StackWin]
    win_fpo: RangeMap[StackWin]
    url: str | None = None
    public_addresses: Sequence[int] | None = None
    _results: dict[int, SymbolResult | None]

    def __init__(
        self,
        files: Mapping[int, str] | None = None,
        inline_origins: Mapping[int, str] | None = None,
        publics: Sequence[PublicSymbol] | None = None,
        functions: RangeMap[Function] | None = None,
        cfi: RangeMap[tuple[int, int, str, tuple[tuple[int, str], ...]]] | None = None,
        win_framedata: RangeMap[StackWin] | None = None,
        win_fpo: RangeMap[StackWin] | None = None,
        url: str | None = None,
        public_addresses: Sequence[int] | None = None,
    ) -> None:
        self.files = dict() if files is None else files
        self.inline_origins = dict() if inline_origins is None else inline_origins
        self.publics = list() if publics is None else publics
        self.functions = RangeMap() if functions is None else functions
        self.cfi = RangeMap() if cfi is None else cfi
        self.win_framedata = RangeMap() if win_framedata is None else win_framedata
        self.win_fpo = RangeMap() if win_fpo is None else win_fpo
        self.url = url
        self.public_addresses = public_addresses
        self._results = dict()
        self.__post_init__()

    _fields = (
        "files",
        "inline_origins",
        "publics",
        "functions",
        "cfi",
        "win_framedata",
        "win_fpo",
        "url",
        "public_addresses",
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
