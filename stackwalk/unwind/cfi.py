"""STACK CFI: recovering the caller's registers from Breakpad's postfix rules.

A rule set is a sequence of `REG: EXPR` pairs (`.cfa`, `.ra`, `$rax`, or a bare `x19` as
ARM symbol files write it). The INIT record's rules apply first and each later row that
covers the address overrides registers it names. `.cfa` (the caller's stack pointer) is
evaluated first and without itself, then `.ra` (the caller's instruction pointer), then
every other register; a failing optional register is dropped, not fatal. Expressions are
postfix over wrapping u64 values, as in rust-minidump, whose results these must match.
"""

from __future__ import annotations

import functools

from stackwalk.unwind.postfix import BINARY_OPERATORS, apply_binary, parse_literal, tokens
from stackwalk.unwind.step import UnwindStep

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from symbols.symfile import CfiRules

U64 = (1 << 64) - 1
CFA = ".cfa"
RA = ".ra"


def parse_rules(text: str, rules: dict[str, tuple]) -> bool:
    """Add the `REG: EXPR` pairs of `text` to `rules` (later pairs override earlier ones).

    Keys are `.cfa`, `.ra`, or `$` + the register name (whether or not the text wrote the
    `$`, so `$.cfa:` stays a register distinct from `.cfa:`); expressions are tuples of
    tokens with decimal literals already parsed to ints. False when the text is malformed:
    an expression before any register, or a register with no expression.
    """
    pairs = _parsed_rules(text)
    if pairs is None:
        return False
    rules.update(pairs)
    return True


@functools.lru_cache(maxsize=4096)
def _parsed_rules(text: str) -> tuple[tuple[str, tuple], ...] | None:
    """The (register, expression) pairs of `text` in order; None when malformed. Cached: a
    module's CFI rows repeat a few rule texts (a Firefox-sized crash parsed about 12,000 for
    3,000 frames, a seventh of its walk), and the pairs are immutable."""
    pairs: list[tuple[str, tuple]] = []
    register: str | None = None
    expression: list[int | str] = []
    for token in tokens(text):
        if token.endswith(":"):
            if register is not None:
                if not expression:
                    return None
                pairs.append((register, tuple(expression)))
                expression = []
            name = token[:-1]
            register = name if name in (CFA, RA) else "$" + name.removeprefix("$")
        elif register is None:
            return None
        else:
            literal = parse_literal(token, 64)
            expression.append(token if literal is None else literal)
    if register is None or not expression:
        return None
    pairs.append((register, tuple(expression)))
    return tuple(pairs)


def evaluate(expression: Sequence[int | str], step: UnwindStep, cfa: int | None) -> int | None:
    """Value of one postfix expression, or None when it cannot be evaluated. Tokens are
    ints (parsed literals) or text; text that is a decimal literal is parsed here."""
    stack: list[int] = []
    for token in expression:
        if token.__class__ is int:
            stack.append(token)
            continue
        if token in BINARY_OPERATORS:
            if len(stack) < 2:
                return None
            rhs = stack.pop()
            result = apply_binary(token, stack.pop(), rhs, U64)
            if result is None:
                return None
            stack.append(result)
            continue
        if token == "^":
            if not stack:
                return None
            value = step.read_pointer(stack.pop())
        elif token == CFA:
            value = cfa
        elif token == ".undef":
            return None
        elif "$" in token:
            value = step.callee_register(token.split("$", 1)[1])
        else:
            value = parse_literal(token, 64)
            if value is None:
                # ARM symbol files name registers without a `$`.
                value = step.callee_register(token)
        if value is None:
            return None
        stack.append(value)
    return stack[0] if len(stack) == 1 else None


def walk_with_cfi(cfi: CfiRules, step: UnwindStep) -> bool:
    """Apply the CFI rules for one address to `step`; False when unwinding fails."""
    rules: dict[str, tuple] = {}
    if not parse_rules(cfi.init_rules, rules):
        return False
    for _address, row in cfi.rows:
        if not parse_rules(row, rules):
            return False
    cfa_rule = rules.pop(CFA, None)
    ra_rule = rules.pop(RA, None)
    if cfa_rule is None or ra_rule is None:
        return False
    cfa = evaluate(cfa_rule, step, None)
    if cfa is None:
        return False
    ra = evaluate(ra_rule, step, cfa)
    if ra is None:
        return False
    if not (step.set_cfa(cfa) and step.set_ra(ra)):
        return False
    for key, rule in rules.items():
        register = key[1:]
        value = evaluate(rule, step, cfa)
        if value is None:
            step.clear_caller_register(register)
        else:
            step.set_caller_register(register, value)
    return True
