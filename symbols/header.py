"""Read the identity lines at the top of a .sym file without reading the rest.

Indexing a store of 600 MB files must not parse them; dump_syms writes MODULE, then
INFO CODE_ID / INFO GENERATOR, before any other record, so reading stops at the first
line that is neither MODULE nor INFO (the same rule Tecken's upload path uses).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from crashproc.records import FrozenRecord
from symbols.errors import SymbolParseError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import BinaryIO

MAX_HEADER_LINES = 64
MAX_HEADER_LINE = 64 * 1024


@functools.cache
def _patterns() -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """The MODULE, INFO CODE_ID and INFO GENERATOR patterns, compiled on first use: compiling
    them costs a one-dump stackwalk more than its lookups in a symbol store, which never
    read a header."""
    return (
        re.compile(
            rb"MODULE[ \t]+([^ ]*+)[ \t]+([^ ]*+)[ \t]+([0-9a-fA-F]++)[ \t]+([^\r\n]*+)\r*\n?\Z"
        ),
        re.compile(rb"INFO[ \t]+CODE_ID[ \t]+([^ \t\r\n]++)(?:[ \t]+([^\r\n]*+))?\r*\n?\Z"),
        re.compile(rb"INFO[ \t]+GENERATOR[ \t]+([^\r\n]*+)\r*\n?\Z"),
    )


class SymHeader(FrozenRecord):
    """`debug_id` and `code_id` are upper-case; `code_file` is "" when INFO CODE_ID has none."""

    os: str
    arch: str
    debug_id: str
    debug_file: str
    code_id: str | None = None
    code_file: str | None = None
    generator: str | None = None

    def __init__(
        self,
        os: str,
        arch: str,
        debug_id: str,
        debug_file: str,
        code_id: str | None = None,
        code_file: str | None = None,
        generator: str | None = None,
    ) -> None:
        self.os = os
        self.arch = arch
        self.debug_id = debug_id
        self.debug_file = debug_file
        self.code_id = code_id
        self.code_file = code_file
        self.generator = generator

    _fields = ("os", "arch", "debug_id", "debug_file", "code_id", "code_file", "generator")


def is_module_line(line: bytes) -> bool:
    """Whether `line` (with or without its line end) is a well-formed MODULE record."""
    return _patterns()[0].match(line) is not None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").strip()


def read_header_stream(stream: BinaryIO) -> SymHeader:
    """Parse MODULE and the INFO lines that follow it; raise SymbolParseError if no MODULE."""
    module, code_id, generator = _patterns()
    first = stream.readline(MAX_HEADER_LINE)
    m = module.match(first)
    if m is None:
        raise SymbolParseError("missing or malformed MODULE record", 1)
    fields = {
        "os": _text(m.group(1)),
        "arch": _text(m.group(2)),
        "debug_id": m.group(3).decode("ascii").upper(),
        "debug_file": _text(m.group(4)),
    }
    for _ in range(MAX_HEADER_LINES):
        line = stream.readline(MAX_HEADER_LINE)
        if not line.startswith(b"INFO"):
            break
        if (c := code_id.match(line)) is not None:
            fields["code_id"] = _text(c.group(1)).upper()
            fields["code_file"] = _text(c.group(2)) if c.group(2) else ""
        elif (g := generator.match(line)) is not None:
            fields["generator"] = _text(g.group(1))
    return SymHeader(**fields)


def read_header(path: str | Path) -> SymHeader:
    with open(path, "rb") as f:
        return read_header_stream(f)
