"""Pieces shared by the STACK CFI and STACK WIN postfix evaluators.

Both languages use the same binary operators with wrapping unsigned arithmetic (64-bit for
CFI, 32-bit for STACK WIN), split tokens on ASCII whitespace only, and accept decimal
literals exactly as Rust's integer parsing does; writing these once keeps the two
evaluators from drifting apart.
"""

from __future__ import annotations

import re

BINARY_OPERATORS = frozenset("+-*/%@")

_WHITESPACE = re.compile(r"[ \t\n\x0c\r]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+")


def tokens(text: str) -> list[str]:
    """Split like Rust's `split_ascii_whitespace` (no vertical tab, no Unicode spaces)."""
    return [t for t in _WHITESPACE.split(text) if t]


def parse_literal(token: str, bits: int) -> int | None:
    """A signed decimal literal of `bits` bits (`+`/`-` sign allowed), as an unsigned
    two's-complement value; None when Rust's parser would reject it."""
    if not _DECIMAL.fullmatch(token):
        return None
    value = int(token)
    limit = 1 << (bits - 1)
    if not -limit <= value < limit:
        return None
    return value & ((1 << bits) - 1)


def apply_binary(operator: str, lhs: int, rhs: int, mask: int) -> int | None:
    """`lhs operator rhs` in wrapping unsigned arithmetic; None for the operations that
    make an expression fail (division by zero, aligning to a non-power of two)."""
    if operator == "+":
        return (lhs + rhs) & mask
    if operator == "-":
        return (lhs - rhs) & mask
    if operator == "*":
        return (lhs * rhs) & mask
    if operator in ("/", "%"):
        if rhs == 0:
            return None
        return lhs // rhs if operator == "/" else lhs % rhs
    if operator == "@":
        if rhs == 0 or rhs & (rhs - 1):
            return None
        return lhs & ~(rhs - 1) & mask
    raise ValueError(f"not a binary operator: {operator!r}")
