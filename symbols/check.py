"""Find and repair the malformed records dump_syms is known to write.

Two defects seen in production make rust-minidump reject a whole file (so every frame
of the module loses its symbols): INLINE_ORIGIN lines with an id but no name, and
symbol names split over several lines by embedded newlines. Checking reuses the real
parser, so "defect" means exactly "a line rust-minidump would reject".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from crashproc.records import FrozenRecord
from symbols.errors import SymbolParseError
from symbols.parser import SymbolParser, iter_lines
from symbols.sinks import NullSink

NAMELESS_ORIGIN = "inline-origin-without-name"
SPLIT_NAME = "split-name"
MALFORMED = "malformed"
TRUNCATED = "truncated"
REPAIRABLE = frozenset({NAMELESS_ORIGIN, SPLIT_NAME})
MAX_REPORTED = 1000

_NAMELESS_ORIGIN = re.compile(rb"INLINE_ORIGIN[ \t]+[0-9]+[ \t]*\r*\n\Z")
# Records whose last field is a free-text name an embedded newline can split.
_NAMED = (b"FUNC", b"PUBLIC", b"INLINE_ORIGIN", b"FILE")


class Defect(FrozenRecord):
    line_number: int
    kind: str
    message: str

    def __init__(self, line_number: int, kind: str, message: str) -> None:
        self.line_number = line_number
        self.kind = kind
        self.message = message

    _fields = ("line_number", "kind", "message")

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.kind}: {self.message}"


def _scan(stream: BinaryIO) -> Iterator[tuple[bytes | None, Defect | None]]:
    """Yield each line with its defect (None when rust-minidump accepts the line)."""
    parser = SymbolParser(NullSink())
    after_name = False
    lines = iter_lines(stream)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            break
        except SymbolParseError as e:
            yield None, Defect(parser.line_number + 1, TRUNCATED, e.reason)
            return
        open_block = parser.block
        try:
            parser.feed(line)
        except SymbolParseError as e:
            if line is not None and _NAMELESS_ORIGIN.match(line):
                defect = Defect(parser.line_number, NAMELESS_ORIGIN, "INLINE_ORIGIN has no name")
            elif after_name:
                defect = Defect(
                    parser.line_number, SPLIT_NAME, "continuation of a name split by a newline"
                )
            else:
                defect = Defect(parser.line_number, MALFORMED, e.reason)
            after_name = defect.kind == SPLIT_NAME
            if after_name:
                parser.block = open_block  # the FUNC's line records still follow
            yield line, defect
            continue
        after_name = line is not None and line.startswith(_NAMED)
        yield line, None
    parser.finish()


def check_stream(stream: BinaryIO) -> list[Defect]:
    """Defects in reading order (at most MAX_REPORTED)."""
    defects = []
    for _, defect in _scan(stream):
        if defect is not None:
            defects.append(defect)
            if len(defects) >= MAX_REPORTED:
                break
    return defects


def check_file(path: Path) -> list[Defect]:
    with open(path, "rb") as f:
        return check_stream(f)


class UnrepairableError(SymbolParseError):
    """The file has a defect repair does not know how to fix."""


def repair_stream(src: BinaryIO, dst: BinaryIO) -> list[Defect]:
    """Write a fixed copy of `src` to `dst`; returns the defects that were fixed.

    Nameless INLINE_ORIGIN lines are dropped (rust-minidump skips inline frames whose
    origin is unknown, which is what the missing name means); split names are joined
    back onto their record with a space. Anything else raises UnrepairableError.
    """
    fixed: list[Defect] = []
    pending: bytes | None = None
    for line, defect in _scan(src):
        if defect is None:
            if pending is not None:
                dst.write(pending)
            pending = line
            continue
        if defect.kind not in REPAIRABLE or (defect.kind == SPLIT_NAME and pending is None):
            raise UnrepairableError(f"cannot repair {defect.kind}", defect.line_number)
        fixed.append(defect)
        if defect.kind == SPLIT_NAME:
            pending = pending.rstrip(b"\r\n") + b" " + line.strip(b"\r\n") + b"\n"
    if pending is not None:
        dst.write(pending)
    return fixed
