"""Every dump in tests/data against rust-minidump's minidump-stackwalk 0.25.

All top-level fields are compared field by field, amd64 instruction analysis included;
the frames themselves are part B's (tests/stackwalk/unwind) and are set aside here. The
peer's outputs come live from the binary, or from tests/data/peer where it is absent.
"""

from __future__ import annotations

import json

import pytest

from stackwalk.minidump import MinidumpError
from stackwalk.process import to_json, walk_minidump
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
from tests.stackwalk.compare import (
    DUMPS,
    SYMBOLS,
    UNPROCESSABLE,
    diff,
    without_frames,
)


def _ours(dump):
    return walk_minidump(dump, SymbolProvider(SymbolSupplier(symbols_paths=[SYMBOLS])))


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_top_level_fields_agree_with_the_peer(peer_outputs, dump):
    output = peer_outputs.get(dump, "symbols")
    if dump.name in UNPROCESSABLE:
        assert output.returncode == 1
        with pytest.raises(MinidumpError):
            _ours(dump)
        return
    theirs = json.loads(output.stdout)
    ours, theirs = without_frames(_ours(dump)), without_frames(theirs)
    assert diff(ours, theirs) == []


@pytest.mark.parametrize(
    "name",
    [
        "test.dmp",
        "test-no-debug-id.dmp",
        "simple-crashpad.dmp",
        "linux-mini.dmp",
        "invalid-parameter.dmp",
        "pipeline-inlines-macos-segv.dmp",
    ],
    ids=str,
)
@pytest.mark.parametrize("pretty", [False, True], ids=["compact", "pretty"])
def test_output_is_byte_identical_where_nothing_is_set_aside(
    peer_outputs, testdata_dir, name, pretty
):
    """Nothing set aside, amd64 instruction analysis included: the bytes must match."""
    dump = testdata_dir / name
    if pretty:
        theirs = peer_outputs.pretty(dump, "symbols")
    else:
        theirs = peer_outputs.get(dump, "symbols").stdout
    assert to_json(_ours(dump), pretty=pretty) == theirs
