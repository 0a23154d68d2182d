"""Issue 18: a dump claiming 100,000 threads that share one stack is walked within caps.

Before: the built-in walker unwound all 900,000 frames (40 s, 1.94 GB) into a 230-370 MB
document, and the processor held all of it. Now the caps of stackwalk.limits bound threads
walked, frames per thread, frames in all and the document's size; each cap that triggers is a
note and the document's ``stackwalk_limits`` object. The time and memory figures, before
(caps off) and after, are `make bench-hostile`'s.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stackwalk.human import render
from stackwalk.jsonout import to_json
from stackwalk.limits import FIELD, WalkLimits, json_size, limit_document
from stackwalk.process import walk_minidump_with_notes
from stackwalk.testing import DumpBuilder, shared_stack_dump

THREADS = 100_000
DEPTH = 8  # frames in the shared stack's rbp chain: each walked thread has DEPTH + 1
CRASHING_TID = 99_001  # late in the list, so only walking it first keeps it walked


@pytest.fixture(scope="module")
def hostile_dump() -> bytes:
    return shared_stack_dump(THREADS, DEPTH, crashing=CRASHING_TID)


def test_the_hostile_dump_is_small_and_claims_100000_threads(hostile_dump):
    assert len(hostile_dump) < 5_000_000


def test_default_caps_walk_the_crashing_thread_and_the_first_threads_only(hostile_dump):
    limits = WalkLimits()
    result = walk_minidump_with_notes(hostile_dump, limits=limits)
    doc = result.document
    threads = doc["threads"]
    crashing_index = CRASHING_TID - 1

    # Every thread is still listed, in place; the count is the dump's.
    assert doc["thread_count"] == THREADS and len(threads) == THREADS
    assert [t["thread_id"] for t in threads[:3]] == [1, 2, 3]
    # The crashing thread was walked in full although it comes after the cap.
    assert threads[crashing_index]["frame_count"] == DEPTH + 1
    assert doc["crashing_thread"]["threads_index"] == crashing_index
    assert doc["crashing_thread"]["thread_id"] == CRASHING_TID
    # It counts among the walked threads: the first max_threads - 1 others are walked.
    walked = [i for i, t in enumerate(threads) if t["frames"]]
    assert walked == [*range(limits.max_threads - 1), crashing_index]
    assert all(threads[i]["frame_count"] == DEPTH + 1 for i in walked)
    unwalked = threads[limits.max_threads - 1]
    assert unwalked == {
        "thread_id": limits.max_threads,
        "thread_name": None,
        "last_error_value": None,
        "frame_count": 0,
        "frames": [],
    }

    record = doc[FIELD]
    assert record["triggered"] == ["max_threads"]
    assert record["threads_walked"] == limits.max_threads
    assert record["threads_not_walked"] == THREADS - limits.max_threads
    assert record["threads_omitted"] == 0
    assert record["frames"] == limits.max_threads * (DEPTH + 1)
    assert record["max_threads"] == limits.max_threads
    assert result.limit_notes == [
        f"threads walked capped at {limits.max_threads:,}: "
        f"{THREADS - limits.max_threads:,} of {THREADS:,} threads listed without frames"
    ]
    # Bounded output: under the size cap (the uncapped walk printed ~230 MB).
    assert len(to_json(doc).encode()) <= limits.max_json_size


@pytest.mark.parametrize("cap", [4 << 20, 1 << 20])
def test_the_size_cap_omits_threads_from_the_end_but_never_the_crashing_one(hostile_dump, cap):
    limits = WalkLimits(max_json_size=cap)
    result = walk_minidump_with_notes(hostile_dump, limits=limits)
    doc = result.document
    assert len(to_json(doc).encode()) <= cap
    record = doc[FIELD]
    assert record["triggered"] == ["max_threads", "json_size"]
    assert record["threads_omitted"] > 0
    assert len(doc["threads"]) == THREADS - record["threads_omitted"]
    assert doc["thread_count"] == THREADS
    index = doc["crashing_thread"]["threads_index"]
    assert doc["crash_info"]["crashing_thread"] == index
    assert doc["threads"][index]["thread_id"] == CRASHING_TID
    assert doc["threads"][index]["frame_count"] == DEPTH + 1
    with_frames = [i for i, t in enumerate(doc["threads"]) if t["frames"]]
    if cap == 4 << 20:
        # Entries listed without frames go first: every walked thread is still there.
        assert len(with_frames) == limits.max_threads
    else:
        # Then walked threads, from the end: the first ones and the crashing one stay.
        assert len(with_frames) < limits.max_threads
        assert with_frames == [*range(len(with_frames) - 1), index]
        assert index == len(doc["threads"]) - 1
    assert f"document larger than {cap:,} bytes" in result.limit_notes[-1]


def test_frame_caps_cut_threads_and_stop_walking():
    dump = shared_stack_dump(50, DEPTH, crashing=50)
    per_thread = walk_minidump_with_notes(dump, limits=WalkLimits(max_frames_per_thread=4))
    doc = per_thread.document
    assert {t["frame_count"] for t in doc["threads"]} == {4}
    assert len(doc["crashing_thread"]["frames"]) == 4
    assert doc[FIELD]["triggered"] == ["max_frames_per_thread"]
    assert doc[FIELD]["threads_cut"] == 50
    assert per_thread.limit_notes == ["frames per thread capped at 4"]

    total = walk_minidump_with_notes(dump, limits=WalkLimits(max_total_frames=40))
    doc = total.document
    counts = [t["frame_count"] for t in doc["threads"]]
    # The crashing thread (the last) first, then 3 more in full, the next cut to 4 frames.
    assert counts[:5] == [DEPTH + 1] * 3 + [4, 0] and counts[-1] == DEPTH + 1
    assert sum(counts) == 40
    assert doc[FIELD]["triggered"] == ["max_total_frames"]
    assert doc[FIELD]["threads_not_walked"] == 50 - 5


def test_an_uncapped_walk_capped_afterwards_equals_the_capped_walk():
    """The processor applies the caps to rust-minidump's (or a stored) output: the document
    must be the one the built-in walker writes with the same caps."""
    dump = shared_stack_dump(3000, DEPTH, crashing=2500)
    limits = WalkLimits(max_threads=100, max_total_frames=500, max_json_size=200_000)
    capped = walk_minidump_with_notes(dump, limits=limits)
    full = walk_minidump_with_notes(dump, limits=WalkLimits.unlimited())
    assert FIELD not in full.document and full.limit_notes == []
    notes = limit_document(full.document, limits)
    assert to_json(full.document) == to_json(capped.document)
    assert notes == capped.limit_notes
    assert json_size(capped.document) <= limits.max_json_size


def test_normal_dumps_are_untouched_by_the_default_caps():
    dump = shared_stack_dump(200, DEPTH, crashing=7)
    capped = walk_minidump_with_notes(dump)
    full = walk_minidump_with_notes(dump, limits=WalkLimits.unlimited())
    assert capped.limit_notes == [] and FIELD not in capped.document
    assert to_json(capped.document) == to_json(full.document)


def test_the_stackwalk_command_takes_the_caps_as_flags(tmp_path, hostile_dump):
    dump = tmp_path / "hostile.dmp"
    dump.write_bytes(hostile_dump)
    log = tmp_path / "log.txt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "stackwalk.cli",
            "--json",
            "--max-threads",
            "10",
            "--verbose",
            "warn",
            "--log-file",
            str(log),
            str(dump),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc[FIELD]["threads_walked"] == 10 and doc["thread_count"] == THREADS
    assert "threads walked capped at 10" in log.read_text()
    refused = subprocess.run(
        [sys.executable, "-m", "stackwalk.cli", "--json", "--max-threads", "-1", str(dump)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1 and "--max-threads must not be negative" in refused.stderr


def _process_capped(
    tmp_path: Path, dump: bytes, stackwalker: str, caps: dict[str, str], output: str | None = None
) -> dict:
    """``crashproc process`` (a process of its own, as an operator runs it) over a crash of
    ``dump`` (and a stored stackwalker ``output`` beside it) with the ``caps`` settings;
    returns the processed crash it wrote."""
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "raw_crash.json").write_text(json.dumps({"ProductName": "Firefox"}))
    (crash / "upload_file_minidump").write_bytes(dump)
    if output is not None:
        (crash / "upload_file_minidump.json").write_text(output)
    out = tmp_path / "out"
    command = ["process", "--stackwalker", stackwalker, "--out", str(out), str(crash)]
    done = subprocess.run(
        [sys.executable, "-m", "processor", *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **caps, "CRASHPROC_SCRATCH_DIR": str(tmp_path / "scratch")},
    )
    assert done.returncode == 0, done.stderr
    (written,) = out.iterdir()
    assert len(written.read_bytes()) < 1_000_000
    return json.loads(written.read_text())


def test_the_processor_notes_each_cap_and_validates_the_capped_crash(tmp_path):
    processed = _process_capped(
        tmp_path,
        shared_stack_dump(5000, DEPTH, crashing=4000),
        "builtin",
        {
            "CRASHPROC_STACKWALKER_MAX_THREADS": "20",
            "CRASHPROC_STACKWALKER_MAX_JSON_SIZE": "300000",
        },
    )
    record = processed["json_dump"][FIELD]
    assert record["triggered"] == ["max_threads", "json_size"]
    assert record["threads_walked"] == 20
    notes = [n for n in processed["processor_notes"].split("\n") if "stackwalker limit" in n]
    assert len(notes) == 2, processed["processor_notes"]
    assert "threads walked capped at 20" in notes[0]
    assert "document larger than 300,000 bytes" in notes[1]
    assert processed["thread_count"] == 5000
    assert (
        processed["crashing_thread"] == processed["json_dump"]["crashing_thread"]["threads_index"]
    )


def test_a_stored_output_is_capped_as_a_walk_would_be(tmp_path):
    """A stored stackwalker output (rust-minidump's, run elsewhere) holding every thread walked
    is capped on the way into the processed crash, with no stackwalker configured."""
    dump = shared_stack_dump(3000, DEPTH, crashing=2500)
    uncapped = walk_minidump_with_notes(dump, limits=WalkLimits.unlimited()).document
    processed = _process_capped(
        tmp_path, dump, "none", {"CRASHPROC_STACKWALKER_MAX_THREADS": "20"}, to_json(uncapped)
    )
    expected = walk_minidump_with_notes(dump, limits=WalkLimits(max_threads=20)).document
    assert processed["json_dump"][FIELD] == expected[FIELD]
    assert [t["frame_count"] for t in processed["json_dump"]["threads"]] == [
        t["frame_count"] for t in expected["threads"]
    ]
    assert (
        "StackwalkRule: upload_file_minidump: stackwalker limit: threads walked capped at 20"
        in (processed["processor_notes"])
    )


def _interleaved_dump(threads: int = 12, writer: int = 3) -> bytes:
    """amd64 Linux: threads 1..threads, one frame each at a rip that names the thread
    (module base + 0x100 * tid); thread `writer` wrote the dump (listed without frames)."""
    module = 0x40_0000
    b = DumpBuilder("amd64", "linux")
    b.add_module(module, 0x10000, "/usr/lib/app", build_id=bytes(range(20)))
    for tid in range(1, threads + 1):
        b.add_thread(tid, {"rip": module + 0x100 * tid, "rsp": 0x7000_0000})
    b.set_breakpad_info(dump_tid=writer, requesting_tid=1)
    b.set_exception(1, code=11, address=0x45, regs={"rip": module + 0x100, "rsp": 0x7000_0000})
    return b.build()


def test_the_human_report_follows_the_threads_the_size_cap_keeps():
    """The size cap removes the dump writer's entry from the middle of the thread list; the
    human report's per-frame registers (kept beside the document) follow the threads'
    new positions: each printed thread shows its own rip, and no thread is left out as
    the dump writer but the one that was."""
    dump = _interleaved_dump()
    full = walk_minidump_with_notes(dump, limits=WalkLimits.unlimited()).document
    result = walk_minidump_with_notes(dump, limits=WalkLimits(max_json_size=json_size(full) - 1))
    doc = result.document
    assert doc[FIELD]["threads_omitted"] == 1 and doc[FIELD]["threads_cut"] > 0
    tids = [t["thread_id"] for t in doc["threads"]]
    assert 3 not in tids and len(tids) == 11

    report = render(doc, brief=False, facts=result.report)
    blocks = re.findall(r"^Thread (\d+) .*- tid: (\d+)\n((?:(?!Thread ).*\n)*)", report, re.M)
    assert sorted(int(tid) for _, tid, _ in blocks) == tids
    for position, tid, body in blocks:
        thread = doc["threads"][int(position)]
        assert thread["thread_id"] == int(tid)
        rips = re.findall(r"rip = (0x[0-9a-f]+)", body)
        if thread["frames"]:
            assert [int(r, 16) for r in rips] == [0x40_0000 + 0x100 * int(tid)]
        else:
            assert rips == [] and "<no frames>" in body
