"""Seeded differential fuzz: random stacks, registers and unwinding rules, walked by the
peer and by us; frames, recovered registers and symbol lookups must all agree.

Stack words are drawn to be interesting: return addresses into modules with and without
symbols, pointers into the stack itself (frame chains, cycles), and noise. Rules mix
sensible CFI with failing and absurd expressions, STACK WIN programs and FPO records.
"""

from __future__ import annotations

import random

import pytest

from stackwalk.unwind.registers import SPECS
from tests.stackwalk.unwind.helpers import StackBuilder
from tests.stackwalk.unwind.synth import Scenario, SynthModule, SynthThread
from tests.stackwalk.unwind.test_peer_synthetic import our_walk, peer_walk

THREADS = 24
ROUNDS = 5

CFI_RULES = [
    ".cfa: {sp} {w} + .ra: .cfa -{w} + ^",
    ".cfa: {sp} {w2} + .ra: .cfa -{w} + ^ {fp}: .cfa -{w2} + ^",
    ".cfa: {fp} {w2} + .ra: .cfa -{w} + ^ {fp}: .cfa -{w2} + ^",
    ".cfa: {sp} {n} + .ra: .cfa -{w} + ^ {cs}: .cfa -{w2} + ^",
    ".cfa: {sp} .ra: {lr}",
    ".cfa: {sp} {n} + 16 @ .ra: .cfa ^",
    ".cfa: {sp} 0 / .ra: 1",
    ".cfa: {sp} {w} - .ra: .cfa -{w} + ^",
    ".cfa: {sp} {w} + .ra: .undef",
    ".cfa: {sp} {w} + .ra: .cfa -{w} + ^ {cs}: .undef",
]
WIN_PROGRAMS = [
    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
    "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =",
    "$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + =",
    "$T0 $ebp = $T1 $T0 16 @ = $eip $T0 4 + ^ = $esp $T0 8 + = $ebp $T0 ^ =",
    "$eip $esp ^ = $esp $esp 4 + = $ebx .undef =",
    "$eip $T9 =",
]


def app_symbols(rng: random.Random, cpu: str) -> str:
    spec = SPECS[cpu]
    x86ish = cpu in ("x86", "amd64")
    dollar = "$" if x86ish else ""
    names = {
        "sp": dollar + spec.sp,
        "fp": dollar + spec.fp,
        "lr": dollar + ("lr" if not x86ish else spec.callee_saved[1]),
        "cs": dollar + spec.callee_saved[0],
        "w": spec.width,
        "w2": 2 * spec.width,
    }
    lines = []
    for start in range(0, 0x8000, 0x400):
        if rng.random() < 0.8:
            lines.append(
                f"FUNC {start:x} {rng.choice([0x100, 0x400]):x} {rng.choice([0, 4, 8]):x} f{start:x}"
            )
        if rng.random() < 0.2:
            lines.append(f"PUBLIC {start + 0x380:x} 4 p{start:x}")
    for start in range(0, 0x8000, 0x200):
        if rng.random() < 0.7:
            rule = rng.choice(CFI_RULES).format(n=rng.choice([0, spec.width, 3, 64]), **names)
            lines.append(f"STACK CFI INIT {start:x} 200 {rule}")
            if rng.random() < 0.3:
                rule = rng.choice(CFI_RULES).format(n=spec.width, **names).split(" .ra:")[0]
                lines.append(f"STACK CFI {start + 0x80:x} {rule}")
        if cpu == "x86" and rng.random() < 0.4:
            sizes = " ".join(f"{rng.choice([0, 4, 8, 0x10]):x}" for _ in range(6))
            if rng.random() < 0.6:
                program = rng.choice(WIN_PROGRAMS)
                lines.append(f"STACK WIN 4 {start:x} 200 {sizes} 1 {program}")
            else:
                lines.append(f"STACK WIN 0 {start:x} 200 {sizes} 0 {rng.randint(0, 1)}")
    return "\n".join(lines)


def random_scenario(rng: random.Random, cpu: str, os: str) -> Scenario:
    spec = SPECS[cpu]
    app = SynthModule("app", 0x400000, 0x8000, app_symbols(rng, cpu))
    lib = SynthModule("lib", 0x500000, 0x8000)
    empty = SynthModule("empty", 0x600000, 0x8000, "")
    code = [app, lib, empty]
    threads = []
    for index in range(THREADS):
        base = 0x100000 * (index + 1)
        words = rng.randint(0, 120)
        s = StackBuilder(base, spec.width)
        for _ in range(words):
            kind = rng.random()
            if kind < 0.45:
                m = rng.choice(code)
                s.word(m.base + rng.randrange(m.size + 2))
            elif kind < 0.75:
                s.word(base + rng.randrange(words * spec.width + 16))
            elif kind < 0.85:
                s.word(0)
            else:
                s.word(rng.getrandbits(8 * spec.width))
        m = rng.choice(code)
        registers = {
            spec.ip: m.base + rng.randrange(m.size),
            spec.sp: base + rng.choice([0, 0, spec.width, 3, words * spec.width + 64]),
            spec.fp: rng.choice([0, base + rng.randrange(words * spec.width + 16)]),
            spec.callee_saved[0]: rng.getrandbits(16),
        }
        if cpu.startswith("arm"):
            lr_module = rng.choice(code)
            registers["lr"] = lr_module.base + rng.randrange(lr_module.size)
        if cpu == "x86":
            registers["ebx"] = base + rng.randrange(words * spec.width + 16)
        threads.append(SynthThread(registers, s.region(), index + 1))
    return Scenario(cpu, os, threads, code)


@pytest.mark.parametrize(
    ("cpu", "os"),
    [
        ("x86", "windows"),
        ("amd64", "linux"),
        ("amd64", "windows"),
        ("arm64", "ios"),
        ("arm", "ios"),
        ("arm", "linux"),
    ],
)
def test_random_walks_match_the_peer(peer_stackwalker, tmp_path, cpu, os):
    rng = random.Random(f"peer-fuzz-{cpu}-{os}")
    unwound = 0
    for round_ in range(ROUNDS):
        scenario = random_scenario(rng, cpu, os)
        folder = tmp_path / str(round_)
        folder.mkdir()
        theirs, their_asked, their_registers = peer_walk(peer_stackwalker, scenario, folder)
        ours, our_asked, our_registers = our_walk(scenario)
        assert len(ours) == len(theirs)
        for i in range(len(theirs)):
            assert ours[i] == theirs[i], f"round {round_} thread {i}"
            assert our_registers[i] == their_registers[i], f"round {round_} thread {i}"
            unwound += len(theirs[i]) - 1
        assert our_asked == their_asked
    assert unwound > THREADS  # the fuzz reaches past the context frames
