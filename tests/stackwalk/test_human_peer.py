"""`stackwalk --human` against minidump-stackwalk 0.25's --human, byte for byte.

Every dump in tests/data, with symbols, without, and `--brief` with the evil JSON (module
signers): the peer's report comes live from the binary or from tests/data/peer. The
synthetic dumps of the unwinder's differential cases (x86, amd64, arm, arm64; CFI, STACK
WIN, frame pointers, scanning) need the live peer: their reports show every frame's
recovered registers, which the stored outputs of tests/data do not exercise on every CPU.
"""

from __future__ import annotations

import subprocess

import pytest

from stackwalk.cli import main
from tests.peer_outputs import DUMPS, EVIL_JSON, SYMBOLS
from tests.stackwalk.unwind.test_peer_synthetic import CASES

VARIANTS = {
    "human-symbols": lambda dump: [str(dump), str(SYMBOLS)],
    "human-no-symbols": lambda dump: [str(dump)],
    "human-brief-evil-json": lambda dump: [
        "--brief",
        "--evil-json",
        str(EVIL_JSON),
        str(dump),
        str(SYMBOLS),
    ],
}


def _ours(args: list[str], capsys) -> tuple[int, str]:
    status = main(["--human", *args])
    return status, capsys.readouterr().out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_report_is_the_peers(peer_outputs, capsys, dump, variant):
    theirs = peer_outputs.get(dump, variant)
    status, out = _ours(VARIANTS[variant](dump), capsys)
    assert status == theirs.returncode
    assert out == theirs.stdout


def test_the_report_shows_what_only_the_walk_knows(testdata_dir, capsys):
    """Not a restatement of the JSON: per-frame registers, the offset from the source
    line's start, uptime and the streams the reader skips."""
    status, out = _ours([str(testdata_dir / "test.dmp"), str(SYMBOLS)], capsys)
    assert status == 0
    assert " 1  test_app.exe!main [test_app.cc : 65 + 0x4]\n" in out
    assert "     eip = 0x00404200    esp = 0x0012fe90    ebp = 0x0012ff70" in out
    assert "Process uptime: 0 seconds\n" in out
    assert "Stream 0x00000000 UnusedStream (Official) @ 0x00000000\n" in out


@pytest.mark.parametrize("name", sorted(CASES))
def test_synthetic_reports_are_the_peers(name, peer_stackwalker, tmp_path, capsys):
    dump, symbols = CASES[name]().scenario().write(tmp_path)
    for extra in ([], ["--brief"]):
        args = [*extra, str(dump), str(symbols)]
        theirs = subprocess.run(
            [str(peer_stackwalker), "--human", *args], capture_output=True, text=True, timeout=120
        )
        assert _ours(args, capsys) == (theirs.returncode, theirs.stdout)
