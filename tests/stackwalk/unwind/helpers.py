"""Building blocks for unwinder tests: hand-made stacks, contexts, modules and symbols."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from stackwalk.context import CpuContext
from stackwalk.memory import MemoryMap, MemoryRegion
from stackwalk.modules import Module, ModuleMap
from symbols.parser import parse_bytes
from symbols.symfile import SymbolFile


class StackBuilder:
    """Little-endian stack contents laid out word by word from `base` upwards.

    `mark()` names the current address so tests can refer to "where the frame record is"
    instead of hand-computed offsets.
    """

    def __init__(self, base: int, width: int) -> None:
        self.base = base
        self.width = width
        self.data = bytearray()
        self.marks: dict[str, int] = {}

    @property
    def here(self) -> int:
        return self.base + len(self.data)

    def mark(self, name: str) -> int:
        self.marks[name] = self.here
        return self.here

    def word(self, *values: int) -> StackBuilder:
        for value in values:
            self.data += (value % (1 << (8 * self.width))).to_bytes(self.width, "little")
        return self

    def fill(self, count: int, value: int = 0) -> StackBuilder:
        return self.word(*([value] * count))

    def region(self) -> MemoryRegion:
        return MemoryRegion(self.base, bytes(self.data))


def context(cpu: str, registers: Mapping[str, int], valid: Iterable[str] | None = None):
    return CpuContext(cpu, dict(registers), None if valid is None else frozenset(valid))


def symbols(text: str) -> SymbolFile:
    """A SymbolFile from .sym text (a trailing newline is added: the format requires it)."""
    return parse_bytes(text.strip("\n").encode() + b"\n")


class SymbolLookups:
    """`symbols_for` for walk_stack: symbols by module code file, and a record of which
    modules were asked about (rust-minidump's missing_symbols depends on that)."""

    def __init__(self, by_code_file: Mapping[str, SymbolFile] | None = None) -> None:
        self.by_code_file = dict(by_code_file or {})
        self.asked: list[str] = []

    def __call__(self, module: Module) -> SymbolFile | None:
        self.asked.append(module.code_file)
        return self.by_code_file.get(module.code_file)


def modules(*entries: tuple[str, int, int]) -> ModuleMap:
    """Modules from (code_file, base, size) triples."""
    return ModuleMap(Module(base, size, name) for name, base, size in entries)


def no_symbols(_module: Module) -> SymbolFile | None:
    return None


def memory_of(stack: MemoryRegion | None) -> MemoryMap:
    return MemoryMap([stack] if stack is not None else [])


SymbolsFor = Callable[[Module], SymbolFile | None]


def walk(
    cpu: str,
    registers: Mapping[str, int],
    stack: StackBuilder | MemoryRegion | None,
    module_map: ModuleMap,
    symbols_for: SymbolsFor = no_symbols,
    system_os: str | None = None,
    valid: Iterable[str] | None = None,
):
    """walk_stack on hand-made input."""
    from stackwalk.unwind import walk_stack

    region = stack.region() if isinstance(stack, StackBuilder) else stack
    return walk_stack(
        context(cpu, registers, valid),
        region,
        memory_of(region),
        module_map,
        symbols_for,
        system_os,
    )


def summary(frames) -> list[tuple[str, str | None, int]]:
    """(trust, module name, module offset or absolute address) per frame."""
    out = []
    for f in frames:
        if f.module is None:
            out.append((f.trust, None, f.instruction))
        else:
            out.append((f.trust, f.module.code_file, f.instruction - f.module.base_address))
    return out
