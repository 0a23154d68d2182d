"""The symbols server down or slow: the daemon still processes every crash, with notes.

A symbols server that refuses connections or never answers must cost a crash its symbols,
never the crash itself, and must not stall the daemon beyond the configured deadline. The
crashes are copies of the no-debug-id sample without its stored stackwalker output, so the
built-in stackwalker walks the dump and has to ask the server for test_app.exe by code info
(code file + code id); the server's failure must leave the module listed as missing for a
transient reason, which reports count and a later reprocessing can fix.

Both servers are real sockets on 127.0.0.1: a port bound but not listening (connections are
refused) and a scripted HTTP server that accepts requests and never replies. The two daemons
run at the same time to keep the test short; each waits out its own 2 s download deadline.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

from processor.queues import open_queue
from tests.conftest import REPO
from tests.scripted_http import url_of

SAMPLE = REPO / "examples" / "crashes" / "no-debug-id"
CRASHES = 3
TIME_LIMIT = 30.0
# What the built-in stackwalker asks a symbols server for a module without a debug id.
CODE_INFO_PROBE = "/test_app.exe/45D35F6C2D000/test_app.exe.sym"
MISSING_NOTE = "missing symbols: test_app.exe/45d35f6c2d000: transient; tried "


def no_debug_id_crashes(parent: Path, count: int) -> list[Path]:
    """Copies of the sample with fresh crash ids and only the dump (no stored output)."""
    dirs = []
    for index in range(count):
        target = parent / f"no-debug-id-{index}"
        target.mkdir(parents=True)
        shutil.copyfile(SAMPLE / "upload_file_minidump", target / "upload_file_minidump")
        raw_crash = json.loads((SAMPLE / "raw_crash.json").read_text())
        raw_crash["uuid"] = str(uuid.uuid4())[:-7] + "0260918"
        (target / "raw_crash.json").write_text(json.dumps(raw_crash))
        dirs.append(target)
    return dirs


def start(site, symbols_url: str):
    """Submit the crashes and start a one-worker --once daemon walking with the built-in
    stackwalker against `symbols_url` only; returns (daemon, submitted crash ids)."""
    ids = site.submit(no_debug_id_crashes(site.root / "incoming", CRASHES))
    daemon = site.start_daemon(
        "--once",
        "--workers",
        "1",
        "--stackwalker",
        "builtin",
        "--symbols-url",
        symbols_url,
        "--symbols-cache",
        str(site.root / "symbols-cache"),
        "--symbols-timeout",
        "2",
        # A crash may wait on the server for seconds: keep its lease well beyond that.
        CRASHPROC_QUEUE_LEASE="30",
    )
    return daemon, ids


def check_processed_with_notes(site, daemon, ids: list[str], outcome: str, label: str) -> None:
    """Every crash saved once, walked, test_app.exe missing for a transient reason, noted."""
    assert daemon.wait(timeout=TIME_LIMIT) == 0, f"{label}: {daemon.output()}"
    assert site.processed_ids() == sorted(ids), label
    queue = open_queue(site.queue_url)
    assert queue.pending() == 0, label
    assert queue.dead_letters() == [], label
    v1 = site.root / "crashes" / "v1"
    for crash_id in ids:
        processed = json.loads((v1 / "processed_crash" / crash_id).read_text())
        assert processed["success"] is True, label
        assert processed["stackwalk_version"].startswith("crashproc-stackwalk"), label
        frames = processed["json_dump"]["crashing_thread"]["frames"]
        assert frames[0]["module"] == "test_app.exe", label
        assert frames[0]["function"] is None, f"{label}: no symbols, so no function"
        missing = {m["filename"]: m for m in processed["symbolication"]["missing_modules"]}
        test_app = missing["test_app.exe"]
        assert test_app["reason"] == "transient", label
        assert test_app["code_id"] == "45d35f6c2d000", label
        assert any(CODE_INFO_PROBE in place and outcome in place for place in test_app["tried"])
        assert processed["symbolication"]["recovered_modules"] == [], label
        notes = processed["processor_notes"]
        assert MISSING_NOTE in notes, f"{label}: {notes}"
        assert f"{CODE_INFO_PROBE}: {outcome}" in notes, f"{label}: {notes}"
        public = json.loads((v1 / "processed_crash_public" / crash_id).read_text())
        assert MISSING_NOTE in public["processor_notes"], f"{label}: notes are public"
    assert "failed 0" in daemon.output().splitlines()[-1], label


def test_symbols_server_refusing_or_silent_costs_symbols_not_crashes(make_site, scripted):
    # (a) a port nothing listens on: bound (so no one else takes it) but never listening.
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    # (b) a server that accepts the request and never answers (until the test ends).
    release = threading.Event()
    silent = scripted(lambda handler: release.wait(TIME_LIMIT))
    refused_site, silent_site = make_site(), make_site()
    started = time.monotonic()
    try:
        refused_daemon, refused_ids = start(refused_site, closed_url)
        silent_daemon, silent_ids = start(silent_site, url_of(silent))
        check_processed_with_notes(
            refused_site, refused_daemon, refused_ids, "transient-error", "refused"
        )
        check_processed_with_notes(silent_site, silent_daemon, silent_ids, "timeout", "silent")
    finally:
        release.set()
        closed.close()
    assert time.monotonic() - started < TIME_LIMIT
    assert CODE_INFO_PROBE in silent.hits, "the built-in stackwalker asked the server"
