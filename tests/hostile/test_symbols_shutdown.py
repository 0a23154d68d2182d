"""Issue 18: stopping while symbol downloads wait on a server that never answers.

Two bounds meet here. The daemon's own (tests/hostile/test_shutdown.py): after
``daemon.shutdown_grace`` the crash in hand is interrupted wherever it waits and given back.
And the symbols side's: a crash's lookups together take at most ``symbols.crash_budget``, so a
crash in hand when SIGTERM comes finishes within the budget and is saved, however long the
grace; and ``SymbolSupplier.cancel()`` cuts a download short between two chunks.
"""

from __future__ import annotations

import threading
import time

from symbols.fetch import HttpOptions
from symbols.supplier import ModuleId, SymbolSupplier
from tests.hostile.test_shutdown import stop_while_waiting_on_a_silent_server
from tests.scripted_http import url_of

BUDGET = 1.5
MODULE = ModuleId("c:\\a.dll", None, "c:\\a.pdb", "A" * 33)


def test_cancel_cuts_a_download_short(tmp_path, scripted):
    stop = threading.Event()

    def trickle(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10 << 20))
        handler.end_headers()
        handler.wfile.write(b"MODULE windows x86 " + b"A" * 33 + b" a.pdb\n")
        while not stop.wait(0.05):
            handler.wfile.write(b"FILE 1 a.c\n")
            handler.wfile.flush()

    server = scripted(trickle)
    supplier = SymbolSupplier(
        symbols_urls=[url_of(server)],
        cache_dir=tmp_path / "cache",
        options=HttpOptions(read_timeout=30, deadline=60, retries=3),
    )
    threading.Timer(0.5, supplier.cancel).start()
    started = time.monotonic()
    try:
        result = supplier.locate(MODULE)
    finally:
        stop.set()
    assert time.monotonic() - started < 0.5 + 2.0  # not the 60 s deadline
    assert result.attempts[-1].outcome == "cancelled"
    assert len(server.hits) == 1, "no retry after a cancel"
    # Once cancelled, a supplier asks no server again.
    assert supplier.locate(ModuleId("b.dll", None, "b.pdb", "B" * 33)).attempts[-1].outcome == (
        "cancelled"
    )
    assert len(server.hits) == 1
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_sigterm_during_lookups_waits_only_the_budget(make_site, scripted):
    site, ids, daemon, elapsed = stop_while_waiting_on_a_silent_server(
        make_site,
        scripted,
        CRASHPROC_DAEMON_SHUTDOWN_GRACE="120",
        CRASHPROC_SYMBOLS_CRASH_BUDGET=str(BUDGET),
    )
    log = daemon.output()
    # The budget and room for a loaded machine: far below the 120 s grace.
    assert elapsed < BUDGET + 15, f"{elapsed:.1f} s\n{log}"
    assert "stop grace over" not in log
    assert site.processed_ids() == ids, "the crash in hand was finished and saved"
