"""amd64 instruction analysis (crash_info's instruction, memory accesses, instruction
pointer update, adjusted address, the inconsistencies and bit flips that follow from
them) against rust-minidump 0.25's minidump-stackwalk (the peer)."""

from __future__ import annotations

import json

import pytest

from stackwalk.process import walk_minidump
from tests.stackwalk.compare import diff, run_peer

OP_FIELDS = (
    "type",
    "address",
    "instruction",
    "memory_accesses",
    "instruction_pointer_update",
    "adjusted_address",
    "possible_bit_flips",
    "crash_inconsistencies",
)


def crash_info(doc: dict) -> dict:
    """The op-analysis part of crash_info, through JSON (f32 confidences as floats)."""
    info = json.loads(json.dumps(doc["crash_info"]))
    return {key: info[key] for key in OP_FIELDS}


def peer_crash_info(peer, path) -> dict:
    proc = run_peer(peer, path)
    assert proc.returncode == 0, proc.stderr
    return crash_info(json.loads(proc.stdout))


@pytest.mark.parametrize(
    "name", ["linux-mini.dmp", "invalid-parameter.dmp", "pipeline-inlines-macos-segv.dmp"]
)
def test_amd64_test_dumps_agree_field_for_field(peer_stackwalker, testdata_dir, name):
    path = testdata_dir / name
    theirs = peer_crash_info(peer_stackwalker, path)
    ours = crash_info(walk_minidump(path))
    assert theirs["instruction"] and theirs["memory_accesses"]  # the dumps do analyse
    assert diff(ours, theirs) == []


def test_x86_dumps_have_no_instruction_analysis(peer_stackwalker, testdata_dir):
    path = testdata_dir / "test.dmp"
    ours = crash_info(walk_minidump(path))
    assert ours["instruction"] is None and ours["memory_accesses"] is None
    assert ours == peer_crash_info(peer_stackwalker, path)
