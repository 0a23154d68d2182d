"""walk_stack as a whole: context handling, termination guarantees, robustness."""

from __future__ import annotations

import logging
import random
import time

import pytest

from stackwalk.context import CpuContext
from stackwalk.unwind import driver, walk_stack
from stackwalk.unwind.registers import SPECS
from tests.stackwalk.unwind.helpers import (
    StackBuilder,
    SymbolLookups,
    memory_of,
    modules,
    symbols,
    walk,
)

MODULES = modules(("app", 0x400000, 0x10000), ("lib", 0x500000, 0x10000))
STACK = 0x10000


def test_unknown_cpu_gives_the_context_frame():
    s = StackBuilder(STACK, 8).word(0x400100).fill(3)
    ctx = CpuContext("mips", {"pc": 0x400010, "sp": STACK})
    frames = walk_stack(ctx, s.region(), memory_of(s.region()), MODULES, lambda m: None)
    assert len(frames) == 1 and frames[0].trust == "context"
    assert frames[0].instruction == 0 and frames[0].module is None  # no known ip register


def test_register_aliases_are_canonicalised():
    s = StackBuilder(STACK, 8).fill(2)
    record = s.here
    s.word(0, 0x500100).fill(2)
    frames = walk("arm64", {"pc": 0x400010, "sp": STACK, "x29": record}, s, MODULES)
    assert frames[0].context.get("fp") == record
    assert frames[0].context.get("x0") == 0  # every register present, as in the dump
    assert [f.trust for f in frames] == ["context", "frame_pointer"]


def test_the_frame_cap_bounds_walks_that_never_read_memory():
    # CFI that moves the stack pointer one byte per frame and takes the return address
    # from a forwarded callee-saved register: rust-minidump would walk 2^64 frames.
    syms = symbols(
        """
MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 app
STACK CFI INIT 0 10000 .cfa: $rsp 1 + .ra: $rbx
"""
    )
    s = StackBuilder(STACK, 8).fill(16)
    start = time.perf_counter()
    frames = walk(
        "amd64",
        {"rip": 0x400100, "rsp": STACK, "rbx": 0x400101},
        s,
        MODULES,
        SymbolLookups({"app": syms}),
    )
    assert len(frames) == driver.MIN_FRAME_CAP
    assert time.perf_counter() - start < 10


def test_an_internal_error_keeps_the_frames_found_so_far(monkeypatch, caplog):
    class Broken:
        def caller_frame(self, session, callee, grand_callee):
            raise RuntimeError("unwinder bug")

    monkeypatch.setitem(driver.UNWINDERS, "x86", Broken())
    s = StackBuilder(STACK, 4).fill(4)
    with caplog.at_level(logging.ERROR, logger="stackwalk.unwind.driver"):
        frames = walk("x86", {"eip": 0x400100, "esp": STACK}, s, MODULES)
    assert [f.trust for f in frames] == ["context"]
    assert "internal error after 1 frames" in caplog.text


RULES = [
    ".cfa: {sp} {n} + .ra: .cfa -{w} + ^",
    ".cfa: {sp} {n} + .ra: .cfa {n} - ^ {fp}: .cfa -{w2} + ^",
    ".cfa: {fp} {w2} + .ra: .cfa -{w} + ^ {fp}: .cfa -{w2} + ^",
    ".cfa: {sp} .ra: {ra}",
    ".cfa: {sp} {n} + 16 @ .ra: .cfa ^ ^",
    ".cfa: {sp} 0 / .ra: 1",
    ".cfa: {sp} {n} - .ra: .cfa",
]
WIN = [
    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
    "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =",
    "$eip $esp ^ = $esp $esp 4 - =",
]


def random_symbols(rng: random.Random, cpu: str) -> str:
    spec = SPECS[cpu]
    dollar = "$" if cpu in ("x86", "amd64") else ""
    names = {
        "sp": dollar + spec.sp,
        "fp": dollar + spec.fp,
        "ra": dollar + ("lr" if cpu.startswith("arm") else spec.fp),
        "w": spec.width,
        "w2": 2 * spec.width,
    }
    lines = ["FUNC 0 800 8 f", "PUBLIC 900 4 p"]
    for start in range(0, 0x10000, 0x800):
        rule = rng.choice(RULES).format(n=rng.choice([0, spec.width, 3, 64]), **names)
        lines.append(f"STACK CFI INIT {start:x} 800 {rule}")
        if cpu == "x86" and rng.random() < 0.5:
            sizes = " ".join(f"{rng.choice([0, 4, 8, 0x10]):x}" for _ in range(6))
            if rng.random() < 0.5:
                lines.append(f"STACK WIN 4 {start:x} 800 {sizes} 0 1 {rng.choice(WIN)}")
            else:
                lines.append(f"STACK WIN 0 {start:x} 800 {sizes} 0 0 {rng.randint(0, 1)}")
    return "MODULE Linux x 0123456789ABCDEF0123456789ABCDEF0 m\n" + "\n".join(lines)


@pytest.mark.parametrize("cpu", ["x86", "amd64", "arm", "arm64"])
def test_random_stacks_never_raise_or_loop(cpu, caplog):
    """Seeded fuzz: random stack words (many pointing into the stack or the modules),
    random registers and random rules; every walk must end, below the cap, quietly."""
    rng = random.Random(f"unwind-{cpu}")
    spec = SPECS[cpu]
    mods = modules(("app", 0x400000, 0x10000), ("lib", 0x500000, 0x10000))
    syms = {"app": symbols(random_symbols(rng, cpu))}
    total = 0
    with caplog.at_level(logging.ERROR):
        for _ in range(150):
            words = rng.randint(0, 96)
            s = StackBuilder(STACK, spec.width)
            for _ in range(words):
                kind = rng.random()
                if kind < 0.3:
                    s.word(rng.choice([0x400000, 0x500000]) + rng.randrange(0x10000))
                elif kind < 0.6:
                    s.word(STACK + rng.randrange(words * spec.width + 16))
                else:
                    s.word(rng.getrandbits(8 * spec.width))
            registers = {
                spec.ip: rng.choice([0, 0x400000 + rng.randrange(0x10000), rng.getrandbits(64)]),
                spec.sp: STACK + rng.randrange(-16, words * spec.width + 16),
                spec.fp: STACK + rng.randrange(words * spec.width + 16),
            }
            if cpu.startswith("arm"):
                registers["lr"] = 0x500000 + rng.randrange(0x10000)
            frames = walk(
                cpu,
                registers,
                s,
                mods,
                SymbolLookups(syms),
                system_os=rng.choice(["Linux", "Windows NT", "iOS", "Mac OS X"]),
            )
            assert 1 <= len(frames) <= max(driver.MIN_FRAME_CAP, words + 2)
            assert all(f.trust in ("context", "cfi", "frame_pointer", "scan") for f in frames)
            total += len(frames)
    assert "internal error" not in caplog.text
    assert total > 150  # the fuzz does unwind, not just stop at the context frame
