"""Parsing: record types, rust-minidump's repair rules, and which files it rejects."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import symbols.parser as parser_module
from symbols.errors import SymbolParseError
from symbols.header import read_header
from symbols.parser import (
    MAX_LINE_LENGTH,
    SymbolParser,
    feed_stream,
    iter_lines,
    parse_bytes,
    parse_file,
)
from symbols.sinks import MemorySink, NullSink
from tests.symbols.conftest import (
    CRASH_CLIENT_SYM,
    TEST_APP_CODE_SYM,
    TEST_APP_ID,
    TEST_APP_SYM,
    run_peer,
)


def test_test_app_counts_match_rust_minidump(testdata: Path) -> None:
    # Counts asserted by breakpad-symbols' own test of this file.
    sym = parse_file(str(TEST_APP_SYM))
    assert len(sym.files) == 6661
    assert len(sym.publics) == 5
    assert len(sym.functions) == 1065
    assert len(sym.win_framedata) == 1556
    assert len(sym.win_fpo) == 259
    assert sym.find_nearest_public(0x9B07).name == "_NLG_Return"
    assert sym.find_nearest_public(0x142E7).name == "_NLG_Return"
    assert sym.find_nearest_public(0x23B06).name == "__from_strstr_to_strchr"
    assert sym.find_nearest_public(0xFFFFFFFF).name == "__from_strstr_to_strchr"
    assert sym.functions.get(0x1012).name == "vswprintf"
    assert sym.functions.get(0x1013) is None
    assert sym.win_framedata.get(0x41B0).address == 0x41B0
    hit = sym.lookup(0x1010)
    assert (hit.function, hit.line) == ("vswprintf", 51)
    assert hit.file.endswith("swprintf.inl")


def test_records_and_overlaps() -> None:
    sym = parse_bytes(
        b"MODULE Linux x86 D3096ED481217FD4C16B29CD9BC208BA0 firefox-bin\n"
        b"INFO CODE_ID ABC\n"
        b"FILE 0 foo.c\nFILE  100  bar baz.c\n"
        b"PUBLIC abcd 10 func 1\nPUBLIC m ff00 3 func 2\n"
        b"FUNC 1000 30 10 some func\n1000 10 42 0\n1000 10 43 0\n1001 10 44 0\n1010 10 52 100\n"
        b"FUNC 1000 30 10 overlap exact\nFUNC m 1001 30 10 overlap end\n"
        b"STACK WIN 4 900 30 a1 b2 c3 d4 e5 f6 1 prog string\n"
        b"STACK WIN 0 1000 30 a1 b2 c3 d4 e5 f6 0 1\n"
        b"STACK WIN 0 2000 30 a1 b2 c3 d4 e5 f6 1 1\n"
        b"STACK CFI INIT badf00d abc init rules\n"
        b"STACK CFI deadf00d some rules\nSTACK CFI badf010 more rules\n"
        b"INFO URL https://example.com/x.sym\n"
    )
    assert sym.files == {0: "foo.c", 100: "bar baz.c"}
    assert [(p.address, p.name, p.parameter_size) for p in sym.publics] == [
        (0xABCD, "func 1", 0x10),
        (0xFF00, "func 2", 3),
    ]
    assert [f.name for f in sym.functions.values] == ["some func"]
    lines = sym.functions.values[0].lines
    assert [(v.address, v.line) for v in lines.values] == [(0x1000, 42), (0x1010, 52)]
    assert sym.lookup(0x1015).file == "bar baz.c"
    assert sym.lookup(0x1020).file is None  # no line record covers it
    win = sym.stack_win(0x910)
    assert (win.kind, win.program_string, win.parameter_size) == (4, "prog string", 0xC3)
    assert sym.stack_win(0x1000).allocates_base_pointer is True
    assert sym.stack_win(0x2000) is None  # type/has_program mismatch: entry discarded
    # The FUNC's parameter size is replaced by the covering STACK WIN entry's.
    assert sym.lookup(0x1000).parameter_size == 0xC3
    rules = sym.cfi_rules(0xBADF011)
    assert rules.init_rules == "init rules" and rules.rows == ((0xBADF010, "more rules"),)
    assert sym.cfi_rules(0xBADF00D).rows == ()
    assert sym.url == "https://example.com/x.sym"


def test_stack_win_truncation_repair() -> None:
    sym = parse_bytes(
        b"STACK WIN 4 0 10 0 0 0 0 0 0 1 a\n"
        b"STACK WIN 4 1 f 0 0 0 0 0 0 1 b\n"
        b"STACK WIN 4 4 c 0 0 0 0 0 0 1 c\n"
        b"STACK WIN 4 4 c 0 0 0 0 0 0 1 c\n"
        b"STACK WIN 4 3 2 0 0 0 0 0 0 1 dropped\n"
    )
    ranges = list(zip(sym.win_framedata.starts, sym.win_framedata.ends, strict=True))
    assert ranges == [(0, 0), (1, 3), (4, 0xF)]
    assert [v.program_string for v in sym.win_framedata.values] == ["a", "b", "c"]


def test_nested_inlines_deepest_first() -> None:
    sym = parse_bytes(
        b"MODULE Linux x86_64 ABCD0 lib\n"
        b"FILE 1 a.c\nFILE 2 b.h\nFILE 3 c.h\n"
        b"INLINE_ORIGIN 10 inlined_b\nINLINE_ORIGIN 11 inlined_c\n"
        b"FUNC 100 40 0 outer\n"
        b"INLINE 0 7 1 10 110 30\n"
        b"INLINE 1 20 2 11 118 8 130 4\n"
        b"100 10 5 1\n110 8 21 2\n118 8 30 3\n120 10 22 2\n"
    )
    deep = sym.lookup(0x119)
    assert (deep.function, deep.file, deep.line) == ("outer", "a.c", 7)
    assert [(i.function, i.file, i.line) for i in deep.inlines] == [
        ("inlined_c", "c.h", 30),
        ("inlined_b", "b.h", 20),
    ]
    mid = sym.lookup(0x112)
    assert [(i.function, i.line) for i in mid.inlines] == [("inlined_b", 21)]
    assert sym.lookup(0x105).inlines == ()
    assert [(i.function, i.line) for i in sym.lookup(0x12A).inlines] == [("inlined_b", 22)]
    # No line record covers 0x13A: the innermost frame has neither file nor line.
    assert [(i.function, i.file, i.line) for i in sym.lookup(0x13A).inlines] == [
        ("inlined_b", None, None)
    ]
    assert (sym.lookup(0x13A).file, sym.lookup(0x13A).line) == ("a.c", 7)


def test_public_fallback_rules() -> None:
    sym = parse_bytes(
        b"PUBLIC 500 4 before_funcs\n"
        b"FUNC 1000 10 0 f1\n"
        b"PUBLIC 1008 0 inside_f1\n"
        b"PUBLIC 1020 8 after_f1\n"
        b"PUBLIC 1020 0 after_f1_b\n"
        b"FUNC 2000 10 0 f2\n"
    )
    assert sym.lookup(0x400) is None
    assert sym.lookup(0x600).function == "before_funcs"
    assert sym.lookup(0x1008).function == "f1"  # FUNC wins over a PUBLIC inside it
    # Past f1: nearest PUBLIC 0x1008 starts after f1's start, so it is used.
    assert sym.lookup(0x1010).function == "inside_f1"
    # Equal addresses: the last in (address, name, param) order wins.
    hit = sym.lookup(0x1030)
    assert (hit.function, hit.function_address, hit.from_public) == ("after_f1_b", 0x1020, True)
    assert sym.lookup(0x3000) is None  # f2 starts after the nearest PUBLIC: it cannot reach
    # A PUBLIC at or before the previous FUNC's start cannot extend past it.
    sym2 = parse_bytes(b"PUBLIC 1000 0 p\nFUNC 1000 10 0 f\n")
    assert sym2.lookup(0x1010) is None


# (name, transform of the test_app.sym text) -- verified against minidump-stackwalk 0.25.
def _insert(index_of, text):
    def apply(lines: list[str]) -> list[str]:
        i = index_of(lines)
        return [*lines[:i], *text, *lines[i:]]

    return apply


def _first(prefix: str, offset: int = 0):
    return lambda lines: next(i for i, ln in enumerate(lines) if ln.startswith(prefix)) + offset


VARIANTS = {
    "unchanged": lambda t: t,
    "blank_between_files": _insert(lambda t: 3, [""]),
    "crlf_blank_line": _insert(lambda t: 3, ["\r"]),
    "blank_inside_func_lines": _insert(_first("FUNC", 2), [""]),
    "blank_right_after_func": _insert(_first("FUNC", 1), [""]),
    "blank_first_line": _insert(lambda t: 0, [""]),
    "spaces_only_line": _insert(lambda t: 3, ["   "]),
    "leading_space_record": lambda t: [*t[:3], " " + t[3], *t[4:]],
    "trailing_space_file": lambda t: [*t[:3], t[3] + " ", *t[4:]],
    "stray_cr": lambda t: [*t[:3], t[3] + "\rx", *t[4:]],
    "tab_separator": lambda t: [*t[:3], t[3].replace(" ", "\t", 1), *t[4:]],
    "module_twice": _insert(lambda t: 1, ["MODULE windows x86 ABC test_app.pdb"]),
    "no_module": lambda t: t[1:],
    "junk_line": _insert(lambda t: 3, ["this is junk"]),
    "inline_origin_no_name": _insert(_first("FUNC"), ["INLINE_ORIGIN 1"]),
    "inline_origin_empty_name": _insert(_first("FUNC"), ["INLINE_ORIGIN 1 "]),
    "inline_then_blank": _insert(_first("FUNC", 2), ["INLINE 0 5 71 1 1000 5", ""]),
    "inline_ok": _insert(_first("FUNC", 2), ["INLINE 0 5 71 1 1000 5"]),
    "stray_cfi_row": _insert(_first("STACK"), ["STACK CFI 9000 .cfa: $esp 4 +"]),
    "cfi_block": _insert(
        _first("STACK"),
        ["STACK CFI INIT 9000 10 .cfa: $esp 4 +", "STACK CFI 9004 .cfa: $esp 8 +", ""],
    ),
    "negative_line": lambda t: [*t[:6663], "1000 12 -51 71", *t[6664:]],
    "huge_decimal": lambda t: [*t[:3], "FILE 4294967296 x", *t[4:]],
    "overlong_line_skipped": _insert(lambda t: 3, ["junk " + "a" * (MAX_LINE_LENGTH + 10)]),
    "long_line_kept": _insert(lambda t: 3, ["junk " + "a" * 100_000]),
    "func_bad_hex": _insert(_first("FUNC"), ["FUNC xx 1 2 foo"]),
}


def _variant_bytes(name: str) -> bytes:
    lines = TEST_APP_SYM.read_text().split("\n")
    return "\n".join(VARIANTS[name](lines)).encode()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_acceptance_matches_peer(name: str, peer: Path, tmp_path: Path, testdata: Path) -> None:
    data = _variant_bytes(name)
    target = tmp_path / "test_app.pdb" / TEST_APP_ID / "test_app.sym"
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    module = run_peer(peer, testdata / "test.dmp", str(tmp_path))["modules"][0]
    try:
        parse_bytes(data)
        ours_corrupt = False
    except SymbolParseError:
        ours_corrupt = True
    assert module["loaded_symbols"] is True
    assert module["corrupt_symbols"] == ours_corrupt


@pytest.mark.parametrize("data", [b"", b"MODULE a b c d\nFILE 0 a.c", b"FILE 0 \xff\n"])
def test_rejected_files(data: bytes) -> None:
    with pytest.raises(SymbolParseError):
        parse_bytes(data)


def test_header(testdata: Path) -> None:
    header = read_header(TEST_APP_CODE_SYM)
    assert (header.debug_file, header.debug_id) == ("test_app.pdb", TEST_APP_ID)
    assert (header.code_file, header.code_id) == ("test_app.exe", "45D35F6C2D000")
    mac = read_header(CRASH_CLIENT_SYM)
    assert (mac.os, mac.arch, mac.code_file) == ("Mac", "x86_64", "")
    assert mac.code_id == "509C0610949836F7B70BD88BCF03E540"


def test_header_reads_only_the_top(tmp_path: Path) -> None:
    path = tmp_path / "x.sym"
    # Garbage after the header is never read: header reading must not parse the body.
    path.write_bytes(
        b"MODULE Linux x86_64 abc0 libx.so\nINFO CODE_ID 0a\nINFO GENERATOR"
        b" mozilla/dump_syms 2.3.7\nFILE 0 a\n" + b"\xff\x00garbage" * 100
    )
    header = read_header(path)
    assert (header.debug_id, header.code_id, header.code_file) == ("ABC0", "0A", "")
    assert header.generator == "mozilla/dump_syms 2.3.7"
    path.write_bytes(b"FILE 0 a\n")
    with pytest.raises(SymbolParseError):
        read_header(path)


def test_crlf_file_parses_like_lf(tmp_path: Path, testdata: Path) -> None:
    crlf = TEST_APP_SYM.read_bytes().replace(b"\n", b"\r\n")
    a, b = parse_bytes(crlf), parse_file(str(TEST_APP_SYM))
    assert a.functions == b.functions and a.publics == b.publics and a.files == b.files


def _accepts_line_by_line(data: bytes) -> bool:
    parser = SymbolParser(NullSink())
    try:
        for line in iter_lines(io.BytesIO(data)):
            parser.feed(line)
        parser.finish()
    except SymbolParseError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_bulk_and_line_by_line_paths_agree(name: str, testdata: Path) -> None:
    # The chunked bulk path is an optimisation of the line-by-line state machine.
    data = _variant_bytes(name)
    try:
        feed_stream(io.BytesIO(data), NullSink(), chunk_size=4096)
        bulk = True
    except SymbolParseError:
        bulk = False
    assert bulk == _accepts_line_by_line(data)


def test_ten_digit_values_take_the_exact_path() -> None:
    ok = b"FUNC 10 10 0 f\n10 10 4294967295 4294967295\nINLINE 4294967295 1 1 1 10 2\n"
    sym = parse_bytes(ok)
    assert sym.functions.values[0].lines.values[0].line == 4294967295
    with pytest.raises(SymbolParseError, match="32 bits"):
        parse_bytes(b"FUNC 10 10 0 f\n10 10 4294967296 1\n")


# Runs of whole FUNC / STACK CFI INIT blocks are validated and taken in bulk: they must give
# what the line-by-line state machine gives, including its errors and their line numbers.
_BLOCKS = (
    b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 lib.so\n"
    b"FILE 0 a.cpp\n"
    b"FUNC 1000 10 0 no body\n"
    b"FUNC m 1010 10 0 FUNC in the name\n"
    b"1010 8 1 0\n"
    b"INLINE 0 1 0 0 1010 4\n"
    b"1018 8 2 0\n"
    b"FUNC 1020 10 0 crlf\r\n"
    b"1020 10 3 0\r\n"
    b"INLINE_ORIGIN 0 origin inside a block\n"
    b"1030 10 4 0\n"
    b"FUNC 1040 10 0 last\n"
    b"1040 10 5 0\n"
    b"STACK CFI INIT 1000 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    b"STACK CFI INIT 1010 10 .cfa: $rsp 8 +\n"
    b"STACK CFI 1011 .cfa: $rsp 16 +\n"
    b"STACK CFI 1012 .cfa: $rsp 24 +\n"
    b"STACK CFI INIT 1020 10 .cfa: $rsp 8 +\n"
    b"STACK CFI 1021 .cfa: $rsp 16 +\n"
)
_BROKEN_BLOCKS = {
    "junk between blocks": _BLOCKS.replace(b"FUNC 1020", b"junk\nFUNC 1020"),
    "bad line record": _BLOCKS.replace(b"1018 8 2 0", b"1018 8 x 0"),
    "bad FUNC line": _BLOCKS.replace(b"FUNC 1040 10 0", b"FUNC 1040 zz 0"),
    "non-UTF-8 name": _BLOCKS.replace(b"name", b"\xff"),
    "non-UTF-8 CFI rules": _BLOCKS.replace(b".cfa: $rsp 24 +", b"\xff"),
    "ten-digit line": _BLOCKS.replace(b"1018 8 2 0", b"1018 8 4294967296 0"),
}


class _Recorder(MemorySink):
    """Also records the subline text each block hands over (what the cache writer reads)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[bytes] = []

    def function(self, func, body) -> None:
        self.texts.append(b"".join(body))
        super().function(func, body)

    def cfi(self, address, size, rules, rows) -> None:
        self.texts.append(b"".join(rows))
        super().cfi(address, size, rules, rows)


def _line_by_line(data: bytes):
    sink = _Recorder()
    parser = SymbolParser(sink)
    for line in iter_lines(io.BytesIO(data)):
        parser.feed(line)
    parser.finish()
    return sink.finish(), sink.texts


def _outcome(parse):
    try:
        return parse()
    except SymbolParseError as error:
        return ("error", str(error))


@pytest.mark.parametrize("run_bytes", [1, 64 << 10])
@pytest.mark.parametrize("chunk_size", [7, 64, 1 << 20])
@pytest.mark.parametrize("name", ["valid", *_BROKEN_BLOCKS])
def test_block_runs_agree_with_line_by_line(name, chunk_size, run_bytes, monkeypatch) -> None:
    monkeypatch.setattr(parser_module, "BLOCK_RUN_BYTES", run_bytes)
    data = _BLOCKS if name == "valid" else _BROKEN_BLOCKS[name]
    expected = _outcome(lambda: _line_by_line(data))

    def bulk():
        sink = _Recorder()
        feed_stream(io.BytesIO(data), sink, chunk_size=chunk_size)
        return sink.finish(), sink.texts

    assert _outcome(bulk) == expected
    if name == "valid":
        symbols, texts = expected
        assert len(symbols.functions) == 4 and len(symbols.cfi) == 3
        assert symbols.functions.values[1].name == "FUNC in the name"
        assert texts[0] == b"" and texts[2] == b"1020 10 3 0\r\n1030 10 4 0\n"
    else:
        assert expected[0] == "error"
