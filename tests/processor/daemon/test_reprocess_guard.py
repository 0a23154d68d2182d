"""Reprocessing never makes a crash worse by accident (issue 12, section 3).

The scenario a new user ran into, with the real commands: submit, ``daemon --once`` with a
symbols path, then ``reprocess`` without it. The stored crashes record their symbol sources and
stackwalker (``processed_with``), so reprocessing without them is refused (exit 2, storage and
queue untouched) unless ``--force``; with the same configuration it goes ahead and changes
nothing; ``--preview`` shows what would be lost per crash.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from processor.queues import open_queue
from processor.storage import open_storage
from tests.processor.daemon.conftest import SAMPLES

# Crash ids of the samples (their raw_crash.json uuid).
WINDOWS = "8fe71062-f1a4-49df-ae03-d6e0e0261102"
LINUX = "e4291ac6-51c7-479f-905a-b2e120261027"
WITH_SYMBOLS = "(anonymous namespace)::CrashFunction"
WITHOUT_SYMBOLS = "test_app.exe"


def storage_state(site) -> dict[str, str]:
    """Every stored file's digest: "nothing changed" means this is equal."""
    root = site.root / "crashes"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def signatures(site) -> dict[str, str]:
    storage = open_storage(site.storage_url)
    return {c: storage.load_processed_crash(c)["signature"] for c in (WINDOWS, LINUX)}


@pytest.fixture
def processed_site(make_site, testdata_dir):
    """The two samples submitted and processed by ``daemon --once`` with the built-in
    stackwalker and the test data's symbols; returns (site, symbols path)."""
    site = make_site()
    site.extra_env.update(
        CRASHPROC_STACKWALKER="builtin", CRASHPROC_SYMBOLS_CACHE=str(site.root / "symbols-cache")
    )
    symbols = str(testdata_dir / "symbols")
    ids = site.submit([SAMPLES / "windows-x86-test-app", SAMPLES / "linux-amd64"])
    assert sorted(ids) == sorted([WINDOWS, LINUX])
    daemon = site.start_daemon("--once", "--workers", "1", "--symbols-path", symbols)
    assert daemon.wait() == 0, daemon.output()
    assert signatures(site)[WINDOWS] == WITH_SYMBOLS
    return site, symbols


def reprocess_crash(site, *argv: str) -> subprocess.CompletedProcess:
    """The ``reprocess-crash`` console script of this environment."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("reprocess-crash")), *argv],
        env=site.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_reprocessing_without_the_symbols_is_refused_unless_forced(processed_site):
    site, symbols = processed_site
    before = storage_state(site)

    refused = [
        site.crashproc("reprocess", "--since", "2026-01-01"),
        site.crashproc("reprocess", "--all", "--queue"),
        reprocess_crash(site, WINDOWS, LINUX),
    ]
    for result in refused:
        assert result.returncode == 2, result.stderr
        assert "this configuration lacks:" in result.stderr
        assert f"symbol path {symbols} (2 crash(es))" in result.stderr
        assert "give --force to reprocess anyway" in result.stderr
        assert "crashproc: reprocessed" not in result.stderr
        assert "crashproc: queued" not in result.stderr
    assert storage_state(site) == before, "nothing changed in storage"
    assert open_queue(site.queue_url).depths()["reprocessing"] == 0, "nothing queued"

    same = site.crashproc("reprocess", "--all", "--symbols-path", symbols)
    assert same.returncode == 0, same.stderr
    assert "reprocessed 2 crash(es) with default: 0 with a different signature" in same.stderr
    assert signatures(site) == {WINDOWS: WITH_SYMBOLS, LINUX: "crash"}

    forced = site.crashproc("reprocess", "--all", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "1 lost in 1 crash(es)" in forced.stderr
    assert signatures(site)[WINDOWS] == WITHOUT_SYMBOLS
    record = open_storage(site.storage_url).load_processed_crash(WINDOWS)["processed_with"]
    assert record["symbol_sources"] == [], "the record says how it was processed now"


def test_preview_counts_modules_losing_symbols_and_saves_nothing(processed_site):
    site, symbols = processed_site
    before = storage_state(site)
    result = site.crashproc("reprocess", "--all", "--preview")
    assert result.returncode == 0, result.stderr
    lines = {line.split("\t")[0]: line.split("\t")[1:] for line in result.stdout.splitlines()}
    assert lines == {
        WINDOWS: [
            WITH_SYMBOLS,
            WITHOUT_SYMBOLS,
            "different",
            "modules with symbols: 1 lost, 0 gained",
        ],
        LINUX: ["crash", "crash", "same", "modules with symbols: 0 lost, 0 gained"],
    }
    assert "warning: reprocessing 2 of 2 crash(es) would lose" in result.stderr
    assert "modules with symbols: 1 lost in 1 crash(es), 0 gained in 0 crash(es)" in result.stderr
    assert storage_state(site) == before

    regained = site.crashproc("reprocess", "--all", "--force")
    assert regained.returncode == 0, regained.stderr
    result = site.crashproc("reprocess", "--all", "--preview", "--symbols-path", symbols)
    assert result.returncode == 0, result.stderr
    assert "modules with symbols: 0 lost, 1 gained" in result.stdout
    assert "warning" not in result.stderr


def test_a_different_stackwalker_is_refused_too(processed_site):
    site, symbols = processed_site
    result = site.crashproc(
        "reprocess", "--all", "--symbols-path", symbols, "--stackwalker", "none"
    )
    assert result.returncode == 2
    assert "the builtin stackwalker (now: none) (2 crash(es))" in result.stderr
    result = site.crashproc("reprocess", "--all", "--ruleset", "regenerate_signature")
    assert result.returncode == 0, "a ruleset that does not walk loses nothing"


def test_crashes_processed_before_the_record_are_judged_by_their_output(processed_site):
    site, symbols = processed_site
    storage = open_storage(site.storage_url)
    for crash_id in (WINDOWS, LINUX):
        processed = storage.load_processed_crash(crash_id)
        del processed["processed_with"]
        storage.save_processed_crash(crash_id, processed)

    result = site.crashproc("reprocess", "--all")
    assert result.returncode == 2
    assert "symbols (found before processing was recorded; no source is configured)" in (
        result.stderr
    )
    result = site.crashproc("reprocess", "--all", "--symbols-path", symbols)
    assert result.returncode == 0, result.stderr
    assert signatures(site)[WINDOWS] == WITH_SYMBOLS
    record = storage.load_processed_crash(WINDOWS)["processed_with"]
    assert record["symbol_sources"] == [{"kind": "path", "location": symbols}]
