"""Fixtures shared by the whole suite."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.scripted_http import serve_scripted

REPO = Path(__file__).resolve().parents[1]
# ../shared sits beside the clone, on developer machines and in CI alike.
SHARED = REPO.parent / "shared"
TESTDATA = SHARED / "testdata"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present beside the clone")
    return SHARED


@pytest.fixture
def testdata_dir(shared_dir: Path) -> Path:
    return shared_dir / "testdata"


@pytest.fixture(scope="session")
def peer_stackwalker() -> Path:
    """rust-minidump's minidump-stackwalk 0.25 (the peer), fetched once by the shared script.

    Skips with the reason when it cannot be had (no ../shared, no registry access).
    """
    script = SHARED / "tools" / "fetch-minidump-stackwalk"
    if not script.is_file():
        pytest.skip(f"{script} is not present beside the clone")
    proc = subprocess.run(
        ["bash", str(script), str(REPO / ".cache" / "peers")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"minidump-stackwalk cannot be had: {proc.stderr.strip()[-200:]}")
    return (REPO / proc.stdout.strip().splitlines()[-1]).resolve()


@pytest.fixture
def scripted() -> Iterator[Callable]:
    """`scripted(script)` starts a real HTTP server on 127.0.0.1 answering with `script`."""
    servers = []

    def make(script: Callable):
        servers.append(serve_scripted(script))
        return servers[-1]

    yield make
    for srv in servers:
        srv.shutdown()
        srv.server_close()
