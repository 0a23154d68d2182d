"""A minimal minidump writer for unwinder differential tests.

It writes just what a stackwalker needs to walk one or more threads: SystemInfo, a
ThreadList (context + stack memory per thread) and a ModuleList whose CodeView (PDB70)
records let the peer find .sym files laid out as `<name>.pdb/<DEBUGID>/<name>.sym`.
The same `Scenario` objects feed our `walk_stack` directly, so a test compares the two
walkers on identical input without depending on our minidump reader.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stackwalk.context import CpuContext
from stackwalk.memory import MemoryRegion
from stackwalk.modules import Module, ModuleMap
from stackwalk.testing import encode_context

SIGNATURE = 0x504D444D  # "MDMP"
VERSION = 0xA793
THREAD_LIST, MODULE_LIST, SYSTEM_INFO = 3, 4, 7

ARCHITECTURE = {"x86": 0, "arm": 5, "amd64": 9, "arm64": 12}
PLATFORM = {"windows": 2, "mac": 0x8101, "ios": 0x8102, "linux": 0x8201, "android": 0x8203}
# What rust-minidump prints for each platform (what walk_stack gets as system_os).
OS_NAME = {
    "windows": "Windows NT",
    "mac": "Mac OS X",
    "ios": "iOS",
    "linux": "Linux",
    "android": "Android",
}


@dataclass
class SynthModule:
    name: str  # code file basename, also the .pdb/.sym stem
    base: int
    size: int
    sym: str | None = None  # .sym body after the MODULE line (FUNC, STACK CFI, ...)
    guid: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def debug_id(self) -> str:
        return self.guid.hex.upper() + "1"

    @property
    def debug_file(self) -> str:
        return self.name + ".pdb"

    def module(self) -> Module:
        return Module(self.base, self.size, self.name, None, self.debug_file, self.debug_id)


@dataclass
class SynthThread:
    registers: Mapping[str, int]
    stack: MemoryRegion
    thread_id: int = 1


@dataclass
class Scenario:
    cpu: str
    os: str
    threads: list[SynthThread]
    modules: list[SynthModule]

    @property
    def system_os(self) -> str:
        return OS_NAME[self.os]

    def module_map(self) -> ModuleMap:
        return ModuleMap(m.module() for m in self.modules)

    def context(self, thread: SynthThread) -> CpuContext:
        return CpuContext(self.cpu, dict(thread.registers))

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write the dump and its symbol directory; returns (dump path, symbols path)."""
        symbols = directory / "symbols"
        for m in self.modules:
            if m.sym is None:
                continue
            folder = symbols / m.debug_file / m.debug_id
            folder.mkdir(parents=True, exist_ok=True)
            header = f"MODULE windows {self.cpu} {m.debug_id} {m.debug_file}\n"
            body = m.sym.strip("\n") + "\n" if m.sym.strip() else ""
            (folder / f"{m.name}.sym").write_text(header + body)
        dump = directory / "synthetic.dmp"
        dump.write_bytes(_DumpWriter(self).build())
        return dump, symbols


# -- the binary format ------------------------------------------------------------------


class _DumpWriter:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.data = bytearray()

    def _append(self, blob: bytes) -> int:
        while len(self.data) % 8:
            self.data.append(0)
        rva = len(self.data)
        self.data += blob
        return rva

    def _string(self, text: str) -> int:
        encoded = text.encode("utf-16-le")
        return self._append(struct.pack("<I", len(encoded)) + encoded + b"\0\0")

    def build(self) -> bytes:
        s = self.scenario
        self.data += bytes(32 + 3 * 12)  # header + directory, filled in last
        streams = [
            (SYSTEM_INFO, self._system_info()),
            (THREAD_LIST, self._thread_list()),
            (MODULE_LIST, self._module_list()),
        ]
        directory = b"".join(struct.pack("<III", kind, size, rva) for kind, (rva, size) in streams)
        header = struct.pack("<IIIIIIQ", SIGNATURE, VERSION, len(streams), 32, 0, 0x5F000000, 0)
        self.data[0:32] = header
        self.data[32 : 32 + len(directory)] = directory
        assert s.threads
        return bytes(self.data)

    def _system_info(self) -> tuple[int, int]:
        s = self.scenario
        csd = self._string("")
        blob = struct.pack(
            "<HHHBBIIIIIHH24s",
            ARCHITECTURE[s.cpu],
            6,
            0,
            1,
            1,
            10,
            0,
            19041,
            PLATFORM[s.os],
            csd,
            0,
            0,
            bytes(24),
        )
        return self._append(blob), len(blob)

    def _thread_list(self) -> tuple[int, int]:
        s = self.scenario
        entries = []
        for t in s.threads:
            ctx = encode_context(s.cpu, t.registers)
            ctx_rva = self._append(ctx)
            stack_rva = self._append(bytes(t.stack.data))
            entries.append(
                struct.pack(
                    "<IIIIQQIIII",
                    t.thread_id,
                    0,
                    0,
                    0,
                    0,
                    t.stack.base,
                    t.stack.size,
                    stack_rva,
                    len(ctx),
                    ctx_rva,
                )
            )
        blob = struct.pack("<I", len(entries)) + b"".join(entries)
        return self._append(blob), len(blob)

    def _module_list(self) -> tuple[int, int]:
        entries = []
        for m in self.scenario.modules:
            name_rva = self._string(m.name)
            pdb = m.debug_file.encode() + b"\0"
            cv = struct.pack("<I", 0x53445352) + m.guid.bytes_le + struct.pack("<I", 1) + pdb
            cv_rva = self._append(cv)
            entries.append(
                struct.pack("<QIIII", m.base, m.size, 0, 0x5F000000, name_rva)
                + bytes(52)
                + struct.pack("<IIII", len(cv), cv_rva, 0, 0)
                + bytes(16)
            )
        blob = struct.pack("<I", len(entries)) + b"".join(entries)
        return self._append(blob), len(blob)
