"""The test dumps: our frames against rust-minidump's, and the documented results.

Every thread of every dump in tests/data is walked by `walk_minidump` (our reader
plus this unwinder) and by the peer (`minidump-stackwalk --json DUMP SYMBOLS`), with and
without its symbols, and frames are compared by (module, module_offset, function,
trust). The expectations in stackwalk-symbols.md section 5.8 are checked on our output
alone, so they hold even where the peer cannot be run.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from stackwalk.process import walk_minidump
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
from tests.conftest import TESTDATA

SYMBOLS = TESTDATA / "symbols"
DUMPS = sorted(TESTDATA.glob("*.dmp"))
# No thread list: neither side produces frames for these (part A tests the errors).
UNPROCESSABLE = {"invalid-range.dmp", "invalid-record-count.dmp"}
WALKABLE = [d for d in DUMPS if d.name not in UNPROCESSABLE]


def frame_keys(document: dict) -> list[list[tuple]]:
    return [
        [(f["module"], f["module_offset"], f["function"], f["trust"]) for f in thread["frames"]]
        for thread in document["threads"]
    ]


def ours(dump: Path, with_symbols: bool) -> dict:
    provider = SymbolProvider(SymbolSupplier(symbols_paths=[SYMBOLS])) if with_symbols else None
    return walk_minidump(dump, provider)


def peer(peer_outputs, dump: Path, with_symbols: bool) -> dict:
    """The peer's frames, live or stored (tests/data/peer)."""
    return peer_outputs.get(dump, "symbols" if with_symbols else "no-symbols").json()


@pytest.fixture
def shared_dumps(testdata_dir: Path) -> Path:
    return testdata_dir


@pytest.mark.parametrize("with_symbols", [True, False], ids=["symbols", "no-symbols"])
@pytest.mark.parametrize("dump", WALKABLE, ids=lambda p: p.name)
def test_every_thread_matches_the_peer(peer_outputs, shared_dumps, dump, with_symbols):
    mine = frame_keys(ours(dump, with_symbols))
    theirs = frame_keys(peer(peer_outputs, dump, with_symbols))
    assert len(mine) == len(theirs)
    for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        assert a == b, f"{dump.name} thread {index}"
    assert sum(map(len, theirs)) > len(theirs)  # something past the context frames


def trusts(document: dict, thread: int | None = None) -> list[str] | Counter:
    if thread is not None:
        return [f["trust"] for f in document["threads"][thread]["frames"]]
    return Counter(f["trust"] for t in document["threads"] for f in t["frames"])


def test_test_dmp_without_symbols_follows_the_ebp_chain(shared_dumps):
    frames = ours(shared_dumps / "test.dmp", with_symbols=False)["threads"][0]["frames"]
    assert [(f["offset"], f["trust"]) for f in frames] == [
        ("0x0040429e", "context"),
        ("0x004041ff", "frame_pointer"),
        ("0x004053eb", "frame_pointer"),
        ("0x7c816fd6", "frame_pointer"),
    ]
    assert frames[3]["module"] == "kernel32.dll"


def test_test_dmp_with_symbols_matches_the_expected_document(shared_dumps):
    """Frames of the crashing thread as in expected/test.dmp.symbols.json (the rust
    tool's snapshot): STACK WIN carries the walk into kernel32 with trust `cfi`."""
    expected = json.loads((shared_dumps / "expected" / "test.dmp.symbols.json").read_text())
    keys = ("offset", "module", "module_offset", "function", "function_offset", "file", "line")
    keys += ("trust",)
    frames = ours(shared_dumps / "test.dmp", with_symbols=True)["threads"][0]["frames"]
    wanted = expected["threads"][0]["frames"]
    assert [[f[k] for k in keys] for f in frames] == [[f[k] for k in keys] for f in wanted]
    assert [f["trust"] for f in frames] == ["context", "cfi", "cfi", "cfi"]
    assert frames[1]["function"] == "main"


def test_linux_mini_is_all_stack_scanning(shared_dumps):
    document = ours(shared_dumps / "linux-mini.dmp", with_symbols=False)
    assert trusts(document, 0) == ["context"] + ["scan"] * 14


def test_macos_dump_trust_counts(shared_dumps):
    document = ours(shared_dumps / "pipeline-inlines-macos-segv.dmp", with_symbols=True)
    assert trusts(document) == Counter(context=11, cfi=46, frame_pointer=20, scan=1)
    last_two = document["threads"][0]["frames"][-2:]
    assert [(f["trust"], f["module"], f["module_offset"]) for f in last_two] == [
        ("cfi", "libdyld.dylib", "0x0000000000015f3c"),
        ("scan", "libdyld.dylib", "0x0000000000015f3c"),
    ]
