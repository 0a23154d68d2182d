"""Loaded and unloaded modules, and the address -> module lookup the walker needs."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from crashproc.records import Record


class Module(Record):
    """A module as the dump lists it; ids are already in rust-minidump's printed form."""

    base_address: int
    size: int
    code_file: str
    code_id: str | None = None
    debug_file: str | None = None
    debug_id: str | None = None
    version: str | None = None

    def __init__(
        self,
        base_address: int,
        size: int,
        code_file: str,
        code_id: str | None = None,
        debug_file: str | None = None,
        debug_id: str | None = None,
        version: str | None = None,
    ) -> None:
        self.base_address = base_address
        self.size = size
        self.code_file = code_file
        self.code_id = code_id
        self.debug_file = debug_file
        self.debug_id = debug_id
        self.version = version

    _fields = ("base_address", "size", "code_file", "code_id", "debug_file", "debug_id", "version")

    @property
    def end_address(self) -> int:
        return self.base_address + self.size

    @property
    def name(self) -> str:
        """Basename of the code file, whichever separator the dump's OS uses."""
        return self.code_file.replace("\\", "/").rsplit("/", 1)[-1]

    def contains(self, address: int) -> bool:
        return self.base_address <= address < self.end_address


class ModuleMap:
    """Address lookup over modules (by the highest base at or below the address)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        self.modules = list(modules)
        self._sorted = sorted(
            (m for m in self.modules if m.size > 0),
            key=lambda m: m.base_address,
        )
        self._bases = [m.base_address for m in self._sorted]

    def find(self, address: int) -> Module | None:
        i = bisect_right(self._bases, address) - 1
        if i >= 0 and self._sorted[i].contains(address):
            return self._sorted[i]
        return None
