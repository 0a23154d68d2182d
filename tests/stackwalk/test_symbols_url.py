"""Symbols from a server: code-info recovery, symbol_url and missing/loaded statistics.

Both stackwalkers talk to our symbols server (Tecken's protocol) on 127.0.0.1, serving a
store that has test_app's symbols only; the documents must agree field for field.
"""

from __future__ import annotations

import json

import pytest

from stackwalk.cli import main
from tests.stackwalk.compare import diff, run_peer
from tests.symbols.conftest import TEST_APP_CODE_SYM


@pytest.fixture
def server(tmp_path):
    from symbols.server import start_background
    from symbols.store import SymbolStore

    store = SymbolStore(tmp_path / "remote")
    store.add_path(TEST_APP_CODE_SYM)
    srv = start_background(store.root)
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("name", ["test-no-debug-id.dmp", "test.dmp"])
def test_symbols_url_agrees_with_the_peer(
    peer_stackwalker, testdata_dir, tmp_path, server, capsys, name
):
    dump = testdata_dir / name
    proc = run_peer(
        peer_stackwalker, dump, "--symbols-url", server, "--symbols-cache", str(tmp_path / "peer")
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        main(
            [
                str(dump),
                "--json",
                "--symbols-url",
                server,
                "--symbols-cache",
                str(tmp_path / "ours"),
            ]
        )
        == 0
    )
    ours = json.loads(capsys.readouterr().out)
    theirs = json.loads(proc.stdout)
    assert diff(ours, theirs) == []
    first = ours["modules"][0]
    assert (first["debug_file"], first["debug_id"]) == (
        "test_app.pdb",
        "5A9832E5287241C1838ED98914E9B7FF1",
    )
    assert first["symbol_url"].endswith("?code_file=test_app.exe&code_id=45d35f6c2d000")
    assert ours["threads"][0]["frames"][0]["function"] == "`anonymous namespace'::CrashFunction"
