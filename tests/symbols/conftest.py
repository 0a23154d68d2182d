"""Fixtures for the symbols tests: the .sym files in tests/data and the rust-minidump peer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TESTDATA

TEST_APP_ID = "5A9832E5287241C1838ED98914E9B7FF1"
TEST_APP_SYM = TESTDATA / "symbols" / "test_app.pdb" / TEST_APP_ID / "test_app.sym"
TEST_APP_CODE_SYM = (
    TESTDATA / "symbols-with-code-id" / "test_app.pdb" / TEST_APP_ID / "test_app.sym"
)
CRASH_CLIENT_SYM = (
    TESTDATA / "symbols" / "crash-client" / "509C0610949836F7B70BD88BCF03E5400" / "crash-client.sym"
)


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA


@pytest.fixture(scope="session")
def peer(peer_stackwalker: Path) -> Path:
    return peer_stackwalker


def run_peer(peer: Path, dump: Path, *args: str) -> dict:
    """Run the peer stackwalker and return its JSON output."""
    proc = subprocess.run(
        [str(peer), "--json", str(dump), *args], capture_output=True, timeout=120, check=True
    )
    return json.loads(proc.stdout)


@pytest.fixture
def store_server(tmp_path: Path, testdata: Path):
    """Our symbols server on 127.0.0.1 serving a store with test_app's symbols (with code id)."""
    from symbols.server import start_background
    from symbols.store import SymbolStore

    store = SymbolStore(tmp_path / "remote")
    store.add_path(TEST_APP_CODE_SYM)
    srv = start_background(store.root)
    yield f"http://127.0.0.1:{srv.server_port}/", srv
    srv.shutdown()
    srv.server_close()
