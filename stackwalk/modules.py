"""Loaded and unloaded modules, and the address -> module lookup the walker needs."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable


class Module:
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

    def __repr__(self) -> str:
        shown = (
            "base_address",
            "size",
            "code_file",
            "code_id",
            "debug_file",
            "debug_id",
            "version",
        )
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (
            self.base_address,
            self.size,
            self.code_file,
            self.code_id,
            self.debug_file,
            self.debug_id,
            self.version,
        ) == (
            other.base_address,
            other.size,
            other.code_file,
            other.code_id,
            other.debug_file,
            other.debug_id,
            other.version,
        )

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
