"""STACK WIN: FrameData program strings and FPO records against hand-made x86 stacks."""

from __future__ import annotations

import pytest

from stackwalk.unwind.registers import X86
from stackwalk.unwind.step import UnwindStep
from stackwalk.unwind.win import (
    evaluate_program,
    frame_size,
    program_tokens,
    walk_with_fpo,
    walk_with_stack_win,
)
from symbols.symfile import StackWin
from tests.stackwalk.unwind.helpers import StackBuilder, context, symbols

U32 = (1 << 32) - 1
STANDARD = "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="
RA_SEARCH = "$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + ="


def info(program: str | None = STANDARD, **sizes: int) -> StackWin:
    base = StackWin(
        kind=4 if program is not None else 0,
        address=0x4000,
        size=0x100,
        prologue_size=0,
        epilogue_size=0,
        parameter_size=0,
        saved_register_size=0,
        local_size=0,
        max_stack_size=0,
        program_string=program,
        allocates_base_pointer=False,
    )
    return base._replace(**sizes)


def step(stack: StackBuilder, valid=None, grand_callee: int | None = 0, **registers):
    """A callee knowing exactly `registers` (or `valid`); grand_callee=None marks the
    context frame (nothing called from it)."""
    return UnwindStep(
        X86,
        context("x86", registers, registers.keys() if valid is None else valid),
        stack.region(),
        has_grand_callee=grand_callee is not None,
        grand_callee_parameter_size=grand_callee or 0,
    )


def caller(w: UnwindStep) -> dict[str, int]:
    return w.caller_context().valid_registers()


# -- FrameData -------------------------------------------------------------------------


def test_the_documented_standard_prologue_example():
    # rust-minidump's step.rs example: ebp=16, esp=1600 -> ebp=*16, eip=*20, esp=24.
    stack = StackBuilder(0, 4).fill(4).word(0xFA1EF2E6, 0xB3EF04CE).fill(400)
    w = step(stack, ebp=16, esp=1600)
    assert evaluate_program(info(), w)
    assert caller(w) == {"ebp": 0xFA1EF2E6, "eip": 0xB3EF04CE, "esp": 24}


def test_ra_search_is_esp_plus_the_frame_size():
    # frame size = locals + saved registers + the grand callee's parameter size
    stack = StackBuilder(0x1000, 4).fill(7).word(0x401234).fill(2)
    w = step(stack, grand_callee=8, esp=0x1000, ebp=0x5555)
    assert evaluate_program(info(RA_SEARCH, local_size=0x10, saved_register_size=0x4), w)
    assert caller(w) == {"eip": 0x401234, "esp": 0x1000 + 0x1C + 4, "ebp": 0x5555}


def test_ra_search_uses_ebp_when_the_program_aligns_the_stack():
    stack = StackBuilder(0x1000, 4).fill(3).word(0x401234).fill(2)
    program = "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + = $T1 $esp 16 @ ="
    w = step(stack, esp=0x1000, ebp=0x1008)
    assert evaluate_program(info(program, local_size=0x40), w)
    assert caller(w)["eip"] == 0x401234  # read at ebp + 4, not esp + 0x40
    assert caller(w)["esp"] == 0x1010


def test_cb_variables_are_the_record_sizes():
    program = "$eax .cbParams .cbSavedRegs + .cbLocals + .cbCalleeParams + = $ebx $eax ="
    w = step(StackBuilder(0, 4).fill(1), grand_callee=0x1000, esp=0, ebp=0)
    sizes = {"parameter_size": 1, "saved_register_size": 0x10, "local_size": 0x100}
    assert evaluate_program(info(program, **sizes), w)
    assert caller(w)["ebx"] == 0x1111  # only the six output registers are written


def test_equals_glued_to_the_next_token_is_split():
    assert program_tokens("$T0 $ebp =$eip $T0") == ["$T0", "$ebp", "=", "$eip", "$T0"]
    assert program_tokens("= ==") == ["=", "=", "="]
    stack = StackBuilder(0, 4).fill(4).word(0xAAAA, 0xBBBB).fill(400)
    w = step(stack, ebp=16, esp=1600)
    assert evaluate_program(info("$T0 $ebp =$eip $T0 4 + ^ =$ebp $T0 ^ =$esp $T0 8 + ="), w)
    assert caller(w) == {"ebp": 0xAAAA, "eip": 0xBBBB, "esp": 24}


def test_assigning_undef_removes_an_output_register():
    stack = StackBuilder(0, 4).fill(4).word(0xAAAA, 0xBBBB).fill(400)
    w = step(stack, ebp=16, esp=1600, ebx=3, esi=4)
    assert evaluate_program(info(STANDARD + " $ebx .undef ="), w)
    registers = caller(w)
    # ebx was forwarded as callee-saved and is not cleared (rust-minidump's quirk);
    # the program simply does not write it.
    assert registers["ebx"] == 3
    assert registers["esi"] == 4
    assert "eax" not in registers


def test_forwarded_registers_survive_stack_win():
    # Not clearing implicitly forwarded registers is rust-minidump's (buggy) behaviour.
    stack = StackBuilder(0, 4).fill(4).word(0xAAAA, 0xBBBB).fill(400)
    w = step(stack, ebp=16, esp=1600, edi=9)
    assert evaluate_program(info(), w)
    assert caller(w)["edi"] == 9


@pytest.mark.parametrize(
    "program",
    [
        "$eip $T9 =",  # reading an unset variable
        "$eip 1 0 / =",
        "$eip 1 0 % =",
        "$eip 5 3 @ =",
        "5 6 =",  # assigning to a value
        "$eip =",  # too few operands
        "+",
        "$eip $esp 4096 + ^ =",  # unreadable stack
        "$eip .undef 1 + =",  # undef as an operand
        "$eip 2147483648 =",  # not an i32
        "$eip 0x10 =",
        "$eip ^ =",
    ],
)
def test_failing_programs(program):
    stack = StackBuilder(0x1000, 4).fill(8)
    assert not evaluate_program(info(program), step(stack, esp=0x1000, ebp=0x1000))


def test_esp_and_ebp_are_required():
    stack = StackBuilder(0x1000, 4).fill(8)
    w = step(stack, valid={"esp", "eip"}, esp=0x1000, ebp=0x1000)
    assert not evaluate_program(info(), w)


def test_arithmetic_wraps_at_32_bits():
    stack = StackBuilder(0x1000, 4).fill(8)
    w = step(stack, esp=0x1000, ebp=0x1000)
    program = "$eax 0 1 - = $esi $eax 2 + = $edi -1 = $ebx 2147483647 2147483647 + 2 + ="
    assert evaluate_program(info(program), w)
    assert caller(w)["esi"] == 1
    assert caller(w)["edi"] == U32
    assert caller(w)["ebx"] == 0


def test_ra_search_overflow_fails():
    stack = StackBuilder(0x1000, 4).fill(8)
    w = step(stack, esp=U32 - 3, ebp=0x1000)
    assert not evaluate_program(info(RA_SEARCH, local_size=8), w)


def test_leftover_stack_items_do_not_matter():
    stack = StackBuilder(0, 4).fill(4).word(0xAAAA, 0xBBBB).fill(400)
    w = step(stack, ebp=16, esp=1600)
    assert evaluate_program(info("1 2 3 " + STANDARD + " $T0"), w)


def test_frame_size_wraps_at_32_bits():
    assert frame_size(info(local_size=U32, saved_register_size=2), 0) == 1


# -- FPO -------------------------------------------------------------------------------


def test_fpo_without_base_pointer_keeps_ebp_and_forwards_ebx():
    stack = StackBuilder(0x1000, 4).fill(5).word(0x401000)
    w = step(stack, grand_callee=4, esp=0x1000, ebp=0x2000, ebx=0x77)
    record = info(None, local_size=8, saved_register_size=8)
    assert walk_with_fpo(record, w)
    # eip at esp + locals + saved + grand callee params = esp + 0x14
    assert caller(w) == {"eip": 0x401000, "esp": 0x1018, "ebp": 0x2000, "ebx": 0x77}


def test_fpo_with_base_pointer_reads_the_saved_ebp():
    stack = StackBuilder(0x1000, 4).word(0xEEEE, 0x9999).fill(2).word(0x401000)
    record = info(None, local_size=4, saved_register_size=12)._replace(allocates_base_pointer=True)
    w = step(stack, grand_callee=0, esp=0x1000, ebp=0x2000, ebx=0x77)
    assert walk_with_fpo(record, w)
    # ebp at esp + params + saved - 8 = esp + 4
    assert caller(w) == {"eip": 0x401000, "esp": 0x1014, "ebp": 0x9999, "ebx": 0x77}


def test_fpo_skips_a_leftover_return_address_on_the_context_frame():
    stack = StackBuilder(0x1000, 4).word(0x7C90EB94, 0x401000)
    w = step(stack, grand_callee=None, esp=0x1000, ebp=0x2000, eip=0x7C90EB94)
    assert walk_with_fpo(info(None), w)
    assert caller(w)["eip"] == 0x401000 and caller(w)["esp"] == 0x1008
    # Not on other frames: there the equal value is taken as the return address.
    w = step(stack, grand_callee=0, esp=0x1000, ebp=0x2000, eip=0x7C90EB94)
    assert walk_with_fpo(info(None), w)
    assert caller(w)["eip"] == 0x7C90EB94 and caller(w)["esp"] == 0x1004


@pytest.mark.parametrize(
    ("registers", "valid"),
    [
        ({"esp": 0x1100, "ebp": 0}, None),  # return address outside the stack
        ({"esp": 0x1000, "ebp": 0}, {"esp"}),  # ebp unknown (not allocating)
        ({"ebp": 0}, {"ebp"}),  # esp unknown
    ],
)
def test_fpo_failures(registers, valid):
    stack = StackBuilder(0x1000, 4).fill(4)
    assert not walk_with_fpo(info(None), step(stack, valid=valid, **registers))


def test_stack_win_dispatches_on_the_record_kind():
    stack = StackBuilder(0, 4).fill(4).word(0xAAAA, 0xBBBB).fill(400)
    assert walk_with_stack_win(info(), step(stack, ebp=16, esp=1600))
    w = step(stack, ebp=16, esp=0)
    assert walk_with_stack_win(info(None), w) and caller(w)["eip"] == 0
    assert not walk_with_stack_win(info()._replace(kind=2), step(stack, esp=0))


def test_records_from_a_parsed_symbol_file():
    # Two lines of test_app.sym: a standard frame and an FPO-style raSearch program.
    syms = symbols(
        """
MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test_app.pdb
STACK WIN 4 4240 41 3 0 18 0 0 0 1 """
        + STANDARD
        + """ $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =
STACK WIN 4 42ae 18 7 0 4 0 0 0 1 """
        + RA_SEARCH
    )
    stack = StackBuilder(0x12FE00, 4).fill(2).word(0x12FF00, 0x401111).fill(4)
    record = syms.stack_win(0x4250)
    w = step(stack, esp=0x12FE00, ebp=0x12FE08)
    assert record is not None and walk_with_stack_win(record, w)
    assert caller(w) == {"eip": 0x401111, "esp": 0x12FE10, "ebp": 0x12FF00}
    record = syms.stack_win(0x42B0)
    w = step(stack, esp=0x12FE00, ebp=0x5)
    assert record is not None and walk_with_stack_win(record, w)
    assert caller(w) == {"eip": 0, "esp": 0x12FE04, "ebp": 0x5}
