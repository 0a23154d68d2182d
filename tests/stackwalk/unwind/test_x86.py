"""x86 unwinding on hand-made stacks: STACK WIN, STACK CFI, ebp chains and scanning."""

from __future__ import annotations

from stackwalk.unwind.scan import DEFAULT_WINDOW, EXTENDED_WINDOW
from tests.stackwalk.unwind.helpers import (
    StackBuilder,
    SymbolLookups,
    modules,
    summary,
    symbols,
    walk,
)

MODULES = modules(("app.exe", 0x400000, 0x10000), ("lib.dll", 0x500000, 0x10000))
STACK = 0x80000


def test_ebp_chain():
    s = StackBuilder(STACK, 4).fill(2)
    frame1 = s.mark("frame1")
    s.word(0, 0)  # patched below: saved ebp, return address
    s.fill(3)
    frame2 = s.mark("frame2")
    s.word(0, 0x501000).fill(2)
    s.data[frame1 - STACK : frame1 - STACK + 8] = frame2.to_bytes(4, "little") + (
        0x400200
    ).to_bytes(4, "little")
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": frame1}, s, MODULES)
    assert summary(frames) == [
        ("context", "app.exe", 0x100),
        ("frame_pointer", "app.exe", 0x1FF),  # return address - 1
        ("frame_pointer", "lib.dll", 0xFFF),
    ]
    caller = frames[1].context
    assert caller.valid_registers() == {"eip": 0x400200, "esp": frame1 + 8, "ebp": frame2}
    # The last frame's saved ebp is 0: reading there fails, and nothing is left to scan.
    assert frames[2].context.get("ebp") == 0


def test_ebp_chain_is_not_checked_for_plausibility():
    # x86 takes whatever the frame record says (rust-minidump follows Breakpad here);
    # only the end-of-stack checks apply.
    s = StackBuilder(STACK, 4).word(0xDEAD0000, 0x12345678).fill(4)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": STACK}, s, MODULES)
    assert summary(frames)[1] == ("frame_pointer", None, 0x12345677)


def test_scanning_finds_the_first_plausible_return_address():
    s = StackBuilder(STACK, 4)
    # null, no module, no module, a module's base (address - 1 is outside it)
    s.word(0, 0x1234, 0x600000, 0x400000, 0x520001)
    s.word(0x410000)  # a module's end: address - 1 is inside (call to a noreturn function)
    s.fill(3)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": 0}, s, MODULES)
    assert summary(frames) == [("context", "app.exe", 0x100), ("scan", "app.exe", 0xFFFF)]
    assert frames[1].context.get("esp") == STACK + 6 * 4


def test_scan_candidates_must_be_in_a_function_when_symbols_exist():
    syms = symbols(
        """
MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 app.pdb
FUNC 1000 100 0 main
FUNC 2000 10 0 noreturn_caller
"""
    )
    lookups = SymbolLookups({"app.exe": syms})
    s = StackBuilder(STACK, 4)
    s.word(0x400500)  # app.exe has symbols and no function covers 0x4ff: rejected
    s.word(0x402010)  # one past noreturn_caller's end: address - 1 is inside, accepted
    s.fill(3)
    frames = walk("x86", {"eip": 0x401000, "esp": STACK, "ebp": 0}, s, MODULES, lookups)
    assert summary(frames)[1] == ("scan", "app.exe", 0x200F)
    assert "app.exe" in lookups.asked


def test_scan_accepts_any_address_in_a_module_without_symbols_and_asks_for_them():
    lookups = SymbolLookups()
    s = StackBuilder(STACK, 4).word(0x500123).fill(2)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": 0}, s, MODULES, lookups)
    assert summary(frames)[1] == ("scan", "lib.dll", 0x122)
    # The probe of the candidate counts as a symbol lookup for lib.dll.
    assert "lib.dll" in lookups.asked


def scan_depth(words_before: int, first_frame_by_scan: bool) -> int:
    """Number of frames found when the wanted return address is `words_before` words up
    from the stack pointer of the frame being scanned from."""
    s = StackBuilder(STACK, 4)
    if first_frame_by_scan:
        s.word(0x400500)  # frame 1 by scanning from the context frame
    s.fill(words_before, 7).word(0x500500).fill(2)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": 0}, s, MODULES)
    return len(frames)


def test_scan_window_is_wider_from_the_context_frame():
    assert scan_depth(EXTENDED_WINDOW - 1, first_frame_by_scan=False) == 2
    assert scan_depth(EXTENDED_WINDOW, first_frame_by_scan=False) == 1
    assert scan_depth(DEFAULT_WINDOW - 1, first_frame_by_scan=True) == 3
    assert scan_depth(DEFAULT_WINDOW, first_frame_by_scan=True) == 2


def test_scan_recovers_ebp_from_a_standard_frame_record():
    s = StackBuilder(STACK, 4).word(0x11)
    record = s.here
    s.word(STACK + 0x40, 0x400400).fill(20)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": 0}, s, MODULES)
    assert frames[1].context.valid_registers() == {
        "eip": 0x400400,
        "esp": record + 8,
        "ebp": STACK + 0x40,
    }


def test_scan_keeps_a_callee_ebp_that_is_above_the_caller_stack():
    s = StackBuilder(STACK, 4).word(0x11, 0x400400).fill(3)
    last_word = s.here - 4  # frame-pointer unwinding fails there (ebp + 4 is unreadable)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": last_word}, s, MODULES)
    assert summary(frames)[1] == ("scan", "app.exe", 0x3FF)
    assert frames[1].context.get("ebp") == last_word
    # Outside the stack memory it is dropped.
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": STACK + 0x1000}, s, MODULES)
    assert frames[1].context.get("ebp") is None


def test_stack_win_program_uses_the_grand_callee_parameter_size():
    # Frame 0 is in a function whose STACK WIN record says it takes 8 bytes of
    # parameters; frame 1's raSearch program must skip them to find its return address.
    syms = symbols(
        """
MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 app.pdb
FUNC 1000 100 0 leaf
FUNC 2000 100 0 middle
STACK WIN 4 1000 100 0 0 8 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =
STACK WIN 4 2000 100 0 0 0 0 4 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =
"""
    )
    lookups = SymbolLookups({"app.exe": syms})
    s = StackBuilder(STACK, 4)
    s.word(0x11)
    ebp = s.mark("ebp")
    s.word(0x99, 0x402010)  # saved ebp (any), return into middle
    s.word(0xAAAA, 0xBBBB)  # leaf's 8 bytes of parameters
    s.word(0xCCCC)  # middle's 4 bytes of locals
    s.word(0x501000).fill(2)  # middle's return address
    frames = walk("x86", {"eip": 0x401010, "esp": STACK, "ebp": ebp}, s, MODULES, lookups)
    assert summary(frames) == [
        ("context", "app.exe", 0x1010),
        ("cfi", "app.exe", 0x200F),
        ("cfi", "lib.dll", 0xFFF),
    ]
    # STACK WIN keeps the forwarded callee-saved registers (rust-minidump's behaviour).
    assert set(frames[1].context.valid_registers()) == {"eip", "esp", "ebp", "ebx", "esi", "edi"}


def test_stack_cfi_on_x86():
    syms = symbols(
        """
MODULE Linux x86 0123456789ABCDEF0123456789ABCDEF1 app
STACK CFI INIT 100 20 .cfa: $esp 8 + .ra: .cfa -4 + ^ $ebx: .cfa -8 + ^
"""
    )
    s = StackBuilder(STACK, 4).word(0x77, 0x400400).fill(2)
    frames = walk(
        "x86",
        {"eip": 0x400110, "esp": STACK, "ebp": 0},
        s,
        MODULES,
        SymbolLookups({"app.exe": syms}),
    )
    assert summary(frames)[1] == ("cfi", "app.exe", 0x3FF)
    assert frames[1].context.get("ebx") == 0x77
    assert frames[1].context.get("eax") is None


def test_failed_stack_win_falls_back_to_cfi_then_frame_pointer():
    syms = symbols(
        """
MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 app.pdb
STACK WIN 4 100 20 0 0 0 0 0 0 1 $eip $T9 =
STACK CFI INIT 100 20 .cfa: $esp 8 + .ra: .cfa -4 + ^
STACK WIN 4 200 20 0 0 0 0 0 0 1 $eip 1 0 / =
"""
    )
    lookups = SymbolLookups({"app.exe": syms})
    s = StackBuilder(STACK, 4).word(0x77, 0x400210, 0, 0x500500).fill(2)
    frames = walk("x86", {"eip": 0x400110, "esp": STACK, "ebp": STACK + 8}, s, MODULES, lookups)
    assert [f.trust for f in frames] == ["context", "cfi", "frame_pointer"]


def test_the_walk_ends_when_the_stack_pointer_does_not_grow():
    syms = symbols(
        """
MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 app.pdb
STACK CFI INIT 0 10000 .cfa: $esp .ra: 4198656
"""
    )
    s = StackBuilder(STACK, 4).fill(4)
    frames = walk(
        "x86",
        {"eip": 0x400110, "esp": STACK, "ebp": 0},
        s,
        MODULES,
        SymbolLookups({"app.exe": syms}),
    )
    assert len(frames) == 1


def test_a_cycle_of_frame_pointers_terminates():
    # ebp points at itself: every step would produce the same frame.
    s = StackBuilder(STACK, 4).word(STACK, 0x400400).fill(2)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK - 16, "ebp": STACK}, s, MODULES)
    assert [f.trust for f in frames] == ["context", "frame_pointer"]


def test_a_null_page_return_address_ends_the_walk():
    s = StackBuilder(STACK, 4).word(0, 0xFFF).fill(2)
    frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": STACK}, s, MODULES)
    assert len(frames) == 1


def test_no_stack_memory_gives_the_context_frame_only():
    for stack in (None, StackBuilder(STACK, 4)):
        frames = walk("x86", {"eip": 0x400100, "esp": STACK, "ebp": STACK}, stack, MODULES)
        assert summary(frames) == [("context", "app.exe", 0x100)]
        assert frames[0].context.valid is None


def test_unknown_registers_stop_strategies_that_need_them():
    s = StackBuilder(STACK, 4).word(STACK + 8, 0x400400).word(0, 0x500500).fill(2)
    # A caller context that knows neither ebp nor esp: nothing can be unwound.
    frames = walk("x86", {"eip": 0x400100}, s, MODULES, valid={"eip"})
    assert len(frames) == 1
