"""Helpers for comparing our stackwalker with rust-minidump's (the peer)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import TESTDATA

SYMBOLS = TESTDATA / "symbols"
DUMPS = sorted(TESTDATA.glob("*.dmp"))
# The peer exits 1 without JSON on these (no thread list), and so do we.
UNPROCESSABLE = {"invalid-range.dmp", "invalid-record-count.dmp"}


def run_peer(peer: Path, dump: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(peer), "--json", str(dump), *args], capture_output=True, text=True, timeout=120
    )


def diff(ours: object, theirs: object, path: str = "") -> list[str]:
    """Human-readable differences between two JSON values (empty when equal)."""
    if type(ours) is not type(theirs):
        return [f"{path}: {ours!r:.80} != {theirs!r:.80}"]
    if isinstance(ours, dict):
        out = []
        for key in sorted(set(ours) | set(theirs)):
            if key not in ours:
                out.append(f"{path}/{key}: missing in ours")
            elif key not in theirs:
                out.append(f"{path}/{key}: only in ours")
            else:
                out += diff(ours[key], theirs[key], f"{path}/{key}")
        return out
    if isinstance(ours, list):
        out = [] if len(ours) == len(theirs) else [f"{path}: {len(ours)} != {len(theirs)} items"]
        for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            out += diff(a, b, f"{path}[{i}]")
        return out
    return [] if ours == theirs else [f"{path}: {ours!r:.80} != {theirs!r:.80}"]


def without_frames(doc: dict) -> dict:
    """The document with every thread's frames (and frame counts) set aside."""
    doc = json.loads(json.dumps(doc))
    for thread in doc.get("threads", []) + (
        [doc["crashing_thread"]] if "crashing_thread" in doc else []
    ):
        thread.pop("frames", None)
        thread.pop("frame_count", None)
    return doc


def normalized(doc: dict) -> dict:
    """Peer output made comparable: proc_limits order comes from a Rust HashMap."""
    doc = json.loads(json.dumps(doc))
    if doc.get("proc_limits"):
        doc["proc_limits"]["limits"].sort(key=lambda lim: lim["name"])
    return doc


def first_frames(doc: dict) -> list:
    """Frame 0 of every thread: the context frame, which the reader alone decides."""
    return [t["frames"][:1] for t in doc["threads"]]


def peer_differences(peer: Path, dump: Path, ours: dict, *args: str) -> list[str]:
    """Differences between our document and the peer's, frames past frame 0 set aside."""
    proc = run_peer(peer, dump, *args)
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    ours, theirs = normalized(ours), normalized(theirs)
    return diff(first_frames(ours), first_frames(theirs)) + diff(
        without_frames(ours), without_frames(theirs)
    )
