"""Several STACK CFI rows per function, against the peer (live, or its stored output).

One amd64 function whose CFI changes all the way through: `.cfa` moves from `$rsp` to `$rbp`
and back, `.ra` moves mid-function, and `$rbp`, `$rbx`, `$r12` are saved at different offsets
by different rows. One thread stops at each row (and between rows), with a stack laid out so
that every row's rules -- the INIT rules plus all rows up to the address -- give a different
frame and different recovered registers than a wrong subset of them would. Frames and the
registers of every frame are compared with rust-minidump 0.25's minidump-stackwalk.

Without the peer binary the comparison uses tests/data/peer/cfi-rows-amd64.json, which
records the peer's answer together with the SHA-256 of the dump and .sym it was given (so
a changed scenario cannot be compared with a stale answer); `python -m
tests.stackwalk.unwind.test_peer_cfi_rows PEER` rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import uuid
from pathlib import Path

from tests.peer_outputs import STORED
from tests.stackwalk.unwind.synth import Scenario, SynthModule
from tests.stackwalk.unwind.test_peer_synthetic import Case, our_walk, peer_walk

STORED_FILE = STORED / "cfi-rows-amd64.json"
APP_BASE = 0x400000
FUNC = 0x1000

# `.cfa`/`.ra` change mid-function; registers are saved at different offsets by different rows.
MULTI_ROW_SYM = """
FUNC 1000 100 0 many_rows
STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 1001 .cfa: $rsp 16 + $rbp: .cfa -16 + ^
STACK CFI 1004 .cfa: $rbp 16 +
STACK CFI 1008 $rbx: .cfa -24 + ^
STACK CFI 1010 $r12: .cfa -32 + ^
STACK CFI 1030 .cfa: $rsp 48 + .ra: .cfa -40 + ^ $rbx: .cfa -48 + ^
STACK CFI 10f0 .cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^ $rbx: $rbx $r12: $r12
"""


def cfi_rows_case() -> Case:
    # Fixed debug ids: the stored answer is for these exact bytes.
    app = SynthModule("app", APP_BASE, 0x10000, MULTI_ROW_SYM, uuid.UUID(int=0xC1F1))
    lib = SynthModule("libc.so", 0x7F0000000000, 0x100000, None, uuid.UUID(int=0x11BC))
    case = Case("amd64", "linux", [app, lib])
    libc = lib.base
    ip = APP_BASE + FUNC

    # INIT only: the return address is at [rsp].
    s = case.stack()
    s.word(libc + 0x100).fill(6)
    case.thread("INIT row", s, ip, fp=0x1111, rbx=0x2222, r12=0x3333)

    # After `push rbp` (row 1001): cfa = rsp+16, rbp saved at [rsp], return address above it.
    s = case.stack()
    s.word(0xAB01, libc + 0x200).fill(6)
    case.thread("row 1001", s, ip + 2, fp=0x1111, rbx=0x2222, r12=0x3333)

    # Rows 1004 and 1008 and 1010: cfa from rbp; rbx and then r12 saved below the saved rbp.
    for name, at in (("row 1004", 0x6), ("row 1008", 0xA), ("rows up to 1010", 0x20)):
        s = case.stack()
        s.fill(2)
        saved_r12 = s.here
        s.word(0xC12, 0xB0B)  # [rbp-16] r12, [rbp-8] rbx
        rbp = s.here
        s.word(0xAB02, libc + 0x300 + at).fill(6)
        assert saved_r12 == rbp - 16
        case.thread(name, s, ip + at, fp=rbp, rbx=0x2222, r12=0x3333)

    # Row 1030: cfa back on rsp (rsp+48), the return address at cfa-40, rbx re-saved at
    # cfa-48, r12 and rbp still from rows 1010 and 1001 (cfa-32, cfa-16).
    s = case.stack()
    s.word(0xB1B1, libc + 0x400, 0xAAAA, 0xC1C1, 0xBBBB, 0xAB03).fill(6)
    case.thread("row 1030 over earlier rows", s, ip + 0x40, fp=0x77, rbx=0x2222, r12=0x3333)

    # Row 10f0 (epilogue): everything reset except what it does not name.
    s = case.stack()
    s.word(0xAB04, libc + 0x500).fill(6)
    case.thread("epilogue row 10f0", s, ip + 0xF4, fp=0x77, rbx=0x2222, r12=0x3333)
    return case


def _fingerprint(scenario: Scenario) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        dump, symbols = scenario.write(Path(tmp))
        sym = next(symbols.rglob("*.sym"))
        return {
            "dump_sha256": hashlib.sha256(dump.read_bytes()).hexdigest(),
            "sym_sha256": hashlib.sha256(sym.read_bytes()).hexdigest(),
        }


def _as_json(walk: tuple) -> dict:
    threads, asked, registers = walk
    return json.loads(
        json.dumps({"threads": threads, "asked": sorted(asked), "registers": registers})
    )


def record(peer: Path) -> None:
    scenario = cfi_rows_case().scenario()
    with tempfile.TemporaryDirectory() as tmp:
        walk = peer_walk(peer, scenario, Path(tmp))
    doc = {**_fingerprint(scenario), **_as_json(walk)}
    STORED_FILE.write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def test_every_row_applies_as_the_peer_applies_it(peer_outputs, tmp_path: Path) -> None:
    case = cfi_rows_case()
    scenario = case.scenario()
    stored = json.loads(STORED_FILE.read_text())
    assert {k: stored[k] for k in ("dump_sha256", "sym_sha256")} == _fingerprint(scenario), (
        "the scenario changed: re-record tests/data/peer/cfi-rows-amd64.json (module docstring)"
    )
    theirs = {k: stored[k] for k in ("threads", "asked", "registers")}
    if peer_outputs.live:
        live = _as_json(peer_walk(peer_outputs.peer, scenario, tmp_path))
        assert live == theirs, "tests/data/peer/cfi-rows-amd64.json is stale: re-record it"
    ours = _as_json(our_walk(scenario))
    for i, name in enumerate(case.names):
        assert ours["threads"][i] == theirs["threads"][i], f"frames of thread {name!r}"
        assert ours["registers"][i] == theirs["registers"][i], f"registers of thread {name!r}"
    assert ours == theirs
    # Every thread unwinds through the CFI into libc: the rows were really used.
    for thread in theirs["threads"]:
        assert thread[0][0] == "context" and thread[1][:2] == ["cfi", "libc.so"], thread


if __name__ == "__main__":
    record(Path(sys.argv[1]))
