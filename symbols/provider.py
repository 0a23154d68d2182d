"""Module -> parsed symbols, for the stackwalker and the symbolication rule.

Combines a SymbolSupplier (where is the file?) with the compact SymbolCache (parse it
once, look it up cheaply) and remembers the answer per module for the life of the
provider, which is what rust-minidump's symbolizer does within one process. The result
carries the statistics rust-minidump reports per module: loaded, corrupt, symbol_url,
and the debug file/id found by a code-info lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from symbols.errors import SymbolParseError
from symbols.fetch import CORRUPT
from symbols.parser import parse_file
from symbols.supplier import Attempt, LookupResult, ModuleId, SymbolSupplier
from symbols.symcache import SymbolCache
from symbols.symfile import SymbolFile


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
        return self.symbols.url if self.symbols is not None else self.lookup.url


class SymbolProvider:
    def __init__(self, supplier: SymbolSupplier, cache: SymbolCache | None = None) -> None:
        self.supplier = supplier
        self.cache = cache
        self._memo: dict[ModuleId, ModuleSymbols] = {}

    def get(self, module: ModuleId) -> ModuleSymbols:
        """Symbols for `module` (found once per provider; later calls are free)."""
        known = self._memo.get(module)
        if known is None:
            known = self._memo[module] = self._load(module)
        return known

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
