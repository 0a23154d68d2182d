"""The .sym line grammar (as regular expressions) and decoders for validated sublines.

Shared by the parser (validation) and the sinks (decoding FUNC and STACK CFI sublines
into numbers when they need them). Possessive quantifiers reproduce nom's greedy,
non-backtracking field parsers: a 17-digit hex field fails instead of splitting.
"""

from __future__ import annotations

import re
from itertools import repeat

from symbols.cfirows import CFI_ROW_FIELDS, decode_rows  # noqa: F401 (part of the grammar)
from symbols.symfile import Inlinee


class LineColumns:
    """A FUNC's line records, one list per field (no object per record)."""

    __slots__ = ("addresses", "files", "lines", "sizes")

    def __init__(self) -> None:
        self.addresses: list[int] = []
        self.sizes: list[int] = []
        self.lines: list[int] = []
        self.files: list[int] = []


_S = rb"[ \t]+"
_H64 = rb"([0-9a-fA-F]{1,16}+)"
_H32 = rb"([0-9a-fA-F]{1,8}+)"
_D = rb"([0-9]{1,10}+)"
_REST = rb"([^\r\n]*+)"
_EOL = rb"\r*\n\Z"

MODULE = re.compile(
    rb"MODULE"
    + _S
    + rb"([^ ]*+)"
    + _S
    + rb"([^ ]*+)"
    + _S
    + rb"([0-9a-fA-F]++)"
    + _S
    + _REST
    + _EOL
)
INFO_URL = re.compile(rb"INFO URL" + _S + _REST + _EOL)
INFO = re.compile(rb"INFO" + _S + _REST + _EOL)
FILE = re.compile(rb"FILE" + _S + _D + _S + _REST + _EOL)
ORIGIN = re.compile(rb"INLINE_ORIGIN" + _S + _D + _S + _REST + _EOL)
PUBLIC = re.compile(rb"PUBLIC" + _S + rb"(?:m" + _S + rb")?" + _H64 + _S + _H32 + _S + _REST + _EOL)
FUNC = re.compile(
    rb"FUNC" + _S + rb"(?:m" + _S + rb")?" + _H64 + _S + _H32 + _S + _H32 + _S + _REST + _EOL
)
WIN = re.compile(
    rb"STACK WIN"
    + _S
    + rb"([0-9a-fA-F])"
    + _S
    + _H64
    + _S
    + (_H32 + _S) * 7
    + rb"([0-9])"
    + _S
    + _REST
    + _EOL
)
CFI_INIT = re.compile(rb"STACK CFI INIT" + _S + _H64 + _S + _H32 + _S + _REST + _EOL)
CFI = re.compile(rb"STACK CFI" + _S + _H64 + _S + _REST + _EOL)
LINE = re.compile(_H64 + _S + _H32 + _S + _D + _S + _D + _EOL)
INLINE = re.compile(
    rb"INLINE"
    + _S
    + (_D + _S) * 4
    + rb"((?:[0-9a-fA-F]{1,16}+"
    + _S
    + rb"[0-9a-fA-F]{1,8}+)(?:"
    + _S
    + rb"[0-9a-fA-F]{1,16}+"
    + _S
    + rb"[0-9a-fA-F]{1,8}+)*+)"
    + _EOL
)
BLANK = re.compile(rb"\r*\n\Z")
# A keyword followed by a space or tab commits to that record type (nom's `cut`):
# malformed fields after it reject the file instead of trying other record types.
KEYWORD = re.compile(
    rb"(INFO URL|INFO|FILE|INLINE_ORIGIN|PUBLIC|FUNC|STACK WIN|STACK CFI INIT|MODULE)[ \t]"
)
HANDLERS = {
    b"INFO URL": "_info_url",
    b"INFO": "_info",
    b"FILE": "_file",
    b"INLINE_ORIGIN": "_origin",
    b"PUBLIC": "_public",
    b"FUNC": "_func",
    b"STACK WIN": "_win",
    b"STACK CFI INIT": "_cfi_init",
    b"MODULE": "_module",
}
# Bulk path: runs of line/INLINE records and of STACK CFI rows (most of a big file) are
# validated a run at a time with one regex and kept as text; they are decoded into numbers
# only when a sink needs them (MemorySink at once, the compact cache at lookup time).
# Bulk patterns allow 9-digit decimals only (always < 2**32); a line with a 10-digit value
# fails the run, and the line-by-line path does the exact 32-bit check.
_D9 = rb"([0-9]{1,9}+)"
_LINE_BODY = (_H64 + _S + _H32 + _S + _D9 + _S + _D9 + rb"\r*\n").replace(b"([", b"(?:[")
_INLINE_BODY = (INLINE.pattern[: -len(_EOL)].replace(_D, _D9) + rb"\r*\n").replace(b"((", b"(?:(")
_INLINE_BODY = _INLINE_BODY.replace(b"([", b"(?:[")
# No capturing groups and no possessive repeat of a group here: Python 3.11's re raises
# "span of capturing group is wrong" for that combination.
BODY_RUN = re.compile(rb"(?:" + _LINE_BODY + rb"|" + _INLINE_BODY + rb")+")
CFI_RUN = re.compile(
    (rb"(?:STACK CFI" + _S + _H64 + _S + _REST + rb"\r*\n)+").replace(b"([", b"(?:[")
)
# Runs of whole blocks (a FUNC line and its line/INLINE records, a STACK CFI INIT line and
# its rows, then the next such block), most of a big file, are validated with one regex
# match per run; *_HEAD then finds each block's first line in the run. They match from the
# newline before it ("FUNC" and "STACK CFI INIT" start no subline, while a FUNC name may
# contain them) up to the newline after it, which is left for the next block's match.
_FUNC_LINE = FUNC.pattern[: -len(_EOL)] + rb"\r*\n"
_CFI_INIT_LINE = CFI_INIT.pattern[: -len(_EOL)] + rb"\r*\n"
_CFI_ROW = rb"STACK CFI" + _S + _H64 + _S + _REST + rb"\r*\n"


def _run_of(head: bytes, *sublines: bytes) -> re.Pattern[bytes]:
    pattern = rb"(?:" + head + rb"(?:" + rb"|".join(sublines) + rb")*)+"
    return re.compile(pattern.replace(b"([", b"(?:["))


FUNC_BLOCKS = _run_of(_FUNC_LINE, _LINE_BODY, _INLINE_BODY)
FUNC_HEAD = re.compile(rb"\n" + FUNC.pattern[: -len(_EOL)] + rb"\r*(?=\n)")
# A line that ends a run of FUNC blocks (any other line fails the run's match).
FUNC_BLOCKS_END = re.compile(rb"\n(?:FILE|PUBLIC|STACK|INFO|INLINE_ORIGIN|MODULE|\r|\n)")
CFI_BLOCKS = _run_of(_CFI_INIT_LINE, _CFI_ROW)
CFI_HEAD = re.compile(rb"\n" + CFI_INIT.pattern[: -len(_EOL)] + rb"\r*(?=\n)")
CFI_BLOCKS_END = re.compile(rb"\n(?!STACK CFI)")
# Decoding validated sublines (values already known to fit in 32 bits).
LINE_FIELDS = re.compile(rb"(?m)^" + _H64 + _S + _H32 + _S + _D + _S + _D + rb"\r*\n")
INLINE_FIELDS = re.compile(rb"(?m)^" + INLINE.pattern[: -len(_EOL)] + rb"\r*\n")
# In validated FUNC subline text "INLINE" only ever starts a line (line records are digits
# and blanks), so these need no line anchor, which would cost re its fast literal search.
_INLINE_LINE = re.compile(rb"INLINE[^\n]*+\n")
BODY_INLINE_FIELDS = re.compile(INLINE.pattern[: -len(_EOL)] + rb"\r*\n")
# Lines that can end a run of FUNC sublines (line/INLINE records) or of STACK CFI rows.
# Anything else inside a run is caught because every line must match a run pattern.
BODY_END = re.compile(rb"\n(?:FUNC|FILE|PUBLIC|STACK|INFO|INLINE_ORIGIN|MODULE|\r|\n)")
CFI_END = re.compile(
    rb"\n(?:FUNC|FILE|PUBLIC|STACK WIN|STACK CFI INIT|INFO|INLINE|MODULE"
    rb"|[0-9a-fA-F]|\r|\n)"
)


def inlinees_of(
    depth: bytes, call_line: bytes, call_file: bytes, origin: bytes, pairs: bytes
) -> list[Inlinee]:
    """One Inlinee per (address, size) pair of an INLINE record (fields already checked)."""
    fixed = (int(call_file), int(call_line), int(origin))
    nums = pairs.split()
    return [
        Inlinee(int(depth), int(a, 16), int(s, 16), *fixed)
        for a, s in zip(nums[::2], nums[1::2], strict=True)
    ]


def strip_inline_lines(text: bytes) -> bytes:
    """Validated FUNC subline text without its INLINE records (the line records remain)."""
    return _INLINE_LINE.sub(b"", text)


def decode_body(body: list[bytes]) -> tuple[LineColumns, list[Inlinee]]:
    """Line records and inlinees of a FUNC from its validated subline text.

    Validated line records are exactly four whitespace-separated fields, so once the
    INLINE lines are taken out, splitting the text yields the four columns directly.
    """
    text = b"".join(body)
    inlinees: list[Inlinee] = []
    if b"INLINE" in text:
        inlinees = [i for rec in BODY_INLINE_FIELDS.findall(text) for i in inlinees_of(*rec)]
        text = strip_inline_lines(text)
    fields = text.split()
    cols = LineColumns()
    cols.addresses = list(map(int, fields[0::4], repeat(16)))
    cols.sizes = list(map(int, fields[1::4], repeat(16)))
    cols.lines = list(map(int, fields[2::4]))
    cols.files = list(map(int, fields[3::4]))
    return cols, inlinees
