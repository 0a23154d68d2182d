"""STACK CFI rule parsing and evaluation against hand-made stacks."""

from __future__ import annotations

import time

import pytest

from stackwalk.unwind.cfi import evaluate, parse_rules, walk_with_cfi
from stackwalk.unwind.registers import AMD64, ARM64, X86
from stackwalk.unwind.step import UnwindStep
from symbols.symfile import CfiRules
from tests.stackwalk.unwind.helpers import StackBuilder, context, symbols

U64 = (1 << 64) - 1


def rules(init: str, *rows: str) -> CfiRules:
    return CfiRules(0x1000, 0x100, init, tuple((0x1000 + i + 1, r) for i, r in enumerate(rows)))


def amd64_walker(stack: StackBuilder, **registers: int) -> UnwindStep:
    return UnwindStep(AMD64, context("amd64", registers), stack.region())


def amd64_stack() -> StackBuilder:
    s = StackBuilder(0x7FFF0000, 8)
    s.word(0x11, 0x22, 0x33, 0x44, 0x55, 0x66)
    return s


# -- parsing ---------------------------------------------------------------------------


def test_parse_rules_keeps_the_last_rule_per_register():
    out: dict[str, tuple] = {}
    assert parse_rules(".cfa: $rsp 8 + .ra: .cfa -8 + ^", out)
    assert parse_rules(".cfa: $rsp 16 + $rbx: .cfa -16 + ^", out)
    # Literals come parsed (as unsigned 64-bit values).
    assert out == {
        ".cfa": ("$rsp", 16, "+"),
        ".ra": (".cfa", U64 - 7, "+", "^"),
        "$rbx": (".cfa", U64 - 15, "+", "^"),
    }
    assert list(out) == [".cfa", ".ra", "$rbx"]  # the order registers are set in


def test_a_register_named_twice_in_one_text_keeps_its_place_and_its_last_rule():
    out: dict[str, tuple] = {}
    assert parse_rules(".cfa: 1 .ra: 2 .cfa: 3", out)
    assert list(out.items()) == [(".cfa", (3,)), (".ra", (2,))]


def test_parse_rules_accepts_arm_style_bare_register_names():
    out: dict[str, tuple] = {}
    assert parse_rules(".cfa: sp 16 + .ra: x30 x29: .cfa -16 + ^", out)
    assert out["$x29"] == (".cfa", U64 - 15, "+", "^")
    assert out[".ra"] == ("x30",)


def test_a_dollar_cfa_register_is_not_the_cfa():
    out: dict[str, tuple] = {}
    assert parse_rules(".cfa: 1 $.cfa: 2", out)
    assert out == {".cfa": (1,), "$.cfa": (2,)}


@pytest.mark.parametrize(
    "text",
    [
        "",  # nothing at all
        "$rsp 8 + .cfa: 1",  # expression before any register
        ".cfa: .ra: .cfa 8 + ^",  # .cfa has no expression
        ".cfa: $rsp 8 + .ra:",  # last register has no expression
    ],
)
def test_malformed_rules_are_rejected(text):
    assert not parse_rules(text, {})


# -- evaluation ------------------------------------------------------------------------


def test_the_documented_incremental_example():
    # rust-minidump's step.rs example: INIT plus two rows, all applying.
    stack = amd64_stack()
    base = stack.base
    step = amd64_walker(stack, rsp=base)
    cfi = rules(
        ".cfa: $rsp 8 + .ra: .cfa -8 + ^",
        ".cfa: $rsp 16 + $rax: .cfa -16 + ^",
        ".cfa: $rsp 24 +",
    )
    assert walk_with_cfi(cfi, step)
    caller = step.caller_context()
    assert caller.get("rsp") == base + 24
    assert caller.get("rip") == 0x33  # *(cfa - 8)
    assert caller.get("rax") == 0x22  # *(cfa - 16)


def test_rows_not_passed_in_do_not_apply():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=stack.base)
    assert walk_with_cfi(rules(".cfa: $rsp 8 + .ra: .cfa -8 + ^"), step)
    caller = step.caller_context()
    assert (caller.get("rsp"), caller.get("rip"), caller.get("rax")) == (stack.base + 8, 0x11, None)


def test_callee_saved_registers_are_forwarded_unless_a_rule_fails():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=stack.base, rbx=7, r12=8, rax=9)
    cfi = rules(".cfa: $rsp 8 + .ra: .cfa -8 + ^ $r12: 1 0 /")
    assert walk_with_cfi(cfi, step)
    caller = step.caller_context()
    assert caller.get("rbx") == 7  # forwarded
    assert caller.get("r12") is None  # its rule divided by zero: cleared
    assert caller.get("rax") is None  # not callee-saved


def test_undef_clears_a_register_without_failing_the_frame():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=stack.base, rbp=5)
    assert walk_with_cfi(rules(".cfa: $rsp 8 + .ra: .cfa -8 + ^ $rbp: .undef"), step)
    assert step.caller_context().get("rbp") is None


@pytest.mark.parametrize(
    "init",
    [
        ".ra: .cfa -8 + ^",  # no .cfa
        ".cfa: $rsp 8 +",  # no .ra
        ".cfa: .cfa 8 + .ra: 5",  # .cfa computed from itself
        ".cfa: $rsp 0 / .ra: 5",  # division by zero
        ".cfa: $rsp 8 + .ra: .undef",
        ".cfa: $rsp 8 + .ra: 0x10",  # not a literal, not a register
        ".cfa: $rsp 8 + .ra: .cfa 4096 + ^",  # outside the stack memory
        ".cfa: $rsp 8 + .ra: 1 2",  # two values left
        ".cfa: $rsp 8 + .ra: +",  # operator without operands
        ".cfa: $rsp 8 + .ra: ^",
        ".cfa: $rsp 8 + .ra: $xmm0",  # no such register
        ".cfa: $rsp 8 + .ra: $rax",  # a register the callee does not know
        ".cfa: $rsp 3 @ .ra: 5",  # alignment to a non power of two
        "garbage",
    ],
)
def test_failing_cfa_or_ra_fails_the_whole_step(init):
    stack = amd64_stack()
    step = UnwindStep(AMD64, context("amd64", {"rsp": stack.base}, {"rsp"}), stack.region())
    assert not walk_with_cfi(rules(init), step)


def test_a_malformed_row_fails_the_whole_step():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=stack.base)
    assert not walk_with_cfi(rules(".cfa: $rsp 8 + .ra: .cfa -8 + ^", "oops"), step)


def test_operators_literals_and_register_tokens():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=0x1000, rbp=0x20)
    assert evaluate(["$rsp", "16", "+"], step, None) == 0x1010
    assert evaluate(["$rbp", "-8", "+"], step, None) == 0x18
    assert evaluate(["0", "8", "-"], step, None) == U64 - 7  # wrapping
    assert evaluate(["$rsp", "4096", "@"], step, None) == 0x1000
    assert evaluate(["$rsp", "7", "%"], step, None) == 0x1000 % 7
    assert evaluate(["$rsp", "3", "*"], step, None) == 0x3000
    assert evaluate([".cfa", "2", "/"], step, 0x40) == 0x20
    assert evaluate(["rbp"], step, None) == 0x20  # bare name
    assert evaluate(["foo$rbp"], step, None) == 0x20  # text before `$` is ignored
    assert evaluate(["$"], step, None) is None
    assert evaluate([str(stack.base), "^"], step, None) == 0x11
    assert evaluate([], step, None) is None


def test_x86_results_must_fit_a_32_bit_register():
    # u64 arithmetic that wraps below zero cannot become a 32-bit stack pointer.
    stack = StackBuilder(0x1000, 4).word(0x401000)
    step = UnwindStep(X86, context("x86", {"esp": 0}), stack.region())
    assert not walk_with_cfi(rules(".cfa: $esp 4 - .ra: 0x401000"), step)
    step = UnwindStep(X86, context("x86", {"esp": 0x1004}), stack.region())
    assert walk_with_cfi(rules(".cfa: $esp 4 + .ra: .cfa -8 + ^"), step)
    assert step.caller_context().get("eip") == 0x401000


def test_deref_reads_one_register_width():
    stack = StackBuilder(0x2000, 4).word(0xDDCCBBAA, 0x44332211)
    step = UnwindStep(X86, context("x86", {"esp": 0x2000}), stack.region())
    assert evaluate(["$esp", "^"], step, None) == 0xDDCCBBAA
    assert evaluate(["$esp", "2", "+", "^"], step, None) == 0x2211DDCC  # unaligned
    assert evaluate(["$esp", "4", "+", "^"], step, None) == 0x44332211
    assert evaluate(["$esp", "5", "+", "^"], step, None) is None  # runs past the end
    assert evaluate(["$esp", "1", "-", "^"], step, None) is None  # before the start


def test_arm64_aliases_read_and_write_the_same_register():
    stack = StackBuilder(0x8000, 8).word(0x1111, 0x2222)
    step = UnwindStep(ARM64, context("arm64", {"sp": 0x8000, "fp": 0x8000}), stack.region())
    cfi = rules(".cfa: x29 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^ x19: 5")
    assert walk_with_cfi(cfi, step)
    caller = step.caller_context()
    assert caller.get("fp") == 0x1111
    assert caller.get("pc") == 0x2222
    assert caller.get("sp") == 0x8010
    assert caller.get("x19") == 5


def test_clearing_uses_the_name_as_written():
    # rust-minidump clears validity by the rule's own name: `x29: .undef` does not clear
    # the forwarded `fp`, while `fp: .undef` does.
    stack = StackBuilder(0x8000, 8).word(0x1111, 0x2222)
    callee = context("arm64", {"sp": 0x8000, "fp": 0x9000})
    step = UnwindStep(ARM64, callee, stack.region())
    assert walk_with_cfi(rules(".cfa: sp 16 + .ra: .cfa -8 + ^ x29: .undef"), step)
    assert step.caller_context().get("fp") == 0x9000
    step = UnwindStep(ARM64, callee, stack.region())
    assert walk_with_cfi(rules(".cfa: sp 16 + .ra: .cfa -8 + ^ fp: .undef"), step)
    assert step.caller_context().get("fp") is None


def test_a_value_too_wide_for_a_register_keeps_the_forwarded_value():
    stack = StackBuilder(0x1000, 4).word(0x401000)
    step = UnwindStep(X86, context("x86", {"esp": 0x1000, "ebx": 3}), stack.region())
    assert walk_with_cfi(rules(".cfa: $esp 4 + .ra: .cfa -4 + ^ $ebx: 0 1 -"), step)
    assert step.caller_context().get("ebx") == 3


def test_whitespace_other_than_ascii_separators_is_part_of_a_token():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=stack.base)
    assert not walk_with_cfi(rules(".cfa: $rsp 8\x0b+ .ra: 5"), step)


def test_long_expressions_evaluate_in_linear_time():
    stack = amd64_stack()
    step = amd64_walker(stack, rsp=stack.base)
    n = 200_000
    deep = ["1"] * n + ["+"] * (n - 1)  # a stack n values deep
    chain = ["1"] + ["1", "+"] * n
    start = time.perf_counter()
    assert evaluate(deep, step, None) == n
    assert evaluate(chain, step, None) == n + 1
    assert time.perf_counter() - start < 5
    # The same through the text path (parsing included).
    text = ".cfa: " + " ".join(deep) + " .ra: 5"
    assert walk_with_cfi(rules(text), step)


def test_rules_from_a_parsed_symbol_file_apply_by_address():
    syms = symbols(
        """
MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 lib.so
STACK CFI INIT 1000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 1004 .cfa: $rsp 16 + $rbp: .cfa -16 + ^
STACK CFI 1010 .cfa: $rbp 16 +
"""
    )
    stack = amd64_stack()
    base = stack.base
    expectations = {
        0x1000: (base + 8, 0x11, 0x77),  # INIT only; rbp forwarded
        0x1008: (base + 16, 0x22, 0x11),
        0x1010: (0x77 + 16, None, 0x11),  # cfa from rbp: *(cfa-8) is outside the stack
    }
    for address, (sp, ip, bp) in expectations.items():
        step = amd64_walker(stack, rsp=base, rbp=0x77)
        cfi = syms.cfi_rules(address)
        assert cfi is not None
        ok = walk_with_cfi(cfi, step)
        if ip is None:
            assert not ok
            continue
        caller = step.caller_context()
        assert ok and (caller.get("rsp"), caller.get("rip"), caller.get("rbp")) == (sp, ip, bp)
