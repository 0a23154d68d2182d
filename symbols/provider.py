"""Module -> parsed symbols, for the stackwalker and the symbolication rule.

Combines a SymbolSupplier (where is the file?) with the compact SymbolCache (parse it
once, look it up cheaply) and remembers the answer per module for the life of the
provider, which is what rust-minidump's symbolizer does within one process. The result
carries the statistics rust-minidump reports per module: loaded, corrupt, symbol_url,
and the debug file/id found by a code-info lookup.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from symbols.errors import SymbolParseError
from symbols.fetch import CORRUPT
from symbols.parser import parse_file
from symbols.supplier import Attempt, LookupResult, ModuleId, SymbolSupplier
from symbols.symfile import SymbolFile

if TYPE_CHECKING:
    from symbols.symcache import SymbolCache


@dataclass
class ModuleSymbols:
    lookup: LookupResult
    symbols: SymbolFile | None = None
    corrupt: bool = False

    @property
    def loaded(self) -> bool:
        """rust-minidump's `loaded_symbols`: a file was found (even if it was corrupt)."""
        return self.lookup.found

    @property
    def symbol_url(self) -> str | None:
        from_file = self.symbols.url if self.symbols is not None else None
        return from_file or self.lookup.url


class SymbolProvider:
    """Remembers answers so a long-running processor asks once per module, within bounds:
    at most `max_entries` modules (least recently used dropped; their mapped caches close
    when no frame still holds them), and a miss only for `miss_ttl` seconds, because the
    symbols of a new build are often uploaded after its first crashes arrive."""

    def __init__(
        self,
        supplier: SymbolSupplier,
        cache: SymbolCache | None = None,
        max_entries: int = 512,
        miss_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.supplier = supplier
        self.cache = cache
        self.max_entries = max_entries
        self.miss_ttl = miss_ttl
        self.clock = clock
        self._memo: OrderedDict[ModuleId, tuple[float, ModuleSymbols]] = OrderedDict()

    def get(self, module: ModuleId) -> ModuleSymbols:
        """Symbols for `module` (looked up once; later calls are free until forgotten)."""
        now = self.clock()
        known = self._memo.get(module)
        if known is not None and (known[1].loaded or now - known[0] < self.miss_ttl):
            self._memo.move_to_end(module)
            return known[1]
        found = self._load(module)
        self._memo[module] = (now, found)
        self._memo.move_to_end(module)
        while len(self._memo) > self.max_entries:
            self._memo.popitem(last=False)
        return found

    def _load(self, module: ModuleId) -> ModuleSymbols:
        lookup = self.supplier.locate(module)
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
        return parse_file(str(path))
