"""Every dump in tests/data against rust-minidump's minidump-stackwalk 0.25.

All top-level fields are compared field by field, amd64 instruction analysis included;
the frames themselves are part B's (tests/stackwalk/unwind) and are set aside here.
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
    HAS_UNWINDER,
    SYMBOLS,
    UNPROCESSABLE,
    diff,
    run_peer,
    without_frames,
    without_symbol_stats,
)


def _ours(dump):
    return walk_minidump(dump, SymbolProvider(SymbolSupplier(symbols_paths=[SYMBOLS])))


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_top_level_fields_agree_with_the_peer(peer_stackwalker, dump):
    proc = run_peer(peer_stackwalker, dump, str(SYMBOLS))
    if dump.name in UNPROCESSABLE:
        assert proc.returncode == 1
        with pytest.raises(MinidumpError):
            _ours(dump)
        return
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    ours, theirs = without_frames(_ours(dump)), without_frames(theirs)
    if not HAS_UNWINDER:
        ours, theirs = without_symbol_stats(ours), without_symbol_stats(theirs)
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
    peer_stackwalker, testdata_dir, name, pretty
):
    """Nothing set aside, amd64 instruction analysis included: the bytes must match."""
    if not HAS_UNWINDER:
        pytest.skip("frames past the context frame need part B's unwinder")
    dump = testdata_dir / name
    args = [str(SYMBOLS)] + (["--pretty"] if pretty else [])
    proc = run_peer(peer_stackwalker, dump, *args)
    assert to_json(_ours(dump), pretty=pretty) == proc.stdout
