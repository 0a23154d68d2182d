"""arm and arm64 unwinding on hand-made stacks."""

from __future__ import annotations

import pytest

from stackwalk.unwind.arm64 import pointer_auth_mask
from tests.stackwalk.unwind.helpers import (
    StackBuilder,
    SymbolLookups,
    modules,
    summary,
    symbols,
    walk,
)

MODULES = modules(("app", 0x400000, 0x10000), ("lib", 0x500000, 0x10000))
STACK = 0x10000
LEAF64 = "STACK CFI INIT 0 10000 .cfa: sp .ra: x30"
LEAF32 = "STACK CFI INIT 0 10000 .cfa: sp .ra: r14"


def with_cfi(text: str, cpu: str = "arm64") -> SymbolLookups:
    syms = symbols(f"MODULE Linux {cpu} 0123456789ABCDEF0123456789ABCDEF0 m\n{text}")
    return SymbolLookups({"app": syms, "lib": syms})


# -- arm64 -----------------------------------------------------------------------------


def test_arm64_frame_records_with_pointer_authentication_bits():
    s = StackBuilder(STACK, 8).fill(2)
    record1 = s.here
    s.fill(2).fill(4)
    record2 = s.here
    s.word(0, 0).fill(2)
    signed = 0x002A << 48
    s.data[record1 - STACK : record1 - STACK + 16] = (record2 | signed).to_bytes(8, "little") + (
        0x500104 | signed
    ).to_bytes(8, "little")
    frames = walk("arm64", {"pc": 0x400010, "sp": STACK, "fp": record1}, s, MODULES)
    assert summary(frames) == [("context", "app", 0x10), ("frame_pointer", "lib", 0x100)]
    caller = frames[1].context
    assert (caller.registers["pc"], caller.registers["fp"]) == (0x500104, record2)
    assert caller.registers["sp"] == record1 + 16
    # rust-minidump marks the recovered fp valid as `x29`: later lookups accept it, but
    # it is not printed among the frame's registers (nor forwarded by CFI as `fp`).
    assert caller.valid == frozenset({"pc", "sp", "x29"})
    assert caller.valid_registers() == {"pc": 0x500104, "sp": record1 + 16}


def test_arm64_cfi_after_a_frame_pointer_frame_does_not_forward_fp():
    rules = "STACK CFI INIT 0 10000 .cfa: sp 16 + .ra: .cfa -8 + ^ x19: x29"
    s = StackBuilder(STACK, 8).fill(2)
    record = s.here
    s.word(record + 32, 0x500104)  # frame record: caller fp, return address
    s.word(0x77, 0x500204).fill(4)  # the CFI frame's saved slot and return address
    frames = walk(
        "arm64",
        {"pc": 0x600010, "sp": STACK, "fp": record},
        s,
        modules(("app", 0x400000, 0x10000), ("lib", 0x500000, 0x10000), ("x", 0x600000, 0x100)),
        with_cfi(rules),
    )
    assert [f.trust for f in frames] == ["context", "frame_pointer", "cfi"]
    caller = frames[2].context
    assert "fp" not in caller.valid  # not forwarded: the callee had it as `x29`
    assert caller.valid_registers()["x19"] == record + 32  # but readable through x29


def test_arm64_zero_fp_falls_back_to_scanning():
    s = StackBuilder(STACK, 8).word(0x123, 0x500104).fill(2)
    frames = walk("arm64", {"pc": 0x400010, "sp": STACK, "fp": 0}, s, MODULES)
    assert summary(frames) == [("context", "app", 0x10), ("scan", "lib", 0x100)]
    assert frames[1].context.valid_registers() == {"pc": 0x500104, "sp": STACK + 16}


@pytest.mark.parametrize("pc", [0xFFF, 0x0010_0000_0000_0000])
def test_arm64_implausible_frame_record_pc_is_refused(pc):
    # 0x0010... survives the pointer-auth mask only when a module lies that high.
    mods = modules(("app", 0x400000, 0x10000), ("high", 0x000F_FFFF_FFFF_0000, 0x20000))
    s = StackBuilder(STACK, 8).word(0, pc).fill(2)
    frames = walk("arm64", {"pc": 0x400010, "sp": STACK, "fp": STACK}, s, mods)
    assert len(frames) == 1


def test_arm64_leaf_context_frame_may_keep_the_stack_pointer():
    s = StackBuilder(STACK, 8).fill(4)
    frames = walk(
        "arm64",
        {"pc": 0x400010, "sp": STACK, "lr": 0x500104, "fp": 0},
        s,
        MODULES,
        with_cfi(LEAF64),
    )
    # Only the context frame gets that allowance: the second leaf step is refused.
    assert summary(frames) == [("context", "app", 0x10), ("cfi", "lib", 0x100)]


def test_arm64_cfi_results_are_stripped_of_pointer_authentication():
    rules = "STACK CFI INIT 0 10000 .cfa: sp 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^"
    s = StackBuilder(STACK, 8).word(0x7F00_0000_1234 | 0x55 << 56, 0x500104 | 0x3 << 52)
    s.fill(2)
    frames = walk("arm64", {"pc": 0x400010, "sp": STACK, "fp": 0}, s, MODULES, with_cfi(rules))
    assert frames[1].trust == "cfi"
    assert frames[1].context.get("pc") == 0x500104
    assert frames[1].context.get("fp") == 0x7F00_0000_1234
    assert frames[1].instruction == 0x500100


def test_pointer_auth_mask_follows_the_highest_module():
    assert pointer_auth_mask(MODULES) == (1 << 47) - 1
    assert pointer_auth_mask(modules(("m", 1 << 47, 0x1000))) == (1 << 48) - 1
    assert pointer_auth_mask(modules(("m", (1 << 64) - 0x1000, 0x2000))) == (1 << 64) - 1
    assert pointer_auth_mask(modules()) == (1 << 47) - 1


def test_arm64_scan_checks_the_address_range():
    s = StackBuilder(STACK, 8).word(0x0010_0000_0050_0104, 0x500104).fill(2)
    frames = walk("arm64", {"pc": 0x400010, "sp": STACK, "fp": 0}, s, MODULES)
    assert summary(frames)[1] == ("scan", "lib", 0x100)


# -- arm -------------------------------------------------------------------------------


def arm_record_stack() -> tuple[StackBuilder, int]:
    s = StackBuilder(STACK, 4).fill(2)
    record = s.here
    s.word(0, 0x500102).fill(2)
    return s, record


def test_arm_frame_pointer_only_on_ios():
    s, record = arm_record_stack()
    frames = walk("arm", {"pc": 0x400010, "sp": STACK, "fp": record}, s, MODULES, system_os="iOS")
    assert summary(frames) == [("context", "app", 0x10), ("frame_pointer", "lib", 0x100)]
    assert frames[1].context.valid == frozenset({"r15", "r13", "r11"})  # rust's spelling
    assert frames[1].context.registers == {"pc": 0x500102, "fp": 0, "sp": record + 8}
    # Elsewhere r11 is a general register: scanning finds the same return address.
    frames = walk("arm", {"pc": 0x400010, "sp": STACK, "fp": record}, s, MODULES, system_os="Linux")
    assert summary(frames) == [("context", "app", 0x10), ("scan", "lib", 0x100)]


def test_arm_zero_fp_on_ios_ends_the_walk():
    s, _ = arm_record_stack()
    frames = walk("arm", {"pc": 0x400010, "sp": STACK, "fp": 0}, s, MODULES, system_os="iOS")
    assert len(frames) == 1


def test_arm_leaf_step_and_register_aliases():
    s = StackBuilder(STACK, 4).fill(4)
    frames = walk(
        "arm",
        {"pc": 0x400010, "sp": STACK, "lr": 0x500102, "r11": 0, "r4": 9},
        s,
        MODULES,
        with_cfi(LEAF32, "arm"),
    )
    assert summary(frames) == [("context", "app", 0x10), ("cfi", "lib", 0x100)]
    # Callee-saved r4-r10 and fp are forwarded; r0-r3, r12 and lr are not.
    caller = frames[1].context.valid_registers()
    assert caller["r4"] == 9 and "r0" not in caller and "lr" not in caller


def test_arm_scan_uses_only_the_symbol_check():
    s = StackBuilder(STACK, 4).word(1, 0x400000, 0x500102).fill(2)
    frames = walk("arm", {"pc": 0x400010, "sp": STACK, "fp": 0}, s, MODULES)
    assert summary(frames)[1] == ("scan", "lib", 0x100)
