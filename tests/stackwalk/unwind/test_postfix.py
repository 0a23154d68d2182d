"""The arithmetic and lexical rules shared by the STACK CFI and STACK WIN evaluators."""

from __future__ import annotations

import pytest

from stackwalk.unwind.postfix import apply_binary, parse_literal, tokens

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1


@pytest.mark.parametrize(
    ("op", "lhs", "rhs", "mask", "expected"),
    [
        ("+", U64, 2, U64, 1),  # wraps
        ("-", 0, 8, U64, U64 - 7),
        ("-", 0, 8, U32, U32 - 7),
        ("*", 1 << 63, 2, U64, 0),
        ("/", 17, 5, U64, 3),
        ("%", 17, 5, U64, 2),
        ("/", U64 - 7, 2, U64, (U64 - 7) // 2),  # unsigned division, not signed
        ("@", 0x1237, 16, U64, 0x1230),
        ("@", 0x1237, 1, U64, 0x1237),
        ("@", U32, 0x1000, U32, 0xFFFFF000),
    ],
)
def test_binary_operators_wrap_like_unsigned_machine_words(op, lhs, rhs, mask, expected):
    assert apply_binary(op, lhs, rhs, mask) == expected


@pytest.mark.parametrize(("op", "rhs"), [("/", 0), ("%", 0), ("@", 0), ("@", 12), ("@", 3)])
def test_division_by_zero_and_bad_alignment_fail(op, rhs):
    assert apply_binary(op, 100, rhs, U64) is None


def test_unknown_operator_is_a_programming_error():
    with pytest.raises(ValueError):
        apply_binary("^", 1, 2, U64)


@pytest.mark.parametrize(
    ("token", "bits", "expected"),
    [
        ("0", 64, 0),
        ("42", 64, 42),
        ("+42", 64, 42),
        ("-8", 64, U64 - 7),
        ("-8", 32, U32 - 7),
        ("9223372036854775807", 64, (1 << 63) - 1),
        ("-9223372036854775808", 64, 1 << 63),
        ("2147483647", 32, (1 << 31) - 1),
        ("007", 32, 7),
    ],
)
def test_literals_parse_as_rust_signed_integers(token, bits, expected):
    assert parse_literal(token, bits) == expected


@pytest.mark.parametrize(
    ("token", "bits"),
    [
        ("9223372036854775808", 64),  # i64 overflow
        ("2147483648", 32),  # i32 overflow
        ("-2147483649", 32),
        ("1_000", 64),  # Python would accept this, Rust does not
        (" 1", 64),
        ("0x10", 64),
        ("-", 64),
        ("+", 64),
        ("", 64),
        ("١٢", 64),  # Arabic-Indic digits: int() accepts them, Rust does not
        ("rsp", 64),
    ],
)
def test_literals_rust_rejects_are_rejected(token, bits):
    assert parse_literal(token, bits) is None


def test_tokens_split_on_ascii_whitespace_only():
    assert tokens(" a\tb\r\nc\x0cd  ") == ["a", "b", "c", "d"]
    # Vertical tab and non-breaking space are not separators for Rust.
    assert tokens("a\x0bb c\u00a0d") == ["a\x0bb", "c\u00a0d"]
    assert tokens("   ") == []
