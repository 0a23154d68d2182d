"""Bad dumps: truncated, fuzzed, absurd counts and sizes.

The contract: the reader raises nothing but MinidumpError; walk_minidump returns a
document (corrupt optional streams skipped) or raises MinidumpError; no hang; memory
stays a small multiple of the dump size when counts are not backed by data.
"""

from __future__ import annotations

import random
import struct
import time
import tracemalloc

import pytest

from stackwalk.minidump import Minidump, MinidumpError
from stackwalk.minidump import format as fmt
from stackwalk.process import to_json, walk_minidump_with_notes
from stackwalk.testing import DumpBuilder, encode_context
from tests.stackwalk.compare import DUMPS, UNPROCESSABLE

INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


def _walk(data: bytes) -> dict | None:
    """A document, or None when the dump is unreadable; anything else fails the test."""
    try:
        result = walk_minidump_with_notes(data)
    except MinidumpError as e:
        assert e.reason and "\n" not in e.reason
        return None
    assert result.unwind_errors == {}, "the unwinder raised on this input"
    to_json(result.document)
    return result.document


@pytest.fixture(scope="module")
def dumps():
    return {p.name: p.read_bytes() for p in DUMPS}


def test_every_truncation_length_class(dumps):
    walked = {}
    for name, data in dumps.items():
        lengths = set(range(0, 80)) | set(range(0, len(data), max(1, len(data) // 150)))
        for length in sorted(lengths):
            _walk(data[:length])
        # The whole dump walks (or is refused, as the peer refuses it): the truncations
        # above were cut from real input, not from something _walk never reads.
        walked[name] = _walk(data) is not None
    assert walked == {p.name: p.name not in UNPROCESSABLE for p in DUMPS}


def _mutate(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        # half the mutations hit the header, directory and stream headers, where the
        # counts, sizes and pointers live
        limit = min(len(data), 1024) if rng.random() < 0.5 else len(data)
        pos = rng.randrange(0, max(1, limit - 4))
        if kind < 0.4:
            data[pos] = rng.randrange(256)
        elif kind < 0.8:
            struct.pack_into("<I", data, pos, rng.choice((*INTERESTING_U32, len(data))))
        elif kind < 0.9:
            data[pos] ^= 1 << rng.randrange(8)
        else:
            span = rng.randint(1, 64)
            data[pos : pos + span] = bytes(rng.randrange(256) for _ in range(span))


def test_seeded_fuzz(dumps):
    rng = random.Random(20240601)
    names = sorted(dumps)
    started = time.perf_counter()
    readable = slowest = 0.0
    iterations = 3000
    for _ in range(iterations):
        data = bytearray(dumps[rng.choice(names)])
        _mutate(rng, data)
        t = time.perf_counter()
        readable += _walk(bytes(data)) is not None
        slowest = max(slowest, time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    assert readable > iterations // 4  # most mutations still leave a usable dump
    assert slowest < 2.0 and elapsed < 60


def _absurd_dumps() -> dict[str, bytes]:
    out = {}

    def base() -> DumpBuilder:
        b = DumpBuilder("amd64", "linux")
        b.add_thread(1, {"rip": 0x1000, "rsp": 0x2000}, stack=(0x2000, bytes(64)))
        return b

    kinds = [fmt.THREAD_LIST, fmt.MODULE_LIST, fmt.MEMORY_LIST, fmt.THREAD_NAMES]
    for kind in kinds:
        b = base()
        b.add_stream(kind, struct.pack("<I", 0xFFFFFFFF) + bytes(8))
        out[f"count-{fmt.stream_name(kind)}"] = b.build()
    for kind in (fmt.UNLOADED_MODULE_LIST, fmt.MEMORY_INFO_LIST, fmt.HANDLE_DATA):
        b = base()
        entry = {fmt.UNLOADED_MODULE_LIST: 24, fmt.MEMORY_INFO_LIST: 48, fmt.HANDLE_DATA: 32}[kind]
        b.add_stream(kind, struct.pack("<IIII", 16, entry, 0xFFFFFFFF, 0))
        out[f"ex-count-{fmt.stream_name(kind)}"] = b.build()
    b = base()
    b.add_stream(fmt.MEMORY_64_LIST, struct.pack("<QQ", 1 << 62, 0) + bytes(32))
    out["memory64-count"] = b.build()
    b = base()
    b.add_stream(fmt.MEMORY_64_LIST, struct.pack("<QQQQ", 1, 64, 0x1000, 1 << 62))
    out["memory64-size"] = b.build()
    b = base()
    b.add_memory(0x5000, bytes(16))
    b.add_module(0x400000, 0xFFFFFFFF, "/bin/huge", build_id=bytes(range(16)))
    b.add_module(0xFFFFFFFFFFFFF000, 0x2000, "/bin/overflow")
    b.add_module(0x500000, 0x1000, "/bin/cv", codeview=(0xFFFFFFFF, 0x10))
    out["module-sizes"] = b.build()
    b = base()
    name_rva = b.blob(struct.pack("<I", 0xFFFFFFFE))
    b.add_stream(fmt.THREAD_NAMES, struct.pack("<IIQ", 1, 1, name_rva))
    b.add_stream(
        fmt.CRASHPAD_INFO,
        struct.pack("<I16s16sIIII", 1, bytes(16), bytes(16), 8, name_rva, 4, name_rva),
    )
    out["string-lengths"] = b.build()
    b = base()
    b.add_stream(
        fmt.MOZ_MACOS_CRASH_INFO, struct.pack("<III", 0, 0xFFFFFFFF, 0xFFFFFFFF) + bytes(160)
    )
    out["mac-crash-info"] = b.build()
    b = base()
    b.add_stream(fmt.LINUX_MAPS, b"0-ffffffffffffffff rwxp 0 0:0 0 \n" * 1000)
    b.add_stream(fmt.MOZ_SOFT_ERRORS, b"[" * 100000)
    out["text-streams"] = b.build()
    header = bytearray(DumpBuilder("amd64", "linux").build())
    struct.pack_into("<I", header, 8, 0xFFFFFFFF)
    out["directory-count"] = bytes(header)
    return out


@pytest.mark.parametrize("name", sorted(_absurd_dumps()))
def test_absurd_counts_and_sizes_cost_neither_time_nor_memory(name):
    data = _absurd_dumps()[name]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        doc = _walk(data)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 2_000_000 + 40 * len(data)
    if name == "directory-count" or name.startswith(("count-ThreadList",)):
        assert doc is None
    else:
        assert doc is not None and doc["thread_count"] == 1


def test_corrupt_optional_streams_are_skipped_with_a_note():
    b = DumpBuilder("amd64", "linux")
    b.add_module(0x400000, 0x1000, "/bin/app", build_id=bytes(range(16)))
    b.add_thread(1, {"rip": 0x400010, "rsp": 0x2000})
    b.add_stream(fmt.UNLOADED_MODULE_LIST, struct.pack("<III", 12, 25, 1))
    b.add_stream(fmt.LINUX_MAPS, b"not a mapping\n")
    b.add_stream(fmt.MISC_INFO, bytes(10))
    result = walk_minidump_with_notes(b.build())
    assert set(result.stream_errors) == {"UnloadedModuleList", "LinuxMaps", "MiscInfo"}
    doc = result.document
    assert doc["unloaded_modules"] == [] and doc["linux_memory_map_count"] is None
    assert doc["modules"][0]["filename"] == "app"
    assert doc["threads"][0]["frames"][0]["module"] == "app"


def test_reader_streams_never_raise_anything_else(dumps):
    """Every stream parser on random bytes: a value or MinidumpError, nothing else."""
    rng = random.Random(7)
    kinds = [*list(fmt.STREAM_NAMES), fmt.MODULE_LIST, fmt.LINUX_AUXV]
    for _ in range(400):
        b = DumpBuilder("amd64", rng.choice(["linux", "windows", "mac"]))
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        kind = rng.choice(kinds)
        b.add_stream(kind, blob)
        dump = Minidump(b.build())
        dump.stream(kind)  # None or a value; errors are recorded, not raised
        assert set(dump.stream_errors) <= {fmt.stream_name(kind)}


def test_context_parsing_of_every_size():
    raw = encode_context("arm64", {"pc": 0x1000})
    from stackwalk.minidump.context import read_context

    for size in range(0, len(raw) + 1, 7):
        assert read_context(memoryview(raw[:size]), 12, "<") is None or size >= 912
