"""`stackwalk` as a drop-in for minidump-stackwalk 0.25: the same argument lists given to
both commands give the same exit status and, where the output is JSON, the same bytes
(on stdout, in --output-file or in the --cyborg file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTDATA

DUMP = str(TESTDATA / "test.dmp")
SYMBOLS = str(TESTDATA / "symbols")
EVIL = str(TESTDATA / "evil.json")
STACKWALK = [sys.executable, "-m", "stackwalk.cli"]

# (argument list, what to compare). {tmp} is a per-command scratch directory.
CASES = {
    "json": (["--json", DUMP], "stdout"),
    "json-pretty-positional-symbols": (["--json", "--pretty", DUMP, SYMBOLS], "stdout"),
    "symbols-path-flag": (["--json", "--symbols-path", SYMBOLS, DUMP], "stdout"),
    "symbols-path-flag-repeated": (
        ["--json", "--symbols-path", "{tmp}", "--symbols-path", SYMBOLS, DUMP],
        "stdout",
    ),
    "as-socorro-runs-it": (
        [
            "--json",
            "--no-color",
            "--verbose=error",
            "--output-file={tmp}/out.json",
            "--log-file={tmp}/log.txt",
            f"--evil-json={EVIL}",
            "--symbols-cache={tmp}/cache",
            "--symbols-tmp={tmp}",
            "--symbols-download-timeout-secs=5",
            "--features=stable-all",
            "--no-interactive",
            DUMP,
            SYMBOLS,
        ],
        "out.json",
    ),
    "cyborg-json-to-its-file": (["--cyborg", "{tmp}/cyborg.json", "--pretty", DUMP], "cyborg.json"),
    "unstable-all-json": (["--json", "--features", "unstable-all", DUMP], "stdout"),
    "json-and-human-conflict": (["--json", "--human", DUMP], None),
    "json-and-cyborg-conflict": (["--json", "--cyborg", "{tmp}/c.json", DUMP], None),
    "pretty-human": (["--pretty", DUMP], None),
    "brief-json": (["--json", "--brief", DUMP], None),
    "bad-verbose-level": (["--verbose", "loud", DUMP], None),
    "bad-features": (["--features", "all", DUMP], None),
    "unknown-option": (["--frobnicate", DUMP], None),
    "no-dump": (["--json"], None),
    "unreadable-dump": (["--json", str(TESTDATA / "invalid-range.dmp")], None),
    "missing-dump": (["--json", "{tmp}/absent.dmp"], None),
    "version": (["--version"], None),
}


def _run(command: list[str], args: list[str], tmp: Path) -> tuple[int, bytes]:
    tmp.mkdir()
    argv = [a.replace("{tmp}", str(tmp)) for a in args]
    proc = subprocess.run([*command, *argv], capture_output=True, timeout=120, cwd=tmp)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_status_and_json_as_the_peer(peer_stackwalker, tmp_path, case):
    args, compare = CASES[case]
    ours_status, ours_out = _run(STACKWALK, args, tmp_path / "ours")
    peer_status, peer_out = _run([str(peer_stackwalker)], args, tmp_path / "peer")
    assert ours_status == peer_status
    if compare == "stdout":
        assert ours_status == 0 and ours_out == peer_out
    elif compare is not None:
        if compare == "out.json":
            assert ours_out == peer_out == b""
        ours = (tmp_path / "ours" / compare).read_bytes()
        assert ours == (tmp_path / "peer" / compare).read_bytes()


@pytest.mark.parametrize(
    "args, refused",
    [
        (["--dump"], "--dump"),
        (["--json", "--recover-function-args"], "--recover-function-args"),
        (["--json", "--use-local-debuginfo"], "--use-local-debuginfo"),
        (["--features", "unstable-all"], "unstable-all"),
    ],
)
def test_what_cannot_be_honoured_is_refused_with_a_message(args, refused):
    proc = subprocess.run([*STACKWALK, *args, DUMP], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert refused in proc.stderr and "not supported" in proc.stderr


def test_warnings_show_from_verbose_warn_on_and_go_to_the_log_file(tmp_path):
    from stackwalk.minidump import format as fmt
    from stackwalk.testing import DumpBuilder

    b = DumpBuilder("amd64", "linux")
    b.add_thread(1, {"rip": 0x1000, "rsp": 0x2000})
    b.add_stream(fmt.LINUX_MAPS, b"not a mapping\n")
    dump = tmp_path / "corrupt-maps.dmp"
    dump.write_bytes(b.build())
    quiet = subprocess.run([*STACKWALK, "--json", str(dump)], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    log = tmp_path / "log.txt"
    logged = subprocess.run(
        [*STACKWALK, "--json", "--verbose", "warn", "--log-file", str(log), str(dump)],
        capture_output=True,
        text=True,
    )
    assert logged.returncode == 0 and logged.stderr == ""
    assert "LinuxMaps stream skipped" in log.read_text()
