"""The compact on-disk cache: same answers as the in-memory parse, LRU, corrupt files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from symbols.errors import SymbolParseError
from symbols.parser import feed_stream, parse_file
from symbols.provider import SymbolProvider
from symbols.sinks import MemorySink
from symbols.store import SymbolStore
from symbols.supplier import ModuleId, SymbolSupplier
from symbols.symcache import CachedSymbols, SymbolCache, convert
from tests.symbols.conftest import CRASH_CLIENT_SYM, TEST_APP_CODE_SYM, TEST_APP_ID, TEST_APP_SYM
from tests.symbols.test_lookup import _boundaries


def _same_everywhere(path: Path, addresses, tmp_path: Path) -> int:
    target = tmp_path / "x.cpsym"
    with open(path, "rb") as src, open(target, "wb") as out:
        convert(src, out)
    cached, memory = CachedSymbols(target), parse_file(str(path))
    checked = 0
    for address in addresses:
        assert cached.lookup(address) == memory.lookup(address), hex(address)
        assert cached.stack_win(address) == memory.stack_win(address), hex(address)
        assert cached.cfi_rules(address) == memory.cfi_rules(address), hex(address)
        checked += 1
    assert cached.url == memory.url
    cached.close()
    return checked


def test_cache_matches_memory_at_every_address_of_test_app(tmp_path: Path, testdata) -> None:
    memory = parse_file(str(TEST_APP_SYM))
    end = max(memory.functions.ends[-1], memory.win_framedata.ends[-1]) + 0x10
    assert _same_everywhere(TEST_APP_SYM, range(end), tmp_path) == end


def test_cache_matches_memory_at_every_boundary_of_crash_client(tmp_path: Path, testdata) -> None:
    points = _boundaries(CRASH_CLIENT_SYM)
    cfi = [
        a
        for line in CRASH_CLIENT_SYM.read_bytes().splitlines()
        if line.startswith(b"STACK CFI")
        for a in (int(line.split()[3 if b"INIT" in line else 2], 16),)
    ]
    points = sorted({*points, *cfi, *(a - 1 for a in cfi), *(a + 1 for a in cfi)})
    assert _same_everywhere(CRASH_CLIENT_SYM, points, tmp_path) > 50_000


def test_chunk_boundaries_do_not_change_the_result(testdata) -> None:
    data = TEST_APP_SYM.read_bytes().replace(b"\n", b"\r\n")
    reference = parse_file(str(TEST_APP_SYM))
    for size in (1, 777, 65536):
        sink = MemorySink()
        feed_stream(io.BytesIO(data), sink, chunk_size=size)
        got = sink.finish()
        assert got.functions == reference.functions and got.publics == reference.publics
        assert got.win_framedata == reference.win_framedata


def test_cache_directory_lru_and_corrupt_memory(tmp_path: Path, testdata) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    a, b = sources / "a.sym", sources / "b.sym"
    a.write_bytes(TEST_APP_SYM.read_bytes())
    b.write_bytes(CRASH_CLIENT_SYM.read_bytes())
    cache = SymbolCache(tmp_path / "cache", max_bytes=10 << 20)
    first = cache.open(a)
    assert first.lookup(0x429E).function == "`anonymous namespace'::CrashFunction"
    entries = list((tmp_path / "cache").glob("??/*.cpsym"))
    assert len(entries) == 1
    os.utime(entries[0], (1, 1))  # make it the least recently used
    cache.max_bytes = entries[0].stat().st_size + 1
    cache.open(b)  # converting b evicts a
    assert not entries[0].exists()
    assert len(list((tmp_path / "cache").glob("??/*.cpsym"))) == 1
    assert first.lookup(0x429E) is not None  # an evicted file stays usable while mapped
    bad = sources / "bad.sym"
    bad.write_bytes(b"MODULE windows x86 ABC0 bad.pdb\njunk\n")
    for _ in range(2):  # the second time comes from the remembered verdict
        with pytest.raises(SymbolParseError, match="line 2"):
            cache.open(bad)
    assert len(list((tmp_path / "cache").glob("??/*.corrupt"))) == 1
    assert list((tmp_path / "cache" / ".tmp").iterdir()) == []


def test_provider_reports_rust_statistics(tmp_path: Path, testdata) -> None:
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    bad = store.add_stream(
        io.BytesIO(b"MODULE windows x86 " + b"1" * 33 + b" bad.pdb\nFUNC\n"),
        "bad",
        on_defect="accept",
    )
    assert bad.error is None
    provider = SymbolProvider(SymbolSupplier([store.root]), SymbolCache(tmp_path / "cache"))
    good = provider.get(ModuleId("c:\\test_app.exe", "45d35f6c2d000", "", "0" * 33))
    assert good.loaded and not good.corrupt and good.symbols.lookup(0x429E).line == 58
    assert good.lookup.debug_id == TEST_APP_ID
    corrupt = provider.get(ModuleId("bad.dll", "1", "bad.pdb", "1" * 33))
    assert corrupt.loaded and corrupt.corrupt and corrupt.symbols is None
    assert corrupt.lookup.attempts[-1].outcome == "corrupt"
    missing = provider.get(ModuleId("x.dll", "2", "x.pdb", "2" * 33))
    assert not missing.loaded and "not-found" in missing.lookup.why_missing()
    assert provider.get(ModuleId("x.dll", "2", "x.pdb", "2" * 33)) is missing


NESTED_INLINES = b"""MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 nested
FILE 0 outer.cc
FILE 1 middle.h
FILE 2 inner.h
INLINE_ORIGIN 0 middle()
INLINE_ORIGIN 1 inner()
INLINE_ORIGIN 2 innermost()
FUNC 1000 100 0 outer()
INLINE 0 10 0 0 1010 40
INLINE 1 20 1 1 1018 20 1040 8
INLINE 2 7 2 2 1020 4
1000 10 5 0
1010 8 11 1
1018 8 0 2
1020 20 21 2
1040 10 22 2
1050 b0 6 0
FUNC 1200 10 4 no_lines()
INLINE 0 3 9 0 1200 8
STACK WIN 0 1200 10 0 0 c 0 0 0 0 0
PUBLIC 1300 8 a_public
"""


def test_cache_matches_memory_through_nested_inlines(tmp_path: Path) -> None:
    """Inlinees two deep, an inner line 0, a FUNC inlined without line records, a STACK
    WIN parameter size and a PUBLIC: the cache's direct FUNC path answers as the parse."""
    sym = tmp_path / "nested.sym"
    sym.write_bytes(NESTED_INLINES)
    assert _same_everywhere(sym, range(0xFF0, 0x1320), tmp_path) == 0x330
    cached = CachedSymbols(_converted(sym, tmp_path))
    deep = cached.lookup(0x1021)
    assert [i.function for i in deep.inlines] == ["innermost()", "inner()", "middle()"]
    assert (deep.file, deep.line, deep.line_address) == ("outer.cc", 10, 0x1010)
    assert cached.lookup(0x1018).inlines[0].line is None  # line 0 prints as none
    assert cached.lookup(0x1204).parameter_size == 0xC  # STACK WIN over FUNC's 4
    cached.close()


def _converted(sym: Path, tmp_path: Path) -> Path:
    target = tmp_path / "again.cpsym"
    with open(sym, "rb") as src, open(target, "wb") as out:
        convert(src, out)
    return target


def test_cache_matches_memory_with_sparse_names(tmp_path: Path) -> None:
    """FILE and INLINE_ORIGIN ids that are not 0..n-1 (the cache then finds a name by
    bisecting its ids rather than by index), some of them missing."""
    text = NESTED_INLINES
    for old, new in ((b"FILE 0 ", b"FILE 3 "), (b"FILE 1 ", b"FILE 9 "), (b"FILE 2 ", b"FILE 40 ")):
        text = text.replace(old, new)
    text = text.replace(b"INLINE_ORIGIN 1 ", b"INLINE_ORIGIN 7 ")
    text = text.replace(b"1020 20 21 2\n", b"1020 20 21 40\n").replace(b" 5 0\n", b" 5 3\n")
    sym = tmp_path / "sparse.sym"
    sym.write_bytes(text)
    assert _same_everywhere(sym, range(0xFF0, 0x1320), tmp_path) == 0x330
    cached = CachedSymbols(_converted(sym, tmp_path))
    assert cached.files.get(3) == "outer.cc" and cached.files.get(0) is None
    assert (cached.lookup(0x1005).file, cached.lookup(0x1060).file) == ("outer.cc", None)
    cached.close()
