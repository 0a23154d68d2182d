"""crash_info where an earlier version of ours differed from rust-minidump 0.25: a `ret`
whose return address (at rsp) is not the first word of the stack memory, and bit-flip
confidences that are not exact in f32 (printed widened to f64).

The dumps are synthesized here; the peer's output for each is stored in
tests/data/peer-stackwalk-crash-info-edges.json (with the sha256 of the dump it was made
from), so the comparison holds without the peer binary. When the peer can be had, its live
output is checked against the stored one too. To re-record after changing a dump:

    .venv/bin/python -m tests.stackwalk.test_crash_info_edges --record
"""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from stackwalk.minidump import format as fmt
from stackwalk.process import to_json, walk_minidump
from stackwalk.testing import DumpBuilder
from tests.conftest import TESTDATA

STORED = TESTDATA / "peer-stackwalk-crash-info-edges.json"
BASE = 0x7F0000000000
STACK = 0x7FFF00000000


def _ret_dump(at_rsp: int, at_stack_start: int, flags: int = 1) -> bytes:
    """SIGSEGV on a `ret` with rsp 0x40 bytes into the captured stack."""
    b = DumpBuilder("amd64", "linux")
    b.add_module(BASE, 0x10000, "/usr/bin/app", build_id=bytes(range(20)))
    b.add_memory(BASE + 0x1000, b"\x90" * 0x10 + b"\xc3" + b"\x90" * 15)
    stack = bytearray(0x100)
    struct.pack_into("<Q", stack, 0, at_stack_start)
    struct.pack_into("<Q", stack, 0x40, at_rsp)
    regs = {"rip": BASE + 0x1010, "rsp": STACK + 0x40, "rbp": STACK + 0x80}
    tid = b.add_thread(7, regs, stack=(STACK, bytes(stack)))
    b.set_exception(tid, 11, flags=flags, regs=regs)
    return b.build()


def _bit_flip_dump() -> bytes:
    """A crash address one bit away from mapped stack memory with two registers near the
    corrected address: confidence 1 - 0.75 * 0.45, which f32 cannot hold exactly."""
    b = DumpBuilder("amd64", "linux")
    b.add_module(BASE, 0x10000, "/usr/bin/app", build_id=bytes(range(20)))
    maps = (
        f"{BASE:x}-{BASE + 0x10000:x} r-xp 00000000 08:01 1234 /usr/bin/app\n"
        f"{STACK:x}-{STACK + 0x1000:x} rw-p 00000000 00:00 0 [stack]\n"
    )
    b.add_stream(fmt.LINUX_MAPS, maps.encode())
    target = STACK + 0x800
    regs = {"rip": BASE + 0x1010, "rsp": STACK + 0x40, "rbx": target + 8}
    tid = b.add_thread(7, regs, stack=(STACK, bytes(0x100)))
    b.set_exception(tid, 11, flags=1, address=target ^ (1 << 36), regs=regs)
    return b.build()


DUMPS: dict[str, Callable[[], bytes]] = {
    "ret-return-address-at-rsp.dmp": lambda: _ret_dump(BASE + 0x1234, BASE + 0x5678),
    "ret-null-return-address.dmp": lambda: _ret_dump(0, BASE + 0x5678),
    "ret-non-canonical-return-address.dmp": lambda: _ret_dump(0x8000_0000_0000_1234, 0, 0x80),
    "bit-flip-two-nearby-registers.dmp": _bit_flip_dump,
}


def _stored() -> dict:
    return json.loads(STORED.read_text())


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("crash-info-edges")
    out = {}
    for name, build in DUMPS.items():
        out[name] = root / name
        out[name].write_bytes(build())
    return out


@pytest.mark.parametrize("name", sorted(DUMPS))
def test_ours_is_the_stored_peer_output_byte_for_byte(dumps, name):
    entry = _stored()["dumps"][name]
    assert hashlib.sha256(dumps[name].read_bytes()).hexdigest() == entry["dump_sha256"], (
        "the dump changed since the peer's output was recorded: re-record it (see the docstring)"
    )
    assert to_json(walk_minidump(dumps[name])) == entry["stdout"]


@pytest.mark.parametrize("name", sorted(DUMPS))
def test_the_stored_output_is_the_live_peers(peer_stackwalker, dumps, name):
    proc = subprocess.run(
        [str(peer_stackwalker), "--json", str(dumps[name])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout == _stored()["dumps"][name]["stdout"]


def test_the_dumps_exercise_what_differed():
    dumps = {name: json.loads(entry["stdout"]) for name, entry in _stored()["dumps"].items()}
    at_rsp = dumps["ret-return-address-at-rsp.dmp"]["crash_info"]
    assert at_rsp["instruction_pointer_update"] == {"address": "0x00007f0000001234"}
    null = dumps["ret-null-return-address.dmp"]["crash_info"]
    assert null["adjusted_address"] == {"kind": "null-pointer", "offset": "0x0000000000000000"}
    non_canonical = dumps["ret-non-canonical-return-address.dmp"]["crash_info"]
    assert non_canonical["adjusted_address"]["address"] == "0x8000000000001234"
    flips = dumps["bit-flip-two-nearby-registers.dmp"]["crash_info"]["possible_bit_flips"]
    assert [f["confidence"] for f in flips] == [0.6625000238418579]


def record(peer: Path) -> None:
    """Run the peer on every dump and store its output (the command is stored with it)."""
    version = subprocess.run([str(peer), "--version"], capture_output=True, text=True).stdout
    entries = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in sorted(DUMPS.items()):
            path = Path(tmp) / name
            path.write_bytes(build())
            proc = subprocess.run(
                [str(peer), "--json", str(path)], capture_output=True, text=True, check=True
            )
            entries[name] = {
                "dump_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "stdout": proc.stdout,
            }
    document = {
        "peer": version.strip(),
        "command": "minidump-stackwalk --json DUMP",
        "recorded_by": "python -m tests.stackwalk.test_crash_info_edges --record",
        "dumps": entries,
    }
    STORED.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        raise SystemExit(__doc__)
    fetched = subprocess.run(
        ["bash", str(TESTDATA.parents[1] / "tools" / "fetch-minidump-stackwalk")],
        capture_output=True,
        text=True,
        check=True,
        cwd=TESTDATA.parents[1],
    )
    record((TESTDATA.parents[1] / fetched.stdout.strip().splitlines()[-1]).resolve())
