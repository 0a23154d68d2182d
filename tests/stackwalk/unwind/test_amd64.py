"""amd64 unwinding on hand-made stacks: CFI, the checked rbp chain and scanning."""

from __future__ import annotations

import pytest

from stackwalk.unwind.amd64 import is_non_canonical
from tests.stackwalk.unwind.helpers import (
    StackBuilder,
    SymbolLookups,
    modules,
    summary,
    symbols,
    walk,
)

MODULES = modules(("app", 0x400000, 0x10000), ("libc.so", 0x7F0000000000, 0x100000))
LIBC = 0x7F0000000000
STACK = 0x7FFE0000


def fp_chain_stack() -> tuple[StackBuilder, int]:
    s = StackBuilder(STACK, 8).fill(2)
    record1 = s.here
    s.word(record1 + 0x30, 0x400200)
    s.fill(4)
    record2 = s.here
    s.word(record2 + 16, LIBC + 0x1000)
    s.word(0, 0).fill(2)  # an outermost record: saved rbp 0 ends the chain
    return s, record1


def test_rbp_chain_outside_windows():
    s, record1 = fp_chain_stack()
    frames = walk(
        "amd64", {"rip": 0x400100, "rsp": STACK, "rbp": record1}, s, MODULES, system_os="Linux"
    )
    assert summary(frames) == [
        ("context", "app", 0x100),
        ("frame_pointer", "app", 0x1FF),
        ("frame_pointer", "libc.so", 0xFFF),
    ]
    # The outermost record (saved rbp 0, return address 0) is refused by the chain
    # checks, and scanning finds nothing after it.
    assert frames[1].context.valid_registers() == {
        "rip": 0x400200,
        "rsp": record1 + 16,
        "rbp": record1 + 0x30,
    }


@pytest.mark.parametrize("system_os", ["Windows NT", "windows"])
def test_no_rbp_chain_on_windows(system_os):
    # rbp may point into the middle of a Windows x64 frame: rust-minidump 0.25 scans.
    s, record1 = fp_chain_stack()
    frames = walk(
        "amd64", {"rip": 0x400100, "rsp": STACK, "rbp": record1}, s, MODULES, system_os=system_os
    )
    assert [f.trust for f in frames] == ["context", "scan", "scan"]


def test_incoherent_frame_records_are_rejected():
    # Saved rbp below the caller's stack pointer: not a frame chain, so scan instead.
    s = StackBuilder(STACK, 8).word(STACK - 8, 0x400200).fill(4)
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": STACK}, s, MODULES)
    assert summary(frames)[1][0] == "scan"
    # Saved rbp outside the stack memory.
    s = StackBuilder(STACK, 8).word(STACK + 0x10000, 0x400200).fill(4)
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": STACK}, s, MODULES)
    assert summary(frames)[1][0] == "scan"
    # Non-canonical return address: both strategies refuse it.
    s = StackBuilder(STACK, 8).word(STACK + 0x10, 0x0000_8000_0040_0200).fill(4)
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": STACK}, s, MODULES)
    assert len(frames) == 1


@pytest.mark.parametrize(
    ("address", "non_canonical"),
    [
        (0x0000_7FFF_FFFF_FFFF, False),
        (0x0000_8000_0000_0000, True),
        (0xFFFF_7FFF_FFFF_FFFF, True),
        (0xFFFF_8000_0000_0000, False),
        (0, False),
    ],
)
def test_canonical_addresses(address, non_canonical):
    assert is_non_canonical(address) is non_canonical


def test_cfi_with_callee_saved_registers():
    syms = symbols(
        """
MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 app
STACK CFI INIT 100 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 110 .cfa: $rsp 24 + $rbx: .cfa -24 + ^ $rbp: .cfa -16 + ^
"""
    )
    s = StackBuilder(STACK, 8).word(0xB0B0, 0xB9B9, LIBC + 0x2000).fill(2)
    frames = walk(
        "amd64",
        {"rip": 0x400120, "rsp": STACK, "rbp": 1, "rbx": 2, "r12": 3, "rax": 4},
        s,
        MODULES,
        SymbolLookups({"app": syms}),
    )
    assert summary(frames)[1] == ("cfi", "libc.so", 0x1FFF)
    assert frames[1].context.valid_registers() == {
        "rip": LIBC + 0x2000,
        "rsp": STACK + 24,
        "rbx": 0xB0B0,
        "rbp": 0xB9B9,
        "r12": 3,
        "r13": 0,
        "r14": 0,
        "r15": 0,
    }


def test_scan_rejects_non_canonical_candidates():
    s = StackBuilder(STACK, 8).word(0x0000_8000_0040_0200, LIBC + 0x10).fill(2)
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": 0}, s, MODULES)
    assert summary(frames)[1] == ("scan", "libc.so", 0xF)


def test_scan_recovers_rbp_only_when_the_callee_rbp_points_at_the_saved_one():
    s = StackBuilder(STACK, 8).word(0x11)
    saved = s.here
    s.word(STACK + 0x40, 0x400400).fill(12)
    # rbp does not point at the saved slot; it is kept (no memory check) as it is above
    # the caller's stack pointer.
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": STACK + 0x1000}, s, MODULES)
    assert frames[1].context.get("rbp") == STACK + 0x1000
    # rbp points at the saved slot, but that makes it a frame pointer: the chain wins.
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": saved}, s, MODULES)
    assert frames[1].trust == "frame_pointer"
    # Below the caller's stack pointer: dropped.
    frames = walk("amd64", {"rip": 0x400100, "rsp": STACK, "rbp": STACK}, s, MODULES, valid=None)
    assert frames[1].trust == "scan" and frames[1].context.get("rbp") is None


def test_crash_client_cfi_row(testdata_dir):
    # A real rule from crash-client.sym: `.cfa: $rbp 16 +` with registers saved below it.
    syms = symbols(
        """
MODULE mac x86_64 509C0610949836F7B70BD88BCF03E5400 crash-client
STACK CFI INIT dd0 150 .cfa: $rbp 16 + $rbp: .cfa -16 + ^ .ra: .cfa -8 + ^
"""
    )
    s = StackBuilder(STACK, 8).fill(2)
    rbp = s.here
    s.word(STACK + 0x80, LIBC + 0x3000).fill(20)
    frames = walk(
        "amd64",
        {"rip": 0x400E00, "rsp": STACK, "rbp": rbp},
        s,
        MODULES,
        SymbolLookups({"app": syms}),
    )
    assert summary(frames)[1] == ("cfi", "libc.so", 0x2FFF)
    assert frames[1].context.get("rbp") == STACK + 0x80
