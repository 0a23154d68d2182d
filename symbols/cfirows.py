"""Decoding the STACK CFI rows of one block, already validated when the cache was written.

Apart from the rest of the .sym grammar (symbols.grammar compiles about thirty regular
expressions on import, some 7 ms) because a walk that reads a converted cache needs only this
one, on its first CFI lookup: a one-dump stackwalk process should not pay for the parser.
"""

from __future__ import annotations

import re

CFI_ROW_FIELDS = re.compile(rb"(?m)^STACK CFI[ \t]+([0-9a-fA-F]{1,16}+)[ \t]+([^\r\n]*+)\r*\n")


def decode_rows(rows: list[bytes]) -> list[tuple[int, str]]:
    """(address, rules) of STACK CFI rows from their validated text."""
    return [
        (int(a, 16), rules.decode("utf-8")) for a, rules in CFI_ROW_FIELDS.findall(b"".join(rows))
    ]
