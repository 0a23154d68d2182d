"""test.dmp with its symbols from tests/data must equal rust-minidump's published output."""

from __future__ import annotations

import json

import pytest

from stackwalk.process import walk_minidump
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
from tests.stackwalk.compare import SYMBOLS, diff


@pytest.fixture
def expected(testdata_dir):
    text = (testdata_dir / "expected" / "test.dmp.symbols.json").read_text()
    doc = json.loads(text)
    # 0.25 no longer prints process_uptime; the snapshot predates that.
    doc.pop("process_uptime")
    return doc


def test_test_dmp_matches_the_published_output(testdata_dir, expected):
    provider = SymbolProvider(SymbolSupplier(symbols_paths=[SYMBOLS]))
    ours = walk_minidump(testdata_dir / "test.dmp", provider)
    assert diff(ours, expected) == []
