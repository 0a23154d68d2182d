"""Differential tests: synthetic dumps walked by the peer (rust-minidump 0.25's
minidump-stackwalk) and by our walk_stack on the same registers, stack and symbols.

Each case is a thread of a small dump written by `synth.py`; one dump per CPU/OS keeps
the number of peer runs small. Frames are compared by (trust, module, module offset,
function), and the set of modules whose symbols were asked for is compared with the
modules the peer reports as loaded or missing (stack-scan probes count there). The
registers each frame recovered are compared too, from the peer's --human report (the only
output that prints them for every frame).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from stackwalk.memory import MemoryMap
from stackwalk.unwind import walk_stack
from symbols.parser import parse_bytes
from tests.stackwalk.unwind.helpers import StackBuilder
from tests.stackwalk.unwind.synth import Scenario, SynthModule, SynthThread

WIDTH = {"x86": 4, "amd64": 8, "arm": 4, "arm64": 8}
REGS = {"x86": ("eip", "esp", "ebp"), "amd64": ("rip", "rsp", "rbp")}
REGS.update({"arm": ("pc", "sp", "fp"), "arm64": ("pc", "sp", "fp")})


class Case:
    """Collects named threads for one synthetic dump; each thread gets its own stack."""

    def __init__(self, cpu: str, os: str, modules: list[SynthModule]) -> None:
        self.cpu, self.os, self.modules = cpu, os, modules
        self.names: list[str] = []
        self.threads: list[SynthThread] = []

    def stack(self) -> StackBuilder:
        return StackBuilder(0x100000 * (len(self.threads) + 1), WIDTH[self.cpu])

    def thread(self, name: str, stack: StackBuilder, ip: int, fp: int = 0, **extra: int) -> None:
        ip_name, sp_name, fp_name = REGS[self.cpu]
        registers = {ip_name: ip, sp_name: stack.base, fp_name: fp, **extra}
        self.names.append(name)
        self.threads.append(SynthThread(registers, stack.region(), len(self.threads) + 1))

    def scenario(self) -> Scenario:
        return Scenario(self.cpu, self.os, self.threads, self.modules)


def record(s: StackBuilder, saved_fp: int, return_address: int) -> int:
    """Append a frame record (saved frame pointer, return address); returns its address."""
    at = s.here
    s.word(saved_fp, return_address)
    return at


# -- the cases ---------------------------------------------------------------------------

X86_APP = """
FUNC 1000 100 8 leaf
FUNC 2000 100 0 middle
FUNC 3000 40 0 fpo_user
FUNC 3100 40 0 fpo_ebp
PUBLIC 5000 0 public_function
STACK WIN 4 1000 100 0 0 8 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =
STACK WIN 4 2000 100 0 0 0 0 4 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =
STACK WIN 0 3000 40 0 0 0 4 8 0 0 0
STACK WIN 0 3100 40 0 0 0 8 4 0 0 1
STACK CFI INIT 4000 100 .cfa: $esp 8 + .ra: .cfa -4 + ^ $ebx: .cfa -8 + ^
STACK WIN 4 4080 80 0 0 0 0 0 0 1 $eip $T9 =
"""


def x86_case() -> Case:
    app = SynthModule("app.exe", 0x400000, 0x10000, X86_APP)
    lib = SynthModule("lib.dll", 0x500000, 0x10000)
    nosym = SynthModule("other.dll", 0x600000, 0x10000, "")
    case = Case("x86", "windows", [app, lib, nosym])

    s = case.stack()
    s.fill(2)
    second = s.base + 8 + 8 + 12
    first = record(s, second, 0x500100)
    s.fill(3)
    record(s, 0, 0x600200)
    s.fill(4)
    case.thread("ebp chain", s, 0x500010, fp=first)

    s = case.stack()
    s.word(0x11)
    ebp = s.here
    s.word(0x99, 0x402010, 0xAAAA, 0xBBBB, 0xCCCC, 0x501000).fill(3)
    case.thread("stack win framedata", s, 0x401010, fp=ebp)

    s = case.stack()
    s.word(0x1, 0x2, 0x3, 0x403110, 0x5, 0x6, 0x7, 0x508000).fill(8)
    case.thread("stack win fpo", s, 0x403010, fp=0x77, ebx=0x1234)

    s = case.stack()
    s.word(0xEE, 0x404090, 0xFF, 0x500500, 0x1, 0x500600).fill(2)
    case.thread("cfi, failing stack win, cfi, scan", s, 0x404010, fp=0)

    s = case.stack()
    s.word(0, 0x1234, 0x400000, 0x405000, 0x400800, 0x4010F0)
    s.fill(3).word(0x600010, 0x405010).fill(45).word(0x500700).fill(4)
    case.thread("scan candidates", s, 0x500010, fp=0)

    s = case.stack()
    s.fill(159, 7).word(0x500700).fill(40, 7).word(0x500800).fill(2)
    case.thread("scan windows", s, 0x500010, fp=0)

    s = case.stack()
    s.word(0x11)
    s.word(s.base + 0x40, 0x500400).fill(20)
    case.thread("scan recovers ebp", s, 0x500010, fp=0)

    s = case.stack()
    s.word(1, 2, 3, 0x403020, 0x500100).fill(4)
    case.thread("fpo leftover return address", s, 0x403020, fp=0)
    return case


AMD64_APP = """
FUNC 1000 100 0 main
STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 1010 .cfa: $rsp 24 + $rbx: .cfa -24 + ^ $rbp: .cfa -16 + ^
STACK CFI INIT 2000 100 .cfa: $rbp 16 + $rbp: .cfa -16 + ^ .ra: .cfa -8 + ^
"""


def amd64_case(os: str) -> Case:
    app = SynthModule("app", 0x400000, 0x10000, AMD64_APP)
    lib = SynthModule("libc.so", 0x7F0000000000, 0x100000)
    case = Case("amd64", os, [app, lib])
    libc = lib.base

    s = case.stack()
    s.fill(2)
    first = s.here
    s.word(first + 48, 0x400200).fill(4)
    record(s, s.here + 16, libc + 0x1000)
    record(s, 0, 0)
    s.fill(2)
    case.thread("rbp chain", s, 0x400100, fp=first)

    s = case.stack()
    s.word(0xB0B0, s.base + 0x40, libc + 0x2000).fill(5)
    record(s, 0, libc + 0x3000)
    s.fill(4)
    case.thread("cfi with saved registers", s, 0x401020, fp=1, rbx=2, r12=3)

    s = case.stack()
    s.fill(2)
    rbp = s.here
    s.word(s.base + 0x80, libc + 0x3000).fill(20)
    case.thread("cfi from rbp", s, 0x402010, fp=rbp)

    s = case.stack()
    s.word(s.base - 8, 0x400200, 0x0000_8000_0040_0200, libc + 0x10).fill(2)
    case.thread("incoherent records and non-canonical candidates", s, 0x400100, fp=s.base)

    s = case.stack()
    s.word(0x11)
    saved = s.here
    s.word(s.base + 0x40, libc + 0x400).fill(12)
    case.thread("scan keeps a far rbp", s, 0x400100, fp=saved + 0x1000)

    s = case.stack()
    s.word(0x11, s.base + 0x8000, libc + 0x400).fill(12)
    case.thread("scan drops an unreadable frame record", s, 0x400100, fp=s.base + 8)
    return case


def arm64_case(os: str) -> Case:
    leaf = "STACK CFI INIT 0 1000 .cfa: sp .ra: x30"
    framed = "STACK CFI INIT 1000 1000 .cfa: sp 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^"
    app = SynthModule("app", 0x400000, 0x10000, "FUNC 0 2000 0 f\n" + leaf + "\n" + framed)
    lib = SynthModule("lib", 0x500000, 0x10000, leaf)
    nosym = SynthModule("nosym", 0x600000, 0x10000)
    case = Case("arm64", os, [app, lib, nosym])
    tag = 0x2A << 48

    s = case.stack()
    s.fill(2)
    first = s.here
    s.word(0, 0).fill(4)
    second = record(s, 0, 0x600104 | tag)
    s.fill(2)
    s.data[first - s.base : first - s.base + 16] = (second | tag).to_bytes(8, "little") + (
        0x600204 | tag
    ).to_bytes(8, "little")
    case.thread("frame records with pointer auth", s, 0x600010, fp=first)

    s = case.stack()
    s.fill(4)
    case.thread("leaf twice", s, 0x400010, lr=0x500104)

    s = case.stack()
    s.word(0x123, 0x600104).fill(2)
    case.thread("zero fp scans", s, 0x600010)

    s = case.stack()
    s.word(0x7F00_0000_1234 | 0x55 << 56, 0x600104 | 0x3 << 52).fill(2)
    case.thread("cfi with x29 and pointer auth", s, 0x401010)

    s = case.stack()
    s.fill(41).word(0x600300).fill(2)
    case.thread("scan after cfi is narrow", s, 0x400010, lr=0x600104)

    s = case.stack()
    s.fill(2)
    first = s.here
    s.word(first + 32, 0x401104)  # into app's framed CFI range
    s.word(0x77, 0x600204).fill(4)
    case.thread("cfi after a frame record", s, 0x600010, fp=first, x19=5)
    return case


def arm_case(os: str) -> Case:
    leaf = "STACK CFI INIT 0 1000 .cfa: sp .ra: lr"
    app = SynthModule("app", 0x400000, 0x10000, "FUNC 0 1000 0 f\n" + leaf)
    lib = SynthModule("lib", 0x500000, 0x10000)
    case = Case("arm", os, [app, lib])

    s = case.stack()
    s.fill(2)
    first = s.here
    s.word(0, 0).fill(2)
    second = record(s, 0, 0x500200)
    s.fill(2)
    s.data[first - s.base : first - s.base + 8] = second.to_bytes(4, "little") + (
        0x500102
    ).to_bytes(4, "little")
    case.thread("r11 chain", s, 0x500010, fp=first)

    s = case.stack()
    s.word(1, 0x400000, 0x500102).fill(2)
    case.thread("zero fp", s, 0x500010)

    s = case.stack()
    s.fill(3).word(0x500300).fill(2)
    case.thread("leaf", s, 0x400010, lr=0x500102, r4=9)
    return case


CASES = {
    "x86-windows": x86_case,
    "amd64-linux": lambda: amd64_case("linux"),
    "amd64-windows": lambda: amd64_case("windows"),
    "arm64-ios": lambda: arm64_case("ios"),
    "arm64-android": lambda: arm64_case("android"),
    "arm-ios": lambda: arm_case("ios"),
    "arm-linux": lambda: arm_case("linux"),
}


# -- running both sides ----------------------------------------------------------------


def peer_walk(peer: Path, scenario: Scenario, tmp_path: Path):
    dump, symbols = scenario.write(tmp_path)
    proc = subprocess.run(
        [str(peer), "--json", str(dump), str(symbols)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(proc.stdout)
    threads = [
        [
            (
                f["trust"],
                f["module"],
                int(f["module_offset"], 16) if f["module_offset"] else None,
                f["function"],
            )
            for f in t["frames"]
        ]
        for t in doc["threads"]
    ]
    asked = {m["filename"] for m in doc["modules"] if m["loaded_symbols"] or m["missing_symbols"]}
    human = subprocess.run(
        [str(peer), "--human", str(dump), str(symbols)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return threads, asked, human_registers(human)


_THREAD = re.compile(r"^Thread \d+")
_FRAME = re.compile(r"^ ?\d+  ")
_REGISTER = re.compile(r"(\w+) = 0x([0-9a-f]+)")


def human_registers(report: str) -> list[list[dict[str, int]]]:
    """Valid registers per frame per thread, from a --human report."""
    threads: list[list[dict[str, int]]] = []
    for line in report.splitlines():
        if _THREAD.match(line):
            threads.append([])
        elif threads and _FRAME.match(line):
            threads[-1].append({})
        elif threads and threads[-1] and "Found by" not in line:
            for name, value in _REGISTER.findall(line):
                threads[-1][-1][name] = int(value, 16)
    return threads


def our_walk(scenario: Scenario):
    files = {}
    for m in scenario.modules:
        if m.sym is not None:
            text = f"MODULE windows {scenario.cpu} {m.debug_id} {m.debug_file}\n"
            if m.sym.strip():
                text += m.sym.strip("\n") + "\n"
            files[m.name] = parse_bytes(text.encode())
    asked: set[str] = set()

    def symbols_for(module):
        asked.add(module.code_file)
        return files.get(module.code_file)

    module_map = scenario.module_map()
    threads, registers = [], []
    for thread in scenario.threads:
        frames = walk_stack(
            scenario.context(thread),
            thread.stack,
            MemoryMap([thread.stack]),
            module_map,
            symbols_for,
            scenario.system_os,
        )
        rows = []
        for frame in frames:
            module = frame.module
            if module is None:
                rows.append((frame.trust, None, None, None))
                continue
            asked.add(module.code_file)  # the symbolizer asks for every frame's module
            found = None
            if module.code_file in files:
                found = files[module.code_file].lookup(frame.instruction - module.base_address)
            offset = frame.instruction - module.base_address
            rows.append((frame.trust, module.code_file, offset, found and found.function))
        threads.append(rows)
        registers.append([f.context.valid_registers() for f in frames])
    return threads, asked, registers


@pytest.mark.parametrize("name", sorted(CASES))
def test_frames_match_the_peer(name, peer_stackwalker, tmp_path):
    case = CASES[name]()
    scenario = case.scenario()
    theirs, their_asked, their_registers = peer_walk(peer_stackwalker, scenario, tmp_path)
    ours, our_asked, our_registers = our_walk(scenario)
    for i, thread_name in enumerate(case.names):
        assert ours[i] == theirs[i], f"{name}: thread {thread_name!r}"
        assert our_registers[i] == their_registers[i], f"{name}: thread {thread_name!r}"
    assert len(ours) == len(theirs)
    assert our_asked == their_asked
    # The cases are meant to unwind: a walk that only ever produced context frames
    # would agree trivially.
    assert sum(len(t) for t in theirs) > len(theirs)
