"""test.dmp with its symbols from tests/data must equal rust-minidump's published output."""

from __future__ import annotations

import json

import pytest

from stackwalk.process import walk_minidump
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
from tests.stackwalk.compare import HAS_UNWINDER, SYMBOLS, diff


@pytest.fixture
def expected(testdata_dir):
    text = (testdata_dir / "expected" / "test.dmp.symbols.json").read_text()
    doc = json.loads(text)
    # 0.25 no longer prints process_uptime; the snapshot predates that.
    doc.pop("process_uptime")
    return doc


def _pending_frames(ours: dict, expected: dict) -> None:
    """Without part B's unwinder only the context frame exists: compare frame 0 and set
    aside the later frames and the module lookups they cause (kernel32's missing_symbols)."""
    for doc in (ours, expected):
        for thread in doc["threads"] + [doc["crashing_thread"]]:
            thread["frames"] = thread["frames"][:1]
            thread["frame_count"] = len(thread["frames"])
        for module in doc["modules"]:
            if module["filename"] == "kernel32.dll":
                module["missing_symbols"] = False


def test_test_dmp_matches_the_published_output(testdata_dir, expected):
    provider = SymbolProvider(SymbolSupplier(symbols_paths=[SYMBOLS]))
    ours = walk_minidump(testdata_dir / "test.dmp", provider)
    if not HAS_UNWINDER:
        _pending_frames(ours, expected)
    assert diff(ours, expected) == []
