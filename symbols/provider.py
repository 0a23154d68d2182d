"""Module -> parsed symbols, for the stackwalker and the symbolication rule.

Combines a SymbolSupplier (where is the file?) with the compact SymbolCache (parse it
once, look it up cheaply) and remembers the answer per module for the life of the
provider, which is what rust-minidump's symbolizer does within one process. The result
carries the statistics rust-minidump reports per module: loaded, corrupt, symbol_url,
and the debug file/id found by a code-info lookup.

Modules are remembered by a normalized identity (leaf names, upper-case ids), so callers that
name a module differently still share one answer; within a lookup scope (symbols.scope: one
crash) every module is asked once and the HTTP lookups share the provider's budget.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from crashproc.records import Record
from symbols.errors import SymbolParseError
from symbols.fetch import CORRUPT
from symbols.names import leaf
from symbols.scope import current_scope
from symbols.supplier import Attempt, LookupResult, ModuleId, SymbolSupplier
from symbols.symfile import SymbolFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from symbols.symcache import SymbolCache


class ModuleSymbols(Record):
    lookup: LookupResult
    symbols: SymbolFile | None = None
    corrupt: bool = False

    def __init__(
        self, lookup: LookupResult, symbols: SymbolFile | None = None, corrupt: bool = False
    ) -> None:
        self.lookup = lookup
        self.symbols = symbols
        self.corrupt = corrupt

    _fields = ("lookup", "symbols", "corrupt")

    @property
    def loaded(self) -> bool:
        """rust-minidump's `loaded_symbols`: a file was found (even if it was corrupt)."""
        return self.lookup.found

    @property
    def symbol_url(self) -> str | None:
        from_file = self.symbols.url if self.symbols is not None else None
        return from_file or self.lookup.url


def module_key(module: ModuleId) -> ModuleId:
    """The identity a module is remembered by: what the supplier's lookup depends on.

    The supplier uses leaf names and compares ids without case, and treats an all-zero debug
    id as none, so modules that differ only there get one answer.
    """

    def name(value: str | None) -> str | None:
        return leaf(value) or None if value else None

    def ident(value: str | None) -> str | None:
        return value.upper() if value and value.strip("0") else None

    return ModuleId(
        name(module.code_file),
        ident(module.code_id),
        name(module.debug_file),
        ident(module.debug_id),
    )


class SymbolProvider:
    """Remembers answers so a long-running processor asks once per module, within bounds:
    at most `max_entries` modules (least recently used dropped; their mapped caches close
    when no frame still holds them), and a miss only for `miss_ttl` seconds, because the
    symbols of a new build are often uploaded after its first crashes arrive.

    Within a lookup scope, `crash_budget` seconds (None: unbounded) bound all the HTTP
    lookups of the scope together; modules still to look up when it is spent are answered
    without symbols (outcome `budget`), for this scope only."""

    def __init__(
        self,
        supplier: SymbolSupplier,
        cache: SymbolCache | None = None,
        max_entries: int = 512,
        miss_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        crash_budget: float | None = None,
    ) -> None:
        self.supplier = supplier
        self.crash_budget = crash_budget
        self.cache = cache
        self.max_entries = max_entries
        self.miss_ttl = miss_ttl
        self.clock = clock
        self._memo: OrderedDict[ModuleId, tuple[float, ModuleSymbols]] = OrderedDict()

    def get(self, module: ModuleId) -> ModuleSymbols:
        """Symbols for `module` (looked up once; later calls are free until forgotten)."""
        key = module_key(module)
        scope = current_scope()
        if scope is not None and (answer := scope.answers.get((id(self), key))) is not None:
            return answer
        now = self.clock()
        known = self._memo.get(key)
        if known is not None and (known[1].loaded or now - known[0] < self.miss_ttl):
            self._memo.move_to_end(key)
            found = known[1]
        else:
            found = self._load(module, scope)
            if not found.lookup.cut_short:  # a spent budget says nothing of the module
                self._memo[key] = (now, found)
                self._memo.move_to_end(key)
                while len(self._memo) > self.max_entries:
                    self._memo.popitem(last=False)
        if scope is not None:
            scope.answers[(id(self), key)] = found
        return found

    def _load(self, module: ModuleId, scope=None) -> ModuleSymbols:
        deadline = None
        if scope is not None and self.crash_budget is not None:
            spent = scope.spent.get(id(self), 0.0)
            deadline = time.monotonic() + max(self.crash_budget - spent, 0.0)
        started = time.monotonic()
        try:
            lookup = self.supplier.locate(module, deadline=deadline)
        finally:
            if scope is not None:
                scope.spent[id(self)] = scope.spent.get(id(self), 0.0) + time.monotonic() - started
        result = ModuleSymbols(lookup)
        if lookup.path is None:
            return result
        try:
            result.symbols = self._parse(lookup.path)
        except SymbolParseError as e:
            result.corrupt = True
            lookup.attempts.append(Attempt(str(lookup.path), CORRUPT, str(e)))
        return result

    def _parse(self, path: Path) -> SymbolFile:
        if self.cache is not None:
            return self.cache.open(path)
        # the grammar compiles its regexes on import: only parsing pays for them
        from symbols.parser import parse_file

        return parse_file(str(path))
